#include <gtest/gtest.h>

#include <algorithm>
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

std::vector<float> state_of(boxlcd::Batch& b) {
  return std::vector<float>(b.full_state(), b.full_state() + b.num_envs() * b.state_size());
}

bool all_finite(boxlcd::Batch& b) {
  const std::vector<float> s = state_of(b);
  return std::all_of(s.begin(), s.end(), [](float v) { return std::isfinite(v); });
}

void step(boxlcd::Batch& b, int steps) {
  const std::vector<float> zero(b.num_envs() * b.action_size(), 0.0f);
  for (int i = 0; i < steps; ++i) b.step(zero.data());
}

boxlcd::Edit make_edit(boxlcd::EditKind kind, int body) {
  boxlcd::Edit e;
  e.kind = kind;
  e.body = body;
  return e;
}

// Values that once made full_state NaN after a step; each is refused naming its field.
TEST(Edit, ValuesWhoseResultIsNotFiniteAreRefused) {
  boxlcd::Batch b(boxlcd::env_def("Bounce2"), 1);
  b.reset();
  const auto refused = [&](boxlcd::Edit e, const std::string& field) {
    try {
      b.edit(0, e);
    } catch (const boxlcd::Error& err) {
      return std::string(err.what()).find(field) != std::string::npos;
    }
    return false;
  };
  const double inf = INFINITY;
  for (double v : {1e300, -1e300, inf, std::nan("")}) {
    boxlcd::Edit e = make_edit(boxlcd::EditKind::ScaleVelocity, 0);
    e.scale = v;
    EXPECT_TRUE(refused(e, "scale must be")) << v;
    e = make_edit(boxlcd::EditKind::Velocity, 0);
    e.vx = v;
    EXPECT_TRUE(refused(e, "vx must be")) << v;
    e.vx = 0, e.vy = v;
    EXPECT_TRUE(refused(e, "vy must be")) << v;
    e.vy = 0, e.omega = v;
    EXPECT_TRUE(refused(e, "omega must be")) << v;
    for (auto kind : {boxlcd::EditKind::Pose, boxlcd::EditKind::Add}) {
      e = make_edit(kind, 0);
      e.angle = v;
      EXPECT_TRUE(refused(e, "angle must be")) << v;
    }
    e = make_edit(boxlcd::EditKind::Gravity, -1);
    e.gx = v;
    EXPECT_TRUE(refused(e, "gx must be")) << v;
  }
  step(b, 3);
  EXPECT_TRUE(all_finite(b));
}

// The limits are Box2D's: a body moves at most 2 m and turns at most pi/2 per substep.
TEST(Edit, TheFastestAcceptedEditsStayFinite) {
  const boxlcd::WorldDef def = boxlcd::env_def("Bounce2");  // 5 m square, 10 fps x 3 substeps
  EXPECT_DOUBLE_EQ(boxlcd::max_speed(def), 60.0);
  EXPECT_NEAR(boxlcd::max_angular_speed(def), 15 * std::acos(-1.0), 1e-5);
  boxlcd::Batch b(def, 1);
  b.reset();
  boxlcd::Edit e = make_edit(boxlcd::EditKind::Velocity, 0);
  e.vx = 24.0;  // 60 m/s over half a 5 m world
  e.omega = -boxlcd::max_angular_speed(def);
  b.edit(0, e);
  e.vx = 24.001;
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  e.vx = e.vy = 20.0;  // each axis inside, together too fast
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  e = make_edit(boxlcd::EditKind::ScaleVelocity, 0);
  e.scale = -boxlcd::max_velocity_scale;
  b.edit(0, e);
  e = make_edit(boxlcd::EditKind::Pose, 1);
  e.x = 1.0, e.y = 0.0;  // on a wall: it would be pushed out through it
  EXPECT_THROW(b.edit(0, e), boxlcd::Error);
  e.x = 0.99, e.y = -0.99, e.angle = boxlcd::max_edit_angle;
  b.edit(0, e);
  e = make_edit(boxlcd::EditKind::Gravity, -1);
  e.gx = boxlcd::max_gravity, e.gy = -boxlcd::max_gravity;
  b.edit(0, e);
  for (int i = 0; i < 30; ++i) {
    step(b, 1);
    ASSERT_TRUE(all_finite(b)) << "step " << i;
  }
}

TEST(Edit, ABodyOrOtherWhereTheKindTakesNoneIsRefused) {
  const boxlcd::WorldDef def = boxlcd::env_def("Bounce2");
  const boxlcd::Layout layout = boxlcd::make_layout(def);
  boxlcd::Edit e = make_edit(boxlcd::EditKind::Gravity, 0);
  EXPECT_THROW(boxlcd::check_edit(e, layout, def), boxlcd::Error);
  e = make_edit(boxlcd::EditKind::Hide, 0);
  e.other = 1;
  EXPECT_THROW(boxlcd::check_edit(e, layout, def), boxlcd::Error);
  e.kind = boxlcd::EditKind::PassThrough;
  boxlcd::check_edit(e, layout, def);
}

// A request naming any bad env edits none, not the ones before it.
TEST(Edit, EditEnvsIsAllOrNothing) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce2");
  def.ep_len = 2;
  boxlcd::Batch b(def, 2);
  b.reset();
  boxlcd::Edit e = make_edit(boxlcd::EditKind::Pose, 0);
  e.x = 0.5, e.y = 0.5;
  const std::vector<float> before = state_of(b);
  for (const std::vector<int>& envs : std::vector<std::vector<int>>{{0, 5}, {0, -3}, {1, 0, 1}}) {
    EXPECT_THROW(boxlcd::edit_envs(b, envs, e), boxlcd::Error);
    EXPECT_EQ(state_of(b), before);
  }
  e.x = 2.0;  // the edit itself is bad: no env changes either
  EXPECT_THROW(boxlcd::edit_envs(b, {0, 1}, e), boxlcd::Error);
  EXPECT_EQ(state_of(b), before);

  step(b, 2);  // both episodes ended; env 0 starts a new one, env 1 waits for its reset
  const uint8_t env0[] = {1, 0};
  b.reset(env0);
  const std::vector<float> ended = state_of(b);
  e.x = 0.5;
  EXPECT_THROW(boxlcd::edit_envs(b, {0, 1}, e), boxlcd::Error);
  EXPECT_EQ(state_of(b), ended);
  boxlcd::edit_envs(b, {0}, e);
  EXPECT_NEAR(b.full_state()[key_index(b, "object0:x:p")], 0.5, 1e-6);
}

}  // namespace
