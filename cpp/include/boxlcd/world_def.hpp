// World definitions as plain data: what a world contains, not how it is simulated.
// The built-in envs (catalogue.hpp) are values of these types; users build their own.
// Each type's fields, with their docs and the ranges validate() holds them to, are listed
// once in world_def.cpp's field tables (fields.hpp; boxlcd.WorldDef.fields in Python).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace boxlcd {

// What Box2D (which computes in float) can simulate; validate() keeps every number inside.
// Lengths in metres: sizes, vertices, anchors and the world's height and width.
constexpr double min_extent = 0.01;    // a circle's radius, a box's half-extents, a polygon's width
constexpr double max_length = 1000.0;  // any size, coordinate or anchor; the world's height and width
// walls=false: the floor reaches this far beyond the world on both sides, far enough that
// nothing reaches its ends in any episode.
constexpr double floor_overhang = 1000.0;
constexpr int max_polygon_vertices = 8;  // b2_maxPolygonVertices
constexpr int max_frame_side = 8192;     // frame rows, and columns
constexpr int max_frame_pixels = 1 << 24;  // rows x columns, e.g. 4096 x 4096
constexpr double max_gravity = 1000.0;     // m/s^2 per axis, about 100 g

struct Vec2 {
  double x = 0.0;
  double y = 0.0;
};

// Random picks Box or Circle per reset from the env's own generator (objects only).
enum class Shape { Circle, Box, Polygon, Random };

// Original: the original testbed's (boxLCD 2021) PIL look, thin parts stay visible; Python
// and the overrides also accept its old name "seed". Area: a pixel is lit when its centre is
// inside a body.
enum class RasterRule { Original, Area };

// How a batch restarts envs whose episode ended (Gymnasium's three modes).
enum class AutoresetMode { NextStep, SameStep, Disabled };

struct BodyDef {
  std::string name;
  Shape shape = Shape::Box;
  double radius = 0.0;         // Circle (and Random's circle)
  Vec2 half_extents;           // Box (and Random's box)
  std::vector<Vec2> vertices;  // Polygon: convex, 3 to 8 vertices, body frame
  double density = 1.0;
  double friction = 1.0;
  double restitution = 0.0;
  double linear_damping = 0.0;
  double angular_damping = 0.0;
  uint16_t category = 0x0020;
  uint16_t mask = 0x0001;
};

// A revolute joint that hangs a limb on its parent (the root or an earlier limb).
struct JointDef {
  std::string parent = "root";
  double angle = 0.0;  // limb angle relative to the robot root, not to the parent
  Vec2 anchor_parent;  // on the parent, parent frame
  Vec2 anchor_limb;    // on the limb, limb frame; coincides with anchor_parent
  double lower = 0.0;  // limits relative to the initial pose
  double upper = 0.0;
  bool limited = true;  // false: a "free" joint (motor only)
  double speed = 8.0;   // rad/s at action 1
  double max_torque = 150.0;
  // A joint whose lower limit equals its upper limit takes no action.
  bool actuated() const { return lower != upper; }
};

struct LimbDef {
  BodyDef body;
  JointDef joint;
};

struct RobotDef {
  std::string type;  // key prefix: the first robot is "<type>0"
  double bound = 1.0;  // root x in [bound, W - bound], y = bound
  bool rand_angle = false;
  BodyDef root;
  std::vector<LimbDef> limbs;  // parents before children
};

struct ObjectDef {
  BodyDef body;
  bool rand_angle = true;
  double size() const;  // the placement margin: radius or largest half-extent
};

struct WorldDef {
  std::string name;
  std::vector<RobotDef> robots;
  std::vector<ObjectDef> objects;
  double height = 5.0;  // metres; width = wh_ratio * height
  double wh_ratio = 1.0;
  Vec2 gravity{0.0, -9.81};
  bool walls = true;  // false: only a floor, and the view follows the first robot
  int fps = 10;
  int substeps = 0;  // 0: 3 when fps < 30, else 1
  int velocity_iterations = 180;
  int position_iterations = 60;
  int lcd_base = 16;  // frame rows; columns = round(lcd_base * wh_ratio)
  int ep_len = 100;
  bool use_speed = true;  // false: torque mode
  RasterRule raster = RasterRule::Original;
  // Objects with a robot in the world start with y in [size, object_max_y].
  double object_max_y = 1.875;

  double width() const { return wh_ratio * height; }
  int frame_rows() const { return lcd_base; }
  // 0 when round(lcd_base * wh_ratio) is outside [1, max_frame_side] (validate() says so).
  int frame_cols() const;
  int frame_row_bytes() const { return (frame_cols() + 7) / 8; }
  int substeps_per_step() const { return substeps > 0 ? substeps : (fps < 30 ? 3 : 1); }
};

// Throws boxlcd::Error naming the first problem found.
void validate(const WorldDef& def);

// The middle of a body's bounding box, relative to its origin, with the body turned by angle
// (zero but for polygons). Box2D pushes a body that overlaps a wall out on the side its box
// mostly lies on, so a body stays inside the walls only while this middle is inside them.
Vec2 box_middle(const BodyDef& body, double angle);

using OverrideValue = std::variant<double, std::string>;

// Sets one named setting: each world field its table marks as a setting (gravity as gravity_x
// and gravity_y), iterations (velocity iterations, a third of them position iterations) and
// solver (a preset of solver.hpp by name).
// Numbers are checked against the field's range at once.
void apply_override(WorldDef& def, const std::string& key, const OverrideValue& value);
std::vector<std::string> override_names();

}  // namespace boxlcd
