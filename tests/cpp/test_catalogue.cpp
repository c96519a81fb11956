#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "boxlcd/boxlcd.hpp"

namespace {

struct Row {
  const char* name;
  int rows, cols, state, proprio, actions, ep_len;
  double wh_ratio;
};

// The spec's table of built-in envs.
const Row spec[] = {
    {"Dropbox", 16, 16, 4, 1, 1, 25, 1.0},        {"Bounce", 16, 16, 4, 1, 1, 50, 1.0},
    {"Bounce2", 16, 16, 8, 1, 1, 50, 1.0},        {"Object2", 16, 16, 8, 1, 1, 50, 1.0},
    {"Object3", 16, 16, 12, 1, 1, 50, 1.0},       {"Urchin", 16, 32, 16, 16, 3, 100, 2.0},
    {"Luxo", 16, 32, 16, 16, 3, 100, 2.0},        {"UrchinCube", 16, 24, 20, 16, 3, 150, 1.5},
    {"LuxoCube", 16, 24, 20, 16, 3, 150, 1.5},    {"UrchinBall", 16, 24, 20, 16, 3, 150, 1.5},
    {"LuxoBall", 16, 24, 20, 16, 3, 150, 1.5},    {"UrchinCubes", 16, 32, 28, 16, 3, 100, 2.0},
    {"LuxoCubes", 16, 32, 28, 16, 3, 100, 2.0},   {"UrchinBalls", 16, 32, 28, 16, 3, 100, 2.0},
    {"LuxoBalls", 16, 32, 28, 16, 3, 100, 2.0},   {"Crab", 32, 64, 68, 68, 12, 100, 2.0},
    {"CrabCube", 32, 64, 72, 68, 12, 100, 2.0},   {"SpiderCube", 32, 64, 40, 36, 8, 100, 2.0},
};

class SpecTable : public ::testing::TestWithParam<Row> {};

TEST_P(SpecTable, SizesMatch) {
  const Row& r = GetParam();
  const boxlcd::WorldDef def = boxlcd::env_def(r.name);
  EXPECT_EQ(def.name, r.name);
  EXPECT_NO_THROW(boxlcd::validate(def));
  const boxlcd::Layout layout = boxlcd::make_layout(def);
  EXPECT_EQ(def.frame_rows(), r.rows);
  EXPECT_EQ(def.frame_cols(), r.cols);
  EXPECT_EQ(def.frame_row_bytes(), r.cols / 8);
  EXPECT_EQ(layout.state_size(), r.state);
  EXPECT_EQ(layout.proprio_size(), r.proprio);
  EXPECT_EQ(layout.action_size(), r.actions);
  EXPECT_EQ(def.ep_len, r.ep_len);
  EXPECT_DOUBLE_EQ(def.wh_ratio, r.wh_ratio);
  EXPECT_DOUBLE_EQ(def.height, 5.0);
  EXPECT_DOUBLE_EQ(def.width(), 5.0 * r.wh_ratio);  // W = wh_ratio x 5 exactly, not truncated
  EXPECT_EQ(def.fps, 10);
  EXPECT_EQ(def.substeps_per_step(), 3);
  EXPECT_TRUE(def.walls);

  // A batch reports the same sizes.
  boxlcd::Batch b(def, 1);
  EXPECT_EQ(b.frame_bytes(), r.rows * r.cols / 8);
  EXPECT_EQ(b.state_size(), r.state);
  EXPECT_EQ(b.proprio_size(), r.proprio);
  EXPECT_EQ(b.action_size(), r.actions);
}

TEST_P(SpecTable, KeysSortedAndProprioIsTheRobotPart) {
  const Row& r = GetParam();
  const boxlcd::Layout layout = boxlcd::make_layout(boxlcd::env_def(r.name));
  const auto keys = layout.state_keys();
  ASSERT_EQ(static_cast<int>(keys.size()), r.state);
  EXPECT_TRUE(std::adjacent_find(keys.begin(), keys.end(), std::greater_equal<>()) == keys.end())
      << "state keys must be strictly increasing";
  EXPECT_TRUE(std::adjacent_find(layout.action_keys.begin(), layout.action_keys.end(),
                                 std::greater_equal<>()) == layout.action_keys.end());
  for (const auto& k : layout.action_keys) EXPECT_EQ(k.substr(k.size() - 6), ":speed") << k;

  std::vector<std::string> robot_keys;
  for (const auto& k : keys)
    if (k.rfind("object", 0) != 0) robot_keys.push_back(k);
  if (robot_keys.empty()) {
    EXPECT_EQ(layout.proprio_keys(), std::vector<std::string>{"zero"});
    EXPECT_EQ(layout.action_names(), std::vector<std::string>{"ignored"});
  } else {
    EXPECT_EQ(layout.proprio_keys(), robot_keys);
    EXPECT_EQ(layout.action_names(), layout.action_keys);
  }
  // Every body contributes x:p, y:p, cos, sin.
  std::set<std::string> prefixes;
  for (const auto& k : keys) prefixes.insert(k.substr(0, k.size() - 4));  // every suffix has 4 chars
  for (const auto& p : prefixes)
    for (const char* c : {":x:p", ":y:p", ":cos", ":sin"})
      EXPECT_TRUE(std::binary_search(keys.begin(), keys.end(), p + c)) << p + c;
}

INSTANTIATE_TEST_SUITE_P(BuiltIn, SpecTable, ::testing::ValuesIn(spec),
                         [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

TEST(Catalogue, EnvNamesAreExactlyTheEighteenOfTheSpec) {
  const auto names = boxlcd::env_names();
  std::set<std::string> got(names.begin(), names.end()), want;
  for (const Row& r : spec) want.insert(r.name);
  EXPECT_EQ(names.size(), got.size()) << "duplicate names";
  EXPECT_EQ(got, want);
}

TEST(Catalogue, UrchinKeys) {
  const boxlcd::Layout layout = boxlcd::make_layout(boxlcd::env_def("Urchin"));
  const std::vector<std::string> actions{"urchin0:aleg:speed", "urchin0:bleg:speed", "urchin0:cleg:speed"};
  EXPECT_EQ(layout.action_keys, actions);
  const std::vector<std::string> first{"urchin0:aleg:cos", "urchin0:aleg:sin", "urchin0:aleg:x:p",
                                       "urchin0:aleg:y:p", "urchin0:bleg:cos"};
  const auto keys = layout.state_keys();
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 5), first);
  EXPECT_EQ(keys.back(), "urchin0:root:y:p");
}

TEST(Catalogue, ObjectKeysComeFirstInUrchinCube) {
  const auto keys = boxlcd::make_layout(boxlcd::env_def("UrchinCube")).state_keys();
  const std::vector<std::string> first{"object0:cos", "object0:sin", "object0:x:p", "object0:y:p",
                                       "urchin0:aleg:cos"};
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 5), first);
}

