#include <gtest/gtest.h>

#include <algorithm>

#include "boxlcd/boxlcd.hpp"

namespace {

struct Row {
  const char* name;
  int rows, cols, state, proprio, actions, ep_len;
};

// The spec's table of built-in envs.
const Row spec[] = {
    {"Dropbox", 16, 16, 4, 1, 1, 25},       {"Bounce", 16, 16, 4, 1, 1, 50},
    {"Bounce2", 16, 16, 8, 1, 1, 50},       {"Object2", 16, 16, 8, 1, 1, 50},
    {"Object3", 16, 16, 12, 1, 1, 50},      {"Urchin", 16, 32, 16, 16, 3, 100},
    {"Luxo", 16, 32, 16, 16, 3, 100},       {"UrchinCube", 16, 24, 20, 16, 3, 150},
    {"LuxoCube", 16, 24, 20, 16, 3, 150},   {"UrchinBall", 16, 24, 20, 16, 3, 150},
    {"LuxoBall", 16, 24, 20, 16, 3, 150},   {"UrchinCubes", 16, 32, 28, 16, 3, 100},
    {"LuxoCubes", 16, 32, 28, 16, 3, 100},  {"UrchinBalls", 16, 32, 28, 16, 3, 100},
    {"LuxoBalls", 16, 32, 28, 16, 3, 100},  {"Crab", 32, 64, 68, 68, 12, 100},
    {"CrabCube", 32, 64, 72, 68, 12, 100},  {"SpiderCube", 32, 64, 40, 36, 8, 100},
};

TEST(Catalogue, EighteenEnvsMatchTheSpecTable) {
  ASSERT_EQ(boxlcd::env_names().size(), std::size(spec));
  for (const Row& r : spec) {
    SCOPED_TRACE(r.name);
    const boxlcd::WorldDef def = boxlcd::env_def(r.name);
    boxlcd::validate(def);
    const boxlcd::Layout layout = boxlcd::make_layout(def);
    EXPECT_EQ(def.frame_rows(), r.rows);
    EXPECT_EQ(def.frame_cols(), r.cols);
    EXPECT_EQ(layout.state_size(), r.state);
    EXPECT_EQ(layout.proprio_size(), r.proprio);
    EXPECT_EQ(layout.action_size(), r.actions);
    EXPECT_EQ(def.ep_len, r.ep_len);
    const auto keys = layout.state_keys();
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  }
}

TEST(Catalogue, UrchinKeys) {
  const boxlcd::Layout layout = boxlcd::make_layout(boxlcd::env_def("Urchin"));
  const std::vector<std::string> actions{"urchin0:aleg:speed", "urchin0:bleg:speed", "urchin0:cleg:speed"};
  EXPECT_EQ(layout.action_keys, actions);
  EXPECT_EQ(layout.state_keys().front(), "urchin0:aleg:cos");
  EXPECT_EQ(layout.state_keys().back(), "urchin0:root:y:p");
}

TEST(Catalogue, UnknownEnvThrowsNamingIt) {
  try {
    boxlcd::env_def("Urchn");
    FAIL() << "no exception";
  } catch (const boxlcd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown env 'Urchn'"), std::string::npos);
  }
}

void expect_invalid(const boxlcd::WorldDef& def, const std::string& words) {
  try {
    boxlcd::validate(def);
    FAIL() << "accepted a definition that should fail with: " << words;
  } catch (const boxlcd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Validate, RejectsBadDefinitions) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[1].joint.parent = "ghost";
  expect_invalid(def, "parent 'ghost'");

  def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[2].body.name = "aleg";
  expect_invalid(def, "duplicate body name");

  def = boxlcd::env_def("Luxo");
  def.robots[0].root.vertices[1] = {-0.1, 0.0};  // dents the quadrilateral
  expect_invalid(def, "not strictly convex");

  def = boxlcd::env_def("Luxo");
  def.robots[0].root.vertices.resize(9, {0.0, 0.0});
  expect_invalid(def, "3 to 8 vertices");

  def = boxlcd::env_def("Dropbox");
  def.objects[0].body.half_extents = {0.0, 0.7};
  expect_invalid(def, "half extents");

  def = boxlcd::env_def("Dropbox");
  def.ep_len = 0;
  expect_invalid(def, "ep_len");
}

TEST(Overrides, SetKnownKeysAndRejectTheRest) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  boxlcd::apply_override(def, "ep_len", 7.0);
  boxlcd::apply_override(def, "raster", std::string("area"));
  boxlcd::apply_override(def, "iterations", 30.0);
  EXPECT_EQ(def.ep_len, 7);
  EXPECT_EQ(def.raster, boxlcd::RasterRule::Area);
  EXPECT_EQ(def.velocity_iterations, 30);
  EXPECT_EQ(def.position_iterations, 10);
  EXPECT_THROW(boxlcd::apply_override(def, "eplen", 7.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", 2.5), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "raster", 1.0), boxlcd::Error);
}

}  // namespace
