// The definitions' field tables, checks on definitions, and the named settings a caller may
// override (all three read the tables).
#include "boxlcd/world_def.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "boxlcd/error.hpp"
#include "boxlcd/fields.hpp"
#include "boxlcd/solver.hpp"

namespace boxlcd {
namespace {

// Ranges of the numbers that reach Box2D, beyond world_def.hpp's lengths and frame sizes.
constexpr double max_density = 1e6;  // kg/m^2
constexpr double max_friction = 10.0;
constexpr double max_damping = 1000.0;      // 1/s
constexpr double max_angle = 100.0;         // rad: joint angles and limits
constexpr double max_joint_speed = 1000.0;  // rad/s
constexpr double max_joint_torque = 1e6;    // N m
constexpr int max_iterations = 100000;
// A polygon's vertices lie within this many diameters of its body's origin: further out, the
// float inertia Box2D shifts to the origin and back loses the body's own (and asserts I > 0).
constexpr double max_polygon_offset = 10.0;

}  // namespace

template <>
const std::vector<Field<BodyDef>>& fields<BodyDef>() {
  using B = BodyDef;
  static const std::vector<Field<B>> table = {
      {"name", &B::name, "a limb's name, unique in its robot, without ':' (unused for roots and objects)"},
      {"shape", &B::shape,
       "circle (radius), box (half_extents), polygon (vertices) or random (objects only: a box "
       "or a circle each reset)"},
      {"radius", &B::radius, "circle radius, at least 0.01 m when the shape uses it", {0, max_length, "m"}},
      {"half_extents", &B::half_extents, "box half width and half height, at least 0.01 m when used",
       {0, max_length, "m"}},
      {"vertices", &B::vertices,
       "polygon corners in the body frame: 3 to 8, strictly convex, at least 0.01 m wide, within "
       "10 diameters of the body origin",
       {-max_length, max_length, "m"}},
      {"density", &B::density, "mass per area", {0, max_density, "kg/m^2"}},
      {"friction", &B::friction, "Coulomb friction coefficient", {0, max_friction}},
      {"restitution", &B::restitution, "bounce: 0 none, 1 elastic", {0, 1}},
      {"linear_damping", &B::linear_damping, "velocity damping", {0, max_damping, "1/s"}},
      {"angular_damping", &B::angular_damping, "angular velocity damping", {0, max_damping, "1/s"}},
      {"category", &B::category, "collision category bits", {0, 0xFFFF}},
      {"mask", &B::mask, "collision mask: the categories it collides with", {0, 0xFFFF}},
  };
  return table;
}

template <>
const std::vector<Field<JointDef>>& fields<JointDef>() {
  using J = JointDef;
  static const std::vector<Field<J>> table = {
      {"parent", &J::parent, "the body it hangs on: root or an earlier limb's name"},
      {"angle", &J::angle, "the limb's angle relative to the robot's root (not to its parent)",
       {-max_angle, max_angle, "rad"}},
      {"anchor_parent", &J::anchor_parent, "the joint on the parent, parent frame", {-max_length, max_length, "m"}},
      {"anchor_limb", &J::anchor_limb, "the joint on the limb, limb frame", {-max_length, max_length, "m"}},
      {"lower", &J::lower, "lower limit, relative to the initial pose", {-max_angle, max_angle, "rad"}},
      {"upper", &J::upper, "upper limit; lower == upper: a joint without an action", {-max_angle, max_angle, "rad"}},
      {"limited", &J::limited, "false: a free joint (motor only)"},
      {"speed", &J::speed, "motor speed at action 1", {0, max_joint_speed, "rad/s"}},
      {"max_torque", &J::max_torque, "motor torque limit", {0, max_joint_torque, "N m"}},
  };
  return table;
}

template <>
const std::vector<Field<LimbDef>>& fields<LimbDef>() {
  static const std::vector<Field<LimbDef>> table = {
      {"body", &LimbDef::body, "the limb's body"},
      {"joint", &LimbDef::joint, "the revolute joint hanging it on its parent"},
  };
  return table;
}

template <>
const std::vector<Field<RobotDef>>& fields<RobotDef>() {
  using R = RobotDef;
  static const std::vector<Field<R>> table = {
      {"type", &R::type, "key prefix: the first robot is '<type>0'; no ':'"},
      {"bound", &R::bound,
       "the root starts at x in [bound, W - bound], y = bound; every body's middle starts within bound of it",
       {min_extent, max_length, "m"}},
      {"rand_angle", &R::rand_angle, "the root starts at a random angle"},
      {"root", &R::root, "the root body"},
      {"limbs", &R::limbs, "jointed bodies, parents before children"},
  };
  return table;
}

template <>
const std::vector<Field<ObjectDef>>& fields<ObjectDef>() {
  static const std::vector<Field<ObjectDef>> table = {
      {"body", &ObjectDef::body, "the object's body"},
      {"rand_angle", &ObjectDef::rand_angle, "it starts at a random angle"},
  };
  return table;
}

template <>
const std::vector<Field<WorldDef>>& fields<WorldDef>() {
  using W = WorldDef;
  static const std::vector<Field<W>> table = {
      {"name", &W::name, "the env's name"},
      {"robots", &W::robots, "robots; the view follows the first without walls"},
      {"objects", &W::objects, "free bodies placed at random each reset"},
      {"height", &W::height, "world height; width = wh_ratio * height, at most 1000 m", {0.1, max_length, "m"}, true},
      {"wh_ratio", &W::wh_ratio, "width / height, of the world and of the frame", {0.01, 100}, true},
      {"gravity", &W::gravity, "gravity", {-max_gravity, max_gravity, "m/s^2"}, true},
      {"walls", &W::walls, "false: only a floor, and the view follows the first robot", {}, true},
      {"fps", &W::fps, "env steps per simulated second", {1, 10000, "1/s"}, true},
      {"substeps", &W::substeps, "Box2D steps per env step; 0: 3 below 30 fps, else 1", {0, 1000}, true},
      {"velocity_iterations", &W::velocity_iterations, "Box2D velocity iterations", {1, max_iterations}, true},
      {"position_iterations", &W::position_iterations, "Box2D position iterations", {1, max_iterations}, true},
      {"lcd_base", &W::lcd_base, "frame rows; columns = round(lcd_base * wh_ratio), at most 2^24 pixels",
       {1, max_frame_side}, true},
      {"ep_len", &W::ep_len, "steps per episode", {1, 1 << 30}, true},
      {"use_speed", &W::use_speed, "false: torque mode (actions scale the motor torque)", {}, true},
      {"raster", &W::raster, "original (the original testbed's PIL look; alias seed) or area (pixel centres)",
       {}, true},
      {"object_max_y", &W::object_max_y, "with a robot, objects start at y in [size, object_max_y]",
       {0, max_length, "m"}, true},
  };
  return table;
}

template <>
const std::vector<std::pair<const char*, Shape>>& enum_names<Shape>() {
  static const std::vector<std::pair<const char*, Shape>> names = {
      {"circle", Shape::Circle}, {"box", Shape::Box}, {"polygon", Shape::Polygon}, {"random", Shape::Random}};
  return names;
}

template <>
const std::vector<std::pair<const char*, RasterRule>>& enum_names<RasterRule>() {
  // "seed" was the original rule's name until the word was kept for random seeds alone.
  static const std::vector<std::pair<const char*, RasterRule>> names = {
      {"original", RasterRule::Original}, {"area", RasterRule::Area}, {"seed", RasterRule::Original}};
  return names;
}

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string describe(const Range& r) {
  return "[" + num(r.lo) + ", " + num(r.hi) + "]" + (*r.unit ? " " : "") + r.unit;
}

// v in the range; NaN is outside.
void require_in(double v, const Range& r, const std::string& path) {
  require(v >= r.lo && v <= r.hi, path + " must be in " + describe(r) + ", got " + num(v));
}

// ---- ranges, from the tables ----------------------------------------------------------------

template <class T>
constexpr bool is_vector = false;
template <class T>
constexpr bool is_vector<std::vector<T>> = true;

template <class T>
constexpr bool has_fields = std::is_same_v<T, BodyDef> || std::is_same_v<T, JointDef> ||
                            std::is_same_v<T, LimbDef> || std::is_same_v<T, RobotDef> ||
                            std::is_same_v<T, ObjectDef> || std::is_same_v<T, WorldDef>;

std::string join(const std::string& path, const char* name) { return path.empty() ? name : path + "." + name; }

template <class T>
void check_value(const T& v, const Range& r, const std::string& path);

template <class Def>
void check_ranges(const Def& def, const std::string& path) {
  for_each_field(def, [&](const Field<Def>& f, const auto& v) { check_value(v, f.range, join(path, f.name)); });
}

template <class T>
void check_value(const T& v, const Range& r, const std::string& path) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    require_in(static_cast<double>(v), r, path);
  } else if constexpr (std::is_same_v<T, Vec2>) {
    require_in(v.x, r, path + ".x");
    require_in(v.y, r, path + ".y");
  } else if constexpr (is_vector<T>) {
    for (size_t i = 0; i < v.size(); ++i) check_value(v[i], r, path + "[" + std::to_string(i) + "]");
  } else if constexpr (has_fields<T>) {
    check_ranges(v, path);
  }  // bools, strings and enums: their type is their range
}