TEST(Catalogue, CrabFixedClawJointsTakeNoAction) {
  const boxlcd::Layout layout = boxlcd::make_layout(boxlcd::env_def("Crab"));
  EXPECT_EQ(layout.joint_body.size(), 16u);
  for (const auto& k : layout.action_keys) EXPECT_EQ(k.find("claw1"), std::string::npos) << k;
  EXPECT_TRUE(std::binary_search(layout.action_keys.begin(), layout.action_keys.end(), "crab0:lshoulder:speed"));
}

TEST(Catalogue, ObjectsFollowTheSpecDefaults) {
  const auto bounce = boxlcd::env_def("Bounce").objects.at(0).body;
  EXPECT_EQ(bounce.shape, boxlcd::Shape::Circle);
  EXPECT_DOUBLE_EQ(bounce.radius, 0.5);
  EXPECT_DOUBLE_EQ(bounce.density, 0.1);
  EXPECT_DOUBLE_EQ(bounce.restitution, 0.8);
  EXPECT_EQ(bounce.category, 0x0110);
  EXPECT_EQ(bounce.mask, 0xFFFF);
  const auto cube = boxlcd::env_def("UrchinCube").objects.at(0).body;
  EXPECT_EQ(cube.shape, boxlcd::Shape::Box);
  EXPECT_DOUBLE_EQ(cube.half_extents.x, 0.4);
  EXPECT_DOUBLE_EQ(cube.density, 0.5);
  EXPECT_DOUBLE_EQ(cube.linear_damping, 1.0);
  EXPECT_DOUBLE_EQ(cube.angular_damping, 0.2);
  EXPECT_EQ(boxlcd::env_def("Object2").objects.at(1).body.shape, boxlcd::Shape::Random);
}

