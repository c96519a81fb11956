// Checks on world definitions, and the named settings a caller may override.
#include "boxlcd/world_def.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "boxlcd/error.hpp"

namespace boxlcd {
namespace {

// Ranges of the remaining numbers that reach Box2D (see also world_def.hpp's constants).
constexpr double max_density = 1e6;  // kg/m^2
constexpr double max_friction = 10.0;
constexpr double max_damping = 1000.0;  // 1/s
constexpr double max_angle = 100.0;     // rad: joint angles and limits
constexpr double max_joint_speed = 1000.0;  // rad/s
constexpr double max_joint_torque = 1e6;    // N m
constexpr double max_gravity = 1000.0;      // m/s^2 per axis, about 100 g
// A polygon's vertices lie within this many diameters of its body's origin: further out, the
// float inertia Box2D shifts to the origin and back loses the body's own (and asserts I > 0).
constexpr double max_polygon_offset = 10.0;

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// v in [lo, hi]; NaN fails too.
void require_in(double v, double lo, double hi, const std::string& path, const char* unit = "") {
  require(v >= lo && v <= hi, path + " must be in [" + num(lo) + ", " + num(hi) + "]" + unit +
                                  ", got " + num(v));
}

void require_in(const Vec2& v, double lo, double hi, const std::string& path, const char* unit = "") {
  require_in(v.x, lo, hi, path + ".x", unit);
  require_in(v.y, lo, hi, path + ".y", unit);
}

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

void validate_body(const BodyDef& b, const std::string& path, bool may_be_random) {
  require_in(b.radius, 0.0, max_length, path + ".radius", " m");
  require_in(b.half_extents, 0.0, max_length, path + ".half_extents", " m");
  for (size_t i = 0; i < b.vertices.size(); ++i)
    require_in(b.vertices[i], -max_length, max_length, path + ".vertices[" + std::to_string(i) + "]", " m");
  require(may_be_random || b.shape != Shape::Random, path + ".shape Random is for objects only");
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
  require_in(b.density, 0.0, max_density, path + ".density", " kg/m^2");
  require_in(b.friction, 0.0, max_friction, path + ".friction");
  require_in(b.restitution, 0.0, 1.0, path + ".restitution");
  require_in(b.linear_damping, 0.0, max_damping, path + ".linear_damping", " 1/s");
  require_in(b.angular_damping, 0.0, max_damping, path + ".angular_damping", " 1/s");
}

void validate_joint(const JointDef& j, const std::string& path) {
  require_in(j.angle, -max_angle, max_angle, path + ".angle", " rad");
  require_in(j.anchor_parent, -max_length, max_length, path + ".anchor_parent", " m");
  require_in(j.anchor_limb, -max_length, max_length, path + ".anchor_limb", " m");
  require_in(j.lower, -max_angle, max_angle, path + ".lower", " rad");
  require_in(j.upper, -max_angle, max_angle, path + ".upper", " rad");
  require(j.lower <= j.upper, path + ": lower limit " + num(j.lower) + " exceeds upper limit " + num(j.upper));
  require_in(j.speed, 0.0, max_joint_speed, path + ".speed", " rad/s");
  require_in(j.max_torque, 0.0, max_joint_torque, path + ".max_torque", " N m");
}

void validate_robot(const RobotDef& r, const WorldDef& w, const std::string& path) {
  require(!r.type.empty(), path + ".type (the key prefix) is empty");
  require(r.type.find(':') == std::string::npos, path + ".type may not contain ':'");
  require_in(r.bound, min_extent, max_length, path + ".bound", " m");
  require(2 * r.bound <= w.width() && r.bound < w.height,
          path + ".bound " + num(r.bound) + " does not fit a " + num(w.width()) + " x " + num(w.height) +
              " m world");
  validate_body(r.root, path + ".root", false);
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
    validate_body(l.body, lp + ".body", false);
    validate_joint(l.joint, lp + ".joint");
  }
}

int as_int(const std::string& key, const OverrideValue& value, int lo, int hi) {
  const double* d = std::get_if<double>(&value);
  require(d != nullptr, "option " + key + " takes a number");
  require(std::isfinite(*d) && *d == std::floor(*d) && *d >= lo && *d <= hi,
          "option " + key + " must be a whole number in [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "], got " + std::to_string(*d));
  return static_cast<int>(*d);
}

double as_double(const std::string& key, const OverrideValue& value) {
  const double* d = std::get_if<double>(&value);
  require(d != nullptr, "option " + key + " takes a number");
  require(std::isfinite(*d), "option " + key + " must be finite");
  return *d;
}

bool as_bool(const std::string& key, const OverrideValue& value) {
  return as_int(key, value, 0, 1) != 0;
}

using Setter = std::function<void(WorldDef&, const std::string&, const OverrideValue&)>;

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"ep_len", [](WorldDef& w, auto& k, auto& v) { w.ep_len = as_int(k, v, 1, 1 << 30); }},
      {"fps", [](WorldDef& w, auto& k, auto& v) { w.fps = as_int(k, v, 1, 10000); }},
      {"substeps", [](WorldDef& w, auto& k, auto& v) { w.substeps = as_int(k, v, 0, 1000); }},
      {"lcd_base", [](WorldDef& w, auto& k, auto& v) { w.lcd_base = as_int(k, v, 1, max_frame_side); }},
      {"wh_ratio", [](WorldDef& w, auto& k, auto& v) { w.wh_ratio = as_double(k, v); }},
      {"height", [](WorldDef& w, auto& k, auto& v) { w.height = as_double(k, v); }},
      {"walls", [](WorldDef& w, auto& k, auto& v) { w.walls = as_bool(k, v); }},
      {"use_speed", [](WorldDef& w, auto& k, auto& v) { w.use_speed = as_bool(k, v); }},
      // One number keeps the default 3:1 ratio of velocity to position iterations.
      {"iterations",
       [](WorldDef& w, auto& k, auto& v) {
         w.velocity_iterations = as_int(k, v, 1, 100000);
         w.position_iterations = std::max(1, w.velocity_iterations / 3);
       }},
      {"velocity_iterations",
       [](WorldDef& w, auto& k, auto& v) { w.velocity_iterations = as_int(k, v, 1, 100000); }},
      {"position_iterations",
       [](WorldDef& w, auto& k, auto& v) { w.position_iterations = as_int(k, v, 1, 100000); }},
      {"gravity_x", [](WorldDef& w, auto& k, auto& v) { w.gravity.x = as_double(k, v); }},
      {"gravity_y", [](WorldDef& w, auto& k, auto& v) { w.gravity.y = as_double(k, v); }},
      {"object_max_y", [](WorldDef& w, auto& k, auto& v) { w.object_max_y = as_double(k, v); }},
      {"raster",
       [](WorldDef& w, auto& k, auto& v) {
         const std::string* s = std::get_if<std::string>(&v);
         require(s != nullptr && (*s == "seed" || *s == "area"),
                 "option " + k + " must be 'seed' or 'area'");
         w.raster = *s == "seed" ? RasterRule::Seed : RasterRule::Area;
       }},
  };
  return table;
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