// ---- what the ranges alone do not say -------------------------------------------------------

void validate_polygon(const std::vector<Vec2>& v, const std::string& path) {
  const int n = static_cast<int>(v.size());
  require(n >= 3 && n <= max_polygon_vertices,
          path + ": a polygon needs 3 to " + std::to_string(max_polygon_vertices) + " vertices, got " +
              std::to_string(n));
  for (int i = 0; i < n; ++i) {
    const Vec2& a = v[i];
    const Vec2& b = v[(i + 1) % n];
    require(std::hypot(b.x - a.x, b.y - a.y) >= min_extent,
            path + ": polygon vertices " + std::to_string(i) + " and " + std::to_string((i + 1) % n) +
                " are closer than " + num(min_extent) + " m");
  }
  double area2 = 0.0, diameter = 0.0, reach = 0.0;
  int sign = 0;
  for (int i = 0; i < n; ++i) {
    const Vec2& a = v[i];
    const Vec2& b = v[(i + 1) % n];
    const Vec2& c = v[(i + 2) % n];
    const double cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
    const int s = cross > 1e-12 ? 1 : (cross < -1e-12 ? -1 : 0);
    require(s != 0 && (sign == 0 || s == sign),
            path + ": polygon is not strictly convex at vertex " + std::to_string((i + 1) % n));
    sign = s;
    area2 += a.x * b.y - b.x * a.y;
    reach = std::max(reach, std::hypot(a.x, a.y));
    for (const Vec2& o : v) diameter = std::max(diameter, std::hypot(o.x - a.x, o.y - a.y));
  }
  // Width as area / diameter: a sliver thinner than a box's narrowest is degenerate to Box2D.
  require(std::abs(area2) / diameter >= min_extent,
          path + ": polygon is thinner than " + num(min_extent) + " m (area " + num(std::abs(area2) / 2) +
              " m^2 over a diameter of " + num(diameter) + " m)");
  require(reach <= max_polygon_offset * diameter,
          path + ": polygon lies " + num(reach) + " m from its body's origin, more than " +
              num(max_polygon_offset) + " times its diameter (" + num(diameter) + " m)");
}