TEST(Catalogue, UnknownEnvThrowsNamingIt) {
  EXPECT_THROW(boxlcd::env_def("Urchn"), boxlcd::Error);
  EXPECT_THROW(boxlcd::env_def(""), boxlcd::Error);
  EXPECT_THROW(boxlcd::env_def("urchin"), boxlcd::Error);  // names are case-sensitive
  try {
    boxlcd::env_def("Urchn");
  } catch (const boxlcd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Urchn"), std::string::npos) << e.what();
  }
}

TEST(Catalogue, EnvDefIsACopy) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  def.ep_len = 3;
  def.robots[0].limbs.clear();
  EXPECT_EQ(boxlcd::env_def("Urchin").ep_len, 100);
  EXPECT_EQ(boxlcd::env_def("Urchin").robots[0].limbs.size(), 3u);
}

// ---- validate ----

void expect_invalid(const boxlcd::WorldDef& def, const std::string& words) {
  try {
    boxlcd::validate(def);
    ADD_FAILURE() << "accepted a definition that should fail with: " << words;
  } catch (const boxlcd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
  // A Batch validates too.
  EXPECT_THROW(boxlcd::Batch(def, 1), boxlcd::Error);
}

TEST(Validate, BuiltInsAreValid) {
  for (const auto& name : boxlcd::env_names()) EXPECT_NO_THROW(boxlcd::validate(boxlcd::env_def(name))) << name;
}

TEST(Validate, RejectsNonConvexPolygon) {
  boxlcd::WorldDef def = boxlcd::env_def("Luxo");
  def.robots[0].root.vertices[1] = {-0.1, 0.0};  // dents the quadrilateral
  expect_invalid(def, "not strictly convex");
}

TEST(Validate, RejectsPolygonWithNineVertices) {
  const double pi = std::acos(-1.0);
  boxlcd::WorldDef def = boxlcd::env_def("Luxo");
  auto& v = def.robots[0].root.vertices;
  v.clear();
  for (int i = 0; i < 9; ++i) v.push_back({0.5 * std::cos(2 * pi * i / 9), 0.5 * std::sin(2 * pi * i / 9)});
  expect_invalid(def, "3 to 8 vertices");
  v.resize(8);  // eight vertices of the same (convex) circle are fine
  EXPECT_NO_THROW(boxlcd::validate(def));
  v.resize(2);
  expect_invalid(def, "3 to 8 vertices");
}

TEST(Validate, RejectsZeroSizeBox) {
  boxlcd::WorldDef def = boxlcd::env_def("Dropbox");
  def.objects[0].body.half_extents = {0.0, 0.7};
  expect_invalid(def, "half_extents must be >= 0.01");
  def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[0].body.half_extents = {4.0 / 30, 0.0};
  expect_invalid(def, "half_extents must be >= 0.01");
}

// Every number that reaches Box2D (which computes in float) is kept in a range it simulates;
// the message names the field's path and the range.
TEST(Validate, RejectsNumbersBox2DCannotSimulate) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  auto crab = [](auto change) {
    boxlcd::WorldDef def = boxlcd::env_def("Crab");
    change(def.robots[0]);
    return def;
  };
  expect_invalid(crab([](auto& r) { r.limbs[2].body.half_extents.x = 1e30; }),
                 "robots[0].limbs[2].body.half_extents.x must be in [0, 1000] m, got 1e+30");
  expect_invalid(crab([&](auto& r) { r.limbs[2].body.density = nan; }), "robots[0].limbs[2].body.density must be in");
  expect_invalid(crab([](auto& r) { r.limbs[2].joint.anchor_parent.y = 1e39; }),
                 "robots[0].limbs[2].joint.anchor_parent.y must be in [-1000, 1000] m");
  expect_invalid(crab([&](auto& r) { r.limbs[0].joint.max_torque = inf; }), "joint.max_torque must be in");
  expect_invalid(crab([](auto& r) { r.root.restitution = 1.5; }), "robots[0].root.restitution must be in [0, 1]");
  expect_invalid(crab([](auto& r) {
                   for (auto& v : r.root.vertices) v.x += 1e6;
                 }),
                 "robots[0].root.vertices[0].x must be in [-1000, 1000] m");
  expect_invalid(crab([](auto& r) {
                   for (auto& v : r.root.vertices) v.x += 100;
                 }),
                 "more than 10 times its diameter");
  expect_invalid(crab([](auto& r) { r.root.vertices = {{-0.5, 0}, {0.5, 0}, {0, 0.001}}; }), "thinner than 0.01 m");
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.gravity.y = -1e39;
  expect_invalid(def, "gravity.y must be in [-1000, 1000] m/s^2, got -1e+39");
  def = boxlcd::env_def("Bounce");
  def.height = 1e20;
  expect_invalid(def, "height must be in [0.1, 1000] m");
  def = boxlcd::env_def("Bounce");
  def.objects[0].body.radius = 1e30;
  expect_invalid(def, "objects[0].body.radius must be in [0, 1000] m");
}

