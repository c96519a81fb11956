// Checks on world definitions, and the named settings a caller may override.
#include "boxlcd/world_def.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "boxlcd/error.hpp"

namespace boxlcd {
namespace {

// Box2D asserts (or misbehaves) on shapes below its linear slop; keep well above it.
constexpr double min_extent = 0.01;
constexpr int max_polygon_vertices = 8;  // b2_maxPolygonVertices
constexpr int max_frame_side = 8192;

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

void require_finite(double v, const std::string& what) {
  require(std::isfinite(v), what + " must be finite, got " + std::to_string(v));
}

void require_nonnegative(double v, const std::string& what) {
  require_finite(v, what);
  require(v >= 0.0, what + " must be >= 0, got " + std::to_string(v));
}

void validate_polygon(const std::vector<Vec2>& v, const std::string& where) {
  const int n = static_cast<int>(v.size());
  require(n >= 3 && n <= max_polygon_vertices,
          where + ": a polygon needs 3 to 8 vertices, got " + std::to_string(n));
  double area2 = 0.0;
  int sign = 0;
  for (int i = 0; i < n; ++i) {
    const Vec2& a = v[i];
    const Vec2& b = v[(i + 1) % n];
    const Vec2& c = v[(i + 2) % n];
    require_finite(a.x, where + " vertex x");
    require_finite(a.y, where + " vertex y");
    require(std::hypot(b.x - a.x, b.y - a.y) >= min_extent,
            where + ": polygon vertices " + std::to_string(i) + " and " +
                std::to_string((i + 1) % n) + " are closer than " + std::to_string(min_extent) + " m");
    const double cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
    const int s = cross > 1e-12 ? 1 : (cross < -1e-12 ? -1 : 0);
    require(s != 0 && (sign == 0 || s == sign),
            where + ": polygon is not strictly convex at vertex " + std::to_string((i + 1) % n));
    sign = s;
    area2 += a.x * b.y - b.x * a.y;
  }
  require(std::abs(area2) / 2 >= min_extent * min_extent, where + ": polygon has no area");
}

void validate_body(const BodyDef& b, const std::string& where, bool may_be_random) {
  switch (b.shape) {
    case Shape::Circle:
      require_finite(b.radius, where + " radius");
      require(b.radius >= min_extent, where + ": circle radius must be >= 0.01 m");
      break;
    case Shape::Box:
      require_finite(b.half_extents.x, where + " half_extents.x");
      require_finite(b.half_extents.y, where + " half_extents.y");
      require(b.half_extents.x >= min_extent && b.half_extents.y >= min_extent,
              where + ": box half extents must be >= 0.01 m");
      break;
    case Shape::Polygon:
      validate_polygon(b.vertices, where);
      break;
    case Shape::Random:
      require(may_be_random, where + ": shape Random is for objects only");
      require_finite(b.radius, where + " radius");
      require(b.radius >= min_extent && b.half_extents.x >= min_extent &&
                  b.half_extents.y >= min_extent,
              where + ": a Random shape needs radius and half extents >= 0.01 m");
      break;
  }
  require_nonnegative(b.density, where + " density");
  require_nonnegative(b.friction, where + " friction");
  require_nonnegative(b.restitution, where + " restitution");
  require_nonnegative(b.linear_damping, where + " linear_damping");
  require_nonnegative(b.angular_damping, where + " angular_damping");
}

void validate_robot(const RobotDef& r, const WorldDef& w, int index) {
  const std::string where = "robot " + std::to_string(index) + " (" + r.type + ")";
  require(!r.type.empty(), where + ": type (the key prefix) is empty");
  require(r.type.find(':') == std::string::npos, where + ": type may not contain ':'");
  require_finite(r.bound, where + " bound");
  require(r.bound > 0 && 2 * r.bound <= w.width() && r.bound < w.height,
          where + ": bound " + std::to_string(r.bound) + " does not fit a " +
              std::to_string(w.width()) + " x " + std::to_string(w.height) + " m world");
  validate_body(r.root, where + " root", false);
  std::set<std::string> names{"root"};
  for (size_t i = 0; i < r.limbs.size(); ++i) {
    const LimbDef& l = r.limbs[i];
    const std::string lw = where + " limb '" + l.body.name + "'";
    require(!l.body.name.empty(), where + ": limb " + std::to_string(i) + " has no name");
    require(l.body.name.find(':') == std::string::npos, lw + ": names may not contain ':'");
    require(names.count(l.body.name) == 0, lw + ": duplicate body name");
    require(names.count(l.joint.parent) == 1,
            lw + ": parent '" + l.joint.parent + "' is not the root or an earlier limb");
    names.insert(l.body.name);
    validate_body(l.body, lw, false);
    const JointDef& j = l.joint;
    for (double v : {j.angle, j.anchor_parent.x, j.anchor_parent.y, j.anchor_limb.x,
                     j.anchor_limb.y, j.lower, j.upper})
      require_finite(v, lw + " joint values");
    require(j.lower <= j.upper, lw + ": joint lower limit exceeds upper limit");
    require_nonnegative(j.speed, lw + " joint speed");
    require_nonnegative(j.max_torque, lw + " joint max_torque");
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
  return static_cast<int>(std::lround(lcd_base * wh_ratio));
}

void validate(const WorldDef& w) {
  require(std::isfinite(w.height) && w.height > 0, "height must be > 0");
  require(std::isfinite(w.wh_ratio) && w.wh_ratio > 0, "wh_ratio must be > 0");
  require_finite(w.gravity.x, "gravity.x");
  require_finite(w.gravity.y, "gravity.y");
  require(w.fps >= 1, "fps must be >= 1");
  require(w.substeps >= 0, "substeps must be >= 0 (0 chooses 3 below 30 fps, else 1)");
  require(w.velocity_iterations >= 1 && w.position_iterations >= 1, "iterations must be >= 1");
  require(w.ep_len >= 1, "ep_len must be >= 1");
  require(w.lcd_base >= 1 && w.lcd_base <= max_frame_side,
          "lcd_base must be in [1, " + std::to_string(max_frame_side) + "]");
  require(w.frame_cols() >= 1 && w.frame_cols() <= max_frame_side,
          "frame width round(lcd_base * wh_ratio) = " + std::to_string(w.frame_cols()) +
              " must be in [1, " + std::to_string(max_frame_side) + "]");
  for (size_t i = 0; i < w.robots.size(); ++i) validate_robot(w.robots[i], w, static_cast<int>(i));
  for (size_t i = 0; i < w.objects.size(); ++i) {
    const ObjectDef& o = w.objects[i];
    const std::string where = "object " + std::to_string(i);
    validate_body(o.body, where, true);
    const double s = o.size();
    const double top = w.robots.empty() ? w.height - s : w.object_max_y;
    require(2 * s <= w.width() && s <= top,
            where + ": size " + std::to_string(s) + " does not fit the world's start area");
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