void validate_shape(const BodyDef& b, const std::string& path, bool may_be_random) {
  require(may_be_random || b.shape != Shape::Random, path + ".shape random is for objects only");
  const bool circle = b.shape == Shape::Circle || b.shape == Shape::Random;
  const bool box = b.shape == Shape::Box || b.shape == Shape::Random;
  if (circle)
    require(b.radius >= min_extent, path + ".radius must be >= " + num(min_extent) + " m for a " +
                                        (box ? "random shape" : "circle") + ", got " + num(b.radius));
  if (box)
    require(b.half_extents.x >= min_extent && b.half_extents.y >= min_extent,
            path + ".half_extents must be >= " + num(min_extent) + " m for a " +
                (circle ? "random shape" : "box") + ", got (" + num(b.half_extents.x) + ", " +
                num(b.half_extents.y) + ")");
  if (b.shape == Shape::Polygon) validate_polygon(b.vertices, path);
}

void validate_robot(const RobotDef& r, const WorldDef& w, const std::string& path) {
  require(!r.type.empty(), path + ".type (the key prefix) is empty");
  require(r.type.find(':') == std::string::npos, path + ".type may not contain ':'");
  require(2 * r.bound <= w.width() && r.bound < w.height,
          path + ".bound " + num(r.bound) + " does not fit a " + num(w.width()) + " x " + num(w.height) +
              " m world");
  validate_shape(r.root, path + ".root", false);
  std::set<std::string> names{"root"};
  for (size_t i = 0; i < r.limbs.size(); ++i) {
    const LimbDef& l = r.limbs[i];
    const std::string lp = path + ".limbs[" + std::to_string(i) + "]";
    const std::string lw = lp + " ('" + l.body.name + "')";
    require(!l.body.name.empty(), lp + ".body.name is empty");
    require(l.body.name.find(':') == std::string::npos, lw + ": names may not contain ':'");
    require(names.count(l.body.name) == 0, lw + ": duplicate body name");
    require(names.count(l.joint.parent) == 1,
            lw + ": parent '" + l.joint.parent + "' is not the root or an earlier limb");
    names.insert(l.body.name);
    validate_shape(l.body, lp + ".body", false);
    require(l.joint.lower <= l.joint.upper, lp + ".joint: lower limit " + num(l.joint.lower) +
                                                " exceeds upper limit " + num(l.joint.upper));
  }
  // Each body's middle starts within bound of the root's origin (at any root angle), so that
  // every body starts inside the walls: one that starts outside stays (and falls) there.
  // Poses as World::reset_random builds them, root at the origin, angle 0.
  struct Pose {
    double x, y, angle;
  };
  std::map<std::string, Pose> pose_of{{"root", {0.0, 0.0, 0.0}}};
  auto reach_of = [](const Pose& p, const BodyDef& b) {
    double reach = 0.0;  // the farthest the box's middle gets from the origin as the body turns
    for (const Vec2& v : b.shape == Shape::Polygon ? b.vertices : std::vector<Vec2>{})
      reach = std::max(reach, std::hypot(v.x, v.y));
    return std::hypot(p.x, p.y) + reach;
  };
  auto require_reach = [&](double reach, const std::string& what) {
    require(reach <= r.bound && r.bound + reach <= w.height,
            what + " starts " + num(reach) + " m from the root's origin: more than bound " + num(r.bound) +
                " m (the root starts bound from the walls), or above the world's top");
  };
  require_reach(reach_of(pose_of["root"], r.root), path + ".root");
  for (size_t i = 0; i < r.limbs.size(); ++i) {
    const LimbDef& l = r.limbs[i];
    const Pose& parent = pose_of[l.joint.parent];
    const double angle = l.joint.angle;
    const double pc = std::cos(parent.angle), ps = std::sin(parent.angle), c = std::cos(angle), s = std::sin(angle);
    const Vec2& a = l.joint.anchor_parent;
    const Vec2& b = l.joint.anchor_limb;
    const Pose p{parent.x + pc * a.x - ps * a.y - (c * b.x - s * b.y),
                 parent.y + ps * a.x + pc * a.y - (s * b.x + c * b.y), angle};
    pose_of[l.body.name] = p;
    require_reach(reach_of(p, l.body), path + ".limbs[" + std::to_string(i) + "] ('" + l.body.name + "')");
  }
}