// lcd_base * wh_ratio is checked in double: 16 * 268435457 columns would wrap an int to 16.
TEST(Validate, FrameSizeIsCheckedBeforeAnyCast) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.wh_ratio = 268435457.0;
  EXPECT_EQ(def.frame_cols(), 0);
  expect_invalid(def, "wh_ratio must be in [0.01, 100]");
  def = boxlcd::env_def("Bounce");
  def.lcd_base = 8192;
  def.wh_ratio = 2.0;
  expect_invalid(def, "frame width round(lcd_base * wh_ratio) = 16384 must be in [1, 8192]");
  def.wh_ratio = 1.0;
  expect_invalid(def, "exceeds 16777216 pixels");
  def.lcd_base = 4096;
  EXPECT_NO_THROW(boxlcd::validate(def));
}

TEST(Validate, RejectsMissingParent) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[1].joint.parent = "ghost";
  expect_invalid(def, "parent 'ghost'");
  // A parent must come before its child.
  def = boxlcd::env_def("Luxo");
  std::swap(def.robots[0].limbs[0], def.robots[0].limbs[1]);
  expect_invalid(def, "parent 'lhip'");
}

TEST(Validate, RejectsDuplicateLimbName) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[2].body.name = "aleg";
  expect_invalid(def, "duplicate body name");
  def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[0].body.name = "root";
  expect_invalid(def, "duplicate body name");
}

TEST(Validate, RejectsZeroEpisodeLength) {
  boxlcd::WorldDef def = boxlcd::env_def("Dropbox");
  def.ep_len = 0;
  expect_invalid(def, "ep_len");
  def.ep_len = -5;
  expect_invalid(def, "ep_len");
}