int WorldDef::frame_cols() const {
  // Rounded and checked in double first: a huge lcd_base * wh_ratio must not wrap an int.
  const double cols = std::round(lcd_base * wh_ratio);
  return cols >= 1 && cols <= max_frame_side ? static_cast<int>(cols) : 0;
}

void validate(const WorldDef& w) {
  require_in(w.height, 0.1, max_length, "height", " m");
  require_in(w.wh_ratio, 0.01, 100.0, "wh_ratio");
  require(w.width() <= max_length,
          "width wh_ratio * height = " + num(w.width()) + " m must be <= " + num(max_length) + " m");
  require_in(w.gravity, -max_gravity, max_gravity, "gravity", " m/s^2");
  require_in(w.fps, 1, 10000, "fps");
  require_in(w.substeps, 0, 1000, "substeps");
  require_in(w.velocity_iterations, 1, 100000, "velocity_iterations");
  require_in(w.position_iterations, 1, 100000, "position_iterations");
  require_in(w.ep_len, 1, 1 << 30, "ep_len");
  require_in(w.lcd_base, 1, max_frame_side, "lcd_base");
  const double cols = std::round(static_cast<double>(w.lcd_base) * w.wh_ratio);
  require(cols >= 1 && cols <= max_frame_side,
          "frame width round(lcd_base * wh_ratio) = " + num(cols) + " must be in [1, " +
              std::to_string(max_frame_side) + "]");
  require(w.lcd_base * cols <= max_frame_pixels,
          "frame of " + std::to_string(w.lcd_base) + " x " + num(cols) + " pixels exceeds " +
              std::to_string(max_frame_pixels) + " pixels");
  require_in(w.object_max_y, 0.0, max_length, "object_max_y", " m");
  for (size_t i = 0; i < w.robots.size(); ++i)
    validate_robot(w.robots[i], w, "robots[" + std::to_string(i) + "]");
  for (size_t i = 0; i < w.objects.size(); ++i) {
    const ObjectDef& o = w.objects[i];
    const std::string path = "objects[" + std::to_string(i) + "]";
    validate_body(o.body, path + ".body", true);
    // Objects start with x in [size, W - size] and y in [size, top]; their tops stay inside.
    const double s = o.size();
    const double top = w.robots.empty() ? w.height - s : w.object_max_y;
    require(2 * s <= w.width() && s <= top && top + s <= w.height,
            path + ": size " + num(s) + " m does not fit the world's start area (" + num(w.width()) +
                " x " + num(w.height) + " m" + (w.robots.empty() ? "" : ", object_max_y " + num(top)) + ")");
  }
}

void apply_override(WorldDef& def, const std::string& key, const OverrideValue& value) {
  const auto& table = setters();
  auto it = table.find(key);
  if (it == table.end()) {
    std::string known;
    for (const auto& kv : table) known += (known.empty() ? "" : ", ") + kv.first;
    throw Error("unknown option '" + key + "'; options: " + known);
  }
  it->second(def, key, value);
}

std::vector<std::string> override_names() {
  std::vector<std::string> names;
  for (const auto& kv : setters()) names.push_back(kv.first);
  return names;
}

}  // namespace boxlcd