// ---- named settings -------------------------------------------------------------------------

double number(const std::string& key, const OverrideValue& value) {
  const double* d = std::get_if<double>(&value);
  require(d != nullptr, "option " + key + " takes a number");
  return *d;
}

// Sets member when key names it (or, for a Vec2, one of its components); false otherwise.
template <class T>
bool set_setting(T& member, const Field<WorldDef>& f, const std::string& key, const OverrideValue& value) {
  const std::string name = f.name;
  if constexpr (std::is_same_v<T, Vec2>) {
    for (const auto& [suffix, component] : {std::pair{"_x", &Vec2::x}, std::pair{"_y", &Vec2::y}}) {
      if (key != name + suffix) continue;
      const double v = number(key, value);
      require_in(v, f.range, "option " + key);
      member.*component = v;
      return true;
    }
    return false;
  } else {
    if (key != name) return false;
    if constexpr (std::is_same_v<T, RasterRule>) {
      const std::string* s = std::get_if<std::string>(&value);
      require(s != nullptr && value_of(*s, member),
              "option " + key + " must be 'original' (or its old name 'seed') or 'area'");
    } else if constexpr (std::is_same_v<T, double>) {
      const double v = number(key, value);
      require_in(v, f.range, "option " + key);
      member = v;
    } else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, bool>) {
      const Range r = std::is_same_v<T, bool> ? Range{0, 1} : f.range;
      const double v = number(key, value);
      require(v == std::floor(v) && v >= r.lo && v <= r.hi,
              "option " + key + " must be a whole number in " + describe(r) + ", got " + num(v));
      member = static_cast<T>(v);
    } else {
      throw Error("option " + key + " has a type no setting takes");  // a C++ test sets every one
    }
    return true;
  }
}

// Sets a preset's solver fields.
void set_solver(WorldDef& w, const OverrideValue& value) {
  const std::string* s = std::get_if<std::string>(&value);
  if (const SolverPreset* p = s != nullptr ? find_solver_preset(*s) : nullptr) {
    w.velocity_iterations = p->velocity_iterations;
    w.position_iterations = p->position_iterations;
    w.substeps = p->substeps;
    return;
  }
  std::string known;
  for (const SolverPreset& p : solver_presets()) known += (known.empty() ? "" : ", ") + p.name;
  throw Error("option solver must be one of " + known + (s ? ", got '" + *s + "'" : ", got a number"));
}