TEST(Validate, RejectsOtherNonsense) {
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  def.objects[0].body.radius = 0.0;
  expect_invalid(def, "radius");
  def = boxlcd::env_def("Bounce");
  def.objects[0].body.density = -1.0;
  expect_invalid(def, "density");
  def = boxlcd::env_def("Bounce");
  def.objects[0].body.radius = 3.0;  // wider than half the 5 m world
  expect_invalid(def, "does not fit");
  def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[0].joint.lower = 2.0;
  expect_invalid(def, "lower limit");
  def = boxlcd::env_def("Urchin");
  def.robots[0].limbs[0].body.shape = boxlcd::Shape::Random;
  expect_invalid(def, "objects only");
  def = boxlcd::env_def("Urchin");
  def.fps = 0;
  expect_invalid(def, "fps");
}

// ---- overrides ----

TEST(Overrides, SetKnownKeys) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  boxlcd::apply_override(def, "ep_len", 7.0);
  boxlcd::apply_override(def, "raster", std::string("area"));
  boxlcd::apply_override(def, "iterations", 30.0);
  boxlcd::apply_override(def, "walls", 0.0);
  boxlcd::apply_override(def, "lcd_base", 10.0);
  boxlcd::apply_override(def, "wh_ratio", 1.5);
  EXPECT_EQ(def.ep_len, 7);
  EXPECT_EQ(def.raster, boxlcd::RasterRule::Area);
  EXPECT_EQ(def.velocity_iterations, 30);
  EXPECT_EQ(def.position_iterations, 10);
  EXPECT_FALSE(def.walls);
  EXPECT_EQ(def.frame_rows(), 10);
  EXPECT_EQ(def.frame_cols(), 15);
  const auto names = boxlcd::override_names();
  for (const char* k : {"ep_len", "fps", "lcd_base", "wh_ratio", "walls", "use_speed", "iterations"})
    EXPECT_TRUE(std::find(names.begin(), names.end(), k) != names.end()) << k;
}

TEST(Overrides, RejectUnknownKeys) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  EXPECT_THROW(boxlcd::apply_override(def, "eplen", 7.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "", 7.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "EP_LEN", 7.0), boxlcd::Error);
  EXPECT_EQ(def.ep_len, 100);
}

TEST(Overrides, SolverPresetsSetTheSolverFields) {
  const auto& presets = boxlcd::solver_presets();
  ASSERT_GE(presets.size(), 2u);
  EXPECT_EQ(presets[0].name, "original");  // the default definition's solver, named
  for (const boxlcd::SolverPreset& p : presets) {
    boxlcd::WorldDef def = boxlcd::env_def("Urchin");
    def.velocity_iterations = 7, def.position_iterations = 5, def.substeps = 2;
    boxlcd::apply_override(def, "solver", p.name);
    EXPECT_EQ(def.velocity_iterations, p.velocity_iterations) << p.name;
    EXPECT_EQ(def.position_iterations, p.position_iterations) << p.name;
    EXPECT_EQ(def.substeps, p.substeps) << p.name;
    EXPECT_NO_THROW(boxlcd::validate(def)) << p.name;
  }
  const boxlcd::WorldDef plain = boxlcd::env_def("Urchin");
  EXPECT_EQ(plain.velocity_iterations, presets[0].velocity_iterations);
  EXPECT_EQ(plain.position_iterations, presets[0].position_iterations);
  EXPECT_EQ(plain.substeps, presets[0].substeps);
  boxlcd::WorldDef def = plain;
  try {
    boxlcd::apply_override(def, "solver", std::string("fastest"));
    FAIL() << "an unknown preset was accepted";
  } catch (const boxlcd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("solver must be one of original, fast"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'fastest'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(boxlcd::apply_override(def, "solver", 3.0), boxlcd::Error);
  EXPECT_EQ(def.velocity_iterations, plain.velocity_iterations);
}

TEST(Overrides, SeedIsTheOriginalSolverPresetsOldName) {
  const boxlcd::SolverPreset* original = boxlcd::find_solver_preset("original");
  ASSERT_NE(original, nullptr);
  EXPECT_EQ(boxlcd::find_solver_preset("seed"), original);
  EXPECT_EQ(boxlcd::find_solver_preset("Seed"), nullptr);
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  def.velocity_iterations = 7, def.position_iterations = 5, def.substeps = 2;
  boxlcd::apply_override(def, "solver", std::string("seed"));
  EXPECT_EQ(def.velocity_iterations, original->velocity_iterations);
  EXPECT_EQ(def.position_iterations, original->position_iterations);
  EXPECT_EQ(def.substeps, original->substeps);
  for (const boxlcd::SolverPreset& p : boxlcd::solver_presets()) EXPECT_NE(p.name, "seed");  // listed once
}

TEST(Overrides, EpLenMustBeAPositiveInteger) {
  boxlcd::WorldDef def = boxlcd::env_def("Urchin");
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", 2.5), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", std::nan("")), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", 1.0 / 0.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", 0.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", -3.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "ep_len", std::string("7")), boxlcd::Error);
  EXPECT_EQ(def.ep_len, 100);  // untouched by the rejected values
  EXPECT_THROW(boxlcd::apply_override(def, "raster", 1.0), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "raster", std::string("pil")), boxlcd::Error);
  EXPECT_THROW(boxlcd::apply_override(def, "walls", 2.0), boxlcd::Error);
}

}  // namespace

