// The spec's robots and its 18 envs. Lengths the original testbed wrote as pixels / 30 stay fractions.
#include "boxlcd/catalogue.hpp"

#include <algorithm>

#include "boxlcd/error.hpp"

namespace boxlcd {
namespace {

constexpr double px = 1.0 / 30.0;
constexpr uint16_t walls_only = 0x0001;
constexpr uint16_t walls_and_objects = 0x0011;

BodyDef box(const std::string& name, double hx, double hy, uint16_t mask) {
  BodyDef b;
  b.name = name;
  b.shape = Shape::Box;
  b.half_extents = {hx, hy};
  b.mask = mask;
  return b;
}

BodyDef circle(const std::string& name, double r, uint16_t mask) {
  BodyDef b;
  b.name = name;
  b.shape = Shape::Circle;
  b.radius = r;
  b.mask = mask;
  return b;
}

BodyDef polygon(const std::string& name, double scale, std::vector<Vec2> points, uint16_t mask) {
  BodyDef b;
  b.name = name;
  b.shape = Shape::Polygon;
  for (auto& p : points) b.vertices.push_back({p.x * scale, p.y * scale});
  b.mask = mask;
  return b;
}

LimbDef limb(BodyDef body, const std::string& parent, double angle, Vec2 anchor_parent,
             Vec2 anchor_limb, double lower, double upper, bool limited = true) {
  JointDef j;
  j.parent = parent;
  j.angle = angle;
  j.anchor_parent = anchor_parent;
  j.anchor_limb = anchor_limb;
  j.lower = lower;
  j.upper = upper;
  j.limited = limited;
  return {std::move(body), j};
}

ObjectDef object(Shape shape, double size, double density, double friction = 0.5,
                 double restitution = 0.0, double linear_damping = 0.0,
                 double angular_damping = 0.0) {
  ObjectDef o;
  BodyDef& b = o.body;
  b.shape = shape;
  b.radius = size;
  b.half_extents = {size, size};
  b.density = density;
  b.friction = friction;
  b.restitution = restitution;
  b.linear_damping = linear_damping;
  b.angular_damping = angular_damping;
  b.category = 0x0110;
  b.mask = 0xFFFF;
  return o;
}

ObjectDef cube() { return object(Shape::Box, 0.4, 0.5, 0.5, 0.0, 1.0, 0.2); }
ObjectDef ball() { return object(Shape::Circle, 0.5, 0.2, 0.5, 0.8); }
ObjectDef bounce_ball() { return object(Shape::Circle, 0.5, 0.1, 0.5, 0.8); }
ObjectDef random_shape() { return object(Shape::Random, 0.5, 0.1, 0.5, 0.8); }

WorldDef world(const std::string& name, int ep_len, double wh_ratio, int lcd_base,
               std::vector<RobotDef> robots, std::vector<ObjectDef> objects) {
  WorldDef w;
  w.name = name;
  w.ep_len = ep_len;
  w.wh_ratio = wh_ratio;
  w.lcd_base = lcd_base;
  w.robots = std::move(robots);
  w.objects = std::move(objects);
  return w;
}

std::vector<WorldDef> all_envs() {
  const std::vector<ObjectDef> none;
  return {
      world("Dropbox", 25, 1.0, 16, {}, {object(Shape::Box, 0.7, 0.1)}),
      world("Bounce", 50, 1.0, 16, {}, {bounce_ball()}),
      world("Bounce2", 50, 1.0, 16, {}, {bounce_ball(), bounce_ball()}),
      world("Object2", 50, 1.0, 16, {}, {random_shape(), random_shape()}),
      world("Object3", 50, 1.0, 16, {}, {random_shape(), random_shape(), random_shape()}),
      world("Urchin", 100, 2.0, 16, {urchin()}, none),
      world("Luxo", 100, 2.0, 16, {luxo()}, none),
      world("UrchinCube", 150, 1.5, 16, {urchin()}, {cube()}),
      world("LuxoCube", 150, 1.5, 16, {luxo()}, {cube()}),
      world("UrchinBall", 150, 1.5, 16, {urchin()}, {ball()}),
      world("LuxoBall", 150, 1.5, 16, {luxo()}, {ball()}),
      world("UrchinCubes", 100, 2.0, 16, {urchin()}, {cube(), cube(), cube()}),
      world("LuxoCubes", 100, 2.0, 16, {luxo()}, {cube(), cube(), cube()}),
      world("UrchinBalls", 100, 2.0, 16, {urchin()}, {ball(), ball(), ball()}),
      world("LuxoBalls", 100, 2.0, 16, {luxo()}, {ball(), ball(), ball()}),
      world("Crab", 100, 2.0, 32, {crab()}, none),
      world("CrabCube", 100, 2.0, 32, {crab()}, {object(Shape::Box, 0.4, 1.0, 1.0)}),
      world("SpiderCube", 100, 2.0, 32, {spider()}, {object(Shape::Box, 0.3, 0.1, 1.0)}),
  };
}

}  // namespace

RobotDef urchin() {
  RobotDef r;
  r.type = "urchin";
  r.bound = 1.25;
  r.rand_angle = true;
  r.root = circle("root", 6.4 * px, walls_only);
  const Vec2 a{0, 0}, b{0, 20 * px};
  r.limbs = {
      limb(box("aleg", 4 * px, 20 * px, walls_and_objects), "root", 0.0, a, b, -1, 1),
      limb(box("bleg", 4 * px, 20 * px, walls_and_objects), "root", 2.0, a, b, -1, 1),
      limb(box("cleg", 4 * px, 20 * px, walls_and_objects), "root", 4.2, a, b, -1, 1),
  };
  return r;
}

RobotDef luxo() {
  RobotDef r;
  r.type = "luxo";
  r.bound = 2.0;
  r.root = polygon("root", 0.8 * px, {{-15, 15}, {20, 25}, {20, -25}, {-15, -15}},
                   walls_and_objects);
  r.root.density = 0.1;
  r.limbs = {
      limb(box("lhip", 4 * px, 12 * px, walls_and_objects), "root", -0.5, {-5 * px, -10 * px},
           {0, 12 * px}, -0.1, 0.1),
      limb(box("lknee", 3.2 * px, 10 * px, walls_and_objects), "lhip", 0.5, {0, -12 * px},
           {0, 10 * px}, -0.9, 0.9),
      limb(box("lfoot", 24 * px, 4 * px, walls_and_objects), "lknee", 0.0, {0, -12 * px},
           {0, 4 * px}, -0.5, 0.9),
  };
  return r;
}

RobotDef crab() {
  RobotDef r;
  r.type = "crab";
  r.bound = 2.0;
  r.root = polygon("root", 0.9 * px, {{-25, 0}, {-20, 16}, {20, 16}, {25, 0}, {20, -16}, {-20, -16}},
                   walls_only);
  const Vec2 up10{0, 10 * px}, down10{0, -10 * px}, up8{0, 8 * px}, down8{0, -8 * px};
  auto arm = [&](const std::string& name) { return box(name, 4 * px, 10 * px, walls_and_objects); };
  auto claw = [&](const std::string& name) { return box(name, 2 * px, 8 * px, walls_and_objects); };
  r.limbs = {
      limb(box("lhip", 4 * px, 10 * px, walls_only), "root", -0.5, {-20 * px, -12 * px}, up10, -1.5, 0.5),
      limb(box("rhip", 4 * px, 10 * px, walls_only), "root", 0.5, {20 * px, -12 * px}, up10, 0.5, 1.5),
      limb(box("lknee", 3.2 * px, 10 * px, walls_only), "lhip", 0.5, down10, up10, -0.5, 0.5),
      limb(box("rknee", 3.2 * px, 10 * px, walls_only), "rhip", -0.5, down10, up10, -0.5, 0.5),
      limb(arm("lshoulder"), "root", 2.0, {-20 * px, 12 * px}, down10, -3, 3, false),
      limb(arm("rshoulder"), "root", -2.0, {20 * px, 12 * px}, down10, -3, 3, false),
      limb(arm("lelbow"), "lshoulder", 3.0, up10, down10, -2, 2, false),
      limb(arm("relbow"), "rshoulder", -3.0, up10, down10, -2, 2, false),
      limb(claw("llclaw0"), "lelbow", 2.25, up10, down8, -2, 1),
      limb(claw("lrclaw0"), "lelbow", -2.25, up10, down8, -1, 2),
      limb(claw("rlclaw0"), "relbow", 2.25, up10, down8, -2, 1),
      limb(claw("rrclaw0"), "relbow", -2.25, up10, down8, -1, 2),
      limb(claw("llclaw1"), "llclaw0", 3.75, up8, down8, 0, 0),
      limb(claw("lrclaw1"), "lrclaw0", -3.75, up8, down8, 0, 0),
      limb(claw("rlclaw1"), "rlclaw0", 3.75, up8, down8, 0, 0),
      limb(claw("rrclaw1"), "rrclaw0", -3.75, up8, down8, 0, 0),
  };
  return r;
}

RobotDef spider() {
  RobotDef r;
  r.type = "spider";
  r.bound = 1.3;
  r.root = circle("root", 10 * px, walls_and_objects);
  const Vec2 up10{0, 10 * px}, down10{0, -10 * px};
  auto leg = [&](const std::string& name, double hx, double hy, uint16_t mask) {
    return box(name, hx * px, hy * px, mask);
  };
  r.limbs = {
      limb(leg("lhip", 3, 10, walls_only), "root", -1.0, {-8 * px, -8 * px}, up10, -1.5, 0.5),
      limb(leg("rhip", 3, 10, walls_only), "root", 1.0, {8 * px, -8 * px}, up10, 0.5, 1.5),
      limb(leg("lknee", 2.4, 10, walls_only), "lhip", 0.5, down10, up10, -0.5, 0.5),
      limb(leg("rknee", 2.4, 10, walls_only), "rhip", -0.5, down10, up10, -0.5, 0.5),
      limb(leg("ulhip", 3, 13, walls_and_objects), "root", 1.5, {-8 * px, 8 * px}, down10, -1.5, 0.5),
      limb(leg("urhip", 3, 13, walls_and_objects), "root", -1.5, {8 * px, 8 * px}, down10, 0.5, 1.5),
      limb(leg("ulknee", 3, 13, walls_and_objects), "ulhip", -0.5, up10, up10, -0.5, 0.5),
      limb(leg("urknee", 3, 13, walls_and_objects), "urhip", 0.5, up10, up10, -0.5, 0.5),
  };
  return r;
}

std::vector<std::string> env_names() {
  std::vector<std::string> names;
  for (const auto& w : all_envs()) names.push_back(w.name);
  return names;
}

WorldDef env_def(const std::string& name) {
  for (auto& w : all_envs())
    if (w.name == name) return w;
  std::string known;
  for (const auto& n : env_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown env '" + name + "'; built-in envs: " + known);
}

}  // namespace boxlcd