// Sets a setting the tables do not list; false if key is none.
bool set_extra(WorldDef& w, const std::string& key, const OverrideValue& value) {
  if (key == "solver") {
    set_solver(w, value);
    return true;
  }
  if (key != "iterations") return false;
  // One number keeps the default 3:1 ratio of velocity to position iterations.
  const double v = number(key, value);
  require(v == std::floor(v) && v >= 1 && v <= max_iterations,
          "option iterations must be a whole number in [1, " + std::to_string(max_iterations) + "], got " + num(v));
  w.velocity_iterations = static_cast<int>(v);
  w.position_iterations = std::max(1, w.velocity_iterations / 3);
  return true;
}

}  // namespace

double ObjectDef::size() const {
  switch (body.shape) {
    case Shape::Circle: return body.radius;
    case Shape::Box: return std::max(body.half_extents.x, body.half_extents.y);
    case Shape::Random:
      return std::max({body.radius, body.half_extents.x, body.half_extents.y});
    case Shape::Polygon: {
      double r = 0.0;
      for (const Vec2& v : body.vertices) r = std::max(r, std::hypot(v.x, v.y));
      return r;
    }
  }
  return 0.0;
}

Vec2 box_middle(const BodyDef& body, double angle) {
  if (body.shape != Shape::Polygon || body.vertices.empty()) return {0.0, 0.0};
  const double c = std::cos(angle), s = std::sin(angle);
  double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
  for (const Vec2& v : body.vertices) {
    const double x = c * v.x - s * v.y, y = s * v.x + c * v.y;
    lo_x = std::min(lo_x, x), hi_x = std::max(hi_x, x), lo_y = std::min(lo_y, y), hi_y = std::max(hi_y, y);
  }
  return {(lo_x + hi_x) / 2, (lo_y + hi_y) / 2};
}

int WorldDef::frame_cols() const {
  // Rounded and checked in double first: a huge lcd_base * wh_ratio must not wrap an int.
  const double cols = std::round(lcd_base * wh_ratio);
  return cols >= 1 && cols <= max_frame_side ? static_cast<int>(cols) : 0;
}

void validate(const WorldDef& w) {
  check_ranges(w, "");
  require(w.width() <= max_length,
          "width wh_ratio * height = " + num(w.width()) + " m must be <= " + num(max_length) + " m");
  const double cols = std::round(static_cast<double>(w.lcd_base) * w.wh_ratio);
  require(cols >= 1 && cols <= max_frame_side,
          "frame width round(lcd_base * wh_ratio) = " + num(cols) + " must be in [1, " +
              std::to_string(max_frame_side) + "]");
  require(w.lcd_base * cols <= max_frame_pixels,
          "frame of " + std::to_string(w.lcd_base) + " x " + num(cols) + " pixels exceeds " +
              std::to_string(max_frame_pixels) + " pixels");
  for (size_t i = 0; i < w.robots.size(); ++i)
    validate_robot(w.robots[i], w, "robots[" + std::to_string(i) + "]");
  for (size_t i = 0; i < w.objects.size(); ++i) {
    const ObjectDef& o = w.objects[i];
    const std::string path = "objects[" + std::to_string(i) + "]";
    validate_shape(o.body, path + ".body", true);
    // Objects start with x in [size, W - size] and y in [size, top]; their tops stay inside.
    const double s = o.size();
    const double top = w.robots.empty() ? w.height - s : w.object_max_y;
    require(2 * s <= w.width() && s <= top && top + s <= w.height,
            path + ": size " + num(s) + " m does not fit the world's start area (" + num(w.width()) +
                " x " + num(w.height) + " m" + (w.robots.empty() ? "" : ", object_max_y " + num(top)) + ")");
  }
}

void apply_override(WorldDef& def, const std::string& key, const OverrideValue& value) {
  bool found = set_extra(def, key, value);
  for_each_field(def, [&](const Field<WorldDef>& f, auto& member) {
    if constexpr (!is_vector<std::decay_t<decltype(member)>> &&
                  !std::is_same_v<std::decay_t<decltype(member)>, std::string>)
      if (!found && f.setting) found = set_setting(member, f, key, value);
  });
  if (found) return;
  std::string known;
  for (const std::string& name : override_names()) known += (known.empty() ? "" : ", ") + name;
  throw Error("unknown option '" + key + "'; options: " + known);
}

std::vector<std::string> override_names() {
  std::vector<std::string> names{"iterations", "solver"};
  for (const Field<WorldDef>& f : fields<WorldDef>()) {
    if (!f.setting) continue;
    if (std::holds_alternative<Vec2 WorldDef::*>(f.member)) {
      names.push_back(std::string(f.name) + "_x");
      names.push_back(std::string(f.name) + "_y");
    } else {
      names.push_back(f.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace boxlcd