// ---- the field tables ----

template <class Def>
void expect_numbers_have_ranges() {
  for (const auto& f : boxlcd::fields<Def>())
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(Def{}.*member)>;
          constexpr bool number = (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) ||
                                  std::is_same_v<T, boxlcd::Vec2> || std::is_same_v<T, std::vector<boxlcd::Vec2>>;
          EXPECT_EQ(!f.range.empty(), number) << f.name;
        },
        f.member);
}

TEST(Fields, EveryNumberHasARange) {
  expect_numbers_have_ranges<boxlcd::BodyDef>();
  expect_numbers_have_ranges<boxlcd::JointDef>();
  expect_numbers_have_ranges<boxlcd::LimbDef>();
  expect_numbers_have_ranges<boxlcd::RobotDef>();
  expect_numbers_have_ranges<boxlcd::ObjectDef>();
  expect_numbers_have_ranges<boxlcd::WorldDef>();
}

TEST(Fields, EverySettingIsANamedOverride) {
  for (const auto& name : boxlcd::override_names()) {
    boxlcd::WorldDef def = boxlcd::env_def("Bounce");
    const boxlcd::OverrideValue v = name == "raster"   ? boxlcd::OverrideValue(std::string("area"))
                                    : name == "solver" ? boxlcd::OverrideValue(std::string("fast"))
                                                       : 1.0;
    EXPECT_NO_THROW(boxlcd::apply_override(def, name, v)) << name;
    EXPECT_NO_THROW(boxlcd::validate(def)) << name;
  }
  boxlcd::WorldDef def = boxlcd::env_def("Bounce");
  boxlcd::apply_override(def, "gravity_x", 3.0);
  boxlcd::apply_override(def, "raster", std::string("seed"));  // the old name of "original"
  EXPECT_EQ(def.gravity.x, 3.0);
  EXPECT_EQ(def.raster, boxlcd::RasterRule::Original);
  // Out of range at once, naming the option and its range.
  try {
    boxlcd::apply_override(def, "gravity_y", -1e39);
    ADD_FAILURE() << "accepted gravity_y -1e39";
  } catch (const boxlcd::Error& e) {
    EXPECT_STREQ(e.what(), "option gravity_y must be in [-1000, 1000] m/s^2, got -1e+39");
  }
}

TEST(Fields, EnumNamesRoundTrip) {
  for (const auto& [name, value] : boxlcd::enum_names<boxlcd::Shape>()) {
    boxlcd::Shape s{};
    EXPECT_TRUE(boxlcd::value_of(name, s));
    EXPECT_EQ(s, value);
  }
  EXPECT_STREQ(boxlcd::name_of(boxlcd::RasterRule::Original), "original");
  EXPECT_STREQ(boxlcd::name_of(boxlcd::RasterRule::Area), "area");
}
