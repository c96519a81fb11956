#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "boxlcd/boxlcd.hpp"

namespace {

int key_index(const boxlcd::Batch& b, const std::string& key) {
  const auto keys = b.layout().state_keys();
  return static_cast<int>(std::find(keys.begin(), keys.end(), key) - keys.begin());
}

TEST(Edit, KindNamesRoundTrip) {
  for (const char* name : {"pose", "velocity", "scale_velocity", "hide", "show", "remove", "add", "gravity",
                           "pass_through", "collide", "resize", "reshape"})
    EXPECT_STREQ(boxlcd::edit_kind_name(boxlcd::edit_kind(name)), name);
  EXPECT_THROW(boxlcd::edit_kind("teleport"), boxlcd::Error);
}

TEST(Edit, PosePlacesTheBodyAndTheObservationShowsIt) {
  boxlcd::Batch b(boxlcd::env_def("Bounce2"), 2, 1, 3);
  b.reset();
  boxlcd::Edit e;
  e.kind = boxlcd::EditKind::Pose;
  e.body = 1, e.x = -0.25, e.y = 0.5, e.angle = 0.3;
  b.edit(1, e);
  const float* row = b.full_state() + b.state_size();
  EXPECT_NEAR(row[key_index(b, "object1:x:p")], -0.25, 1e-6);
  EXPECT_NEAR(row[key_index(b, "object1:y:p")], 0.5, 1e-6);
  EXPECT_NEAR(row[key_index(b, "object1:cos")], std::cos(0.3), 1e-6);
}

TEST(Edit, BadEditsThrowAndChangeNothing) {
  boxlcd::Batch b(boxlcd::env_def("Urchin"), 1);
  b.reset();
  const std::vector<float> before(b.full_state(), b.full_state() + b.state_size());
  boxlcd::Edit e;
  e.kind = boxlcd::EditKind::Pose;
  e.body = 99;
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  e.body = 1;  // a limb: slots are the root, then its limbs
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  e.body = 0, e.x = std::nan("");
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  e.x = 0.0;
  EXPECT_THROW(b.edit(1, e), boxlcd::Error);
  e.kind = boxlcd::EditKind::Resize;  // objects only
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  EXPECT_EQ(before, std::vector<float>(b.full_state(), b.full_state() + b.state_size()));
}

}  // namespace
