#include "bare_world.hpp"

#include <algorithm>
#include <cmath>

namespace boxlcd_bench {
namespace {

using boxlcd::BodyDef;
using boxlcd::BodySlot;
using boxlcd::Shape;

constexpr double pi = 3.14159265358979323846;

struct Pose {
  double x = 0, y = 0, angle = 0;
};

b2Vec2 rotate(double angle, const boxlcd::Vec2& v) {
  const double c = std::cos(angle), s = std::sin(angle);
  return b2Vec2(static_cast<float>(c * v.x - s * v.y), static_cast<float>(s * v.x + c * v.y));
}

const BodyDef& body_def(const boxlcd::WorldDef& def, const BodySlot& s) {
  if (s.object >= 0) return def.objects[s.object].body;
  const boxlcd::RobotDef& r = def.robots[s.robot];
  return s.limb < 0 ? r.root : r.limbs[s.limb].body;
}

double joint_angle(const boxlcd::WorldDef& def, const BodySlot& s) {
  return s.limb < 0 ? 0.0 : def.robots[s.robot].limbs[s.limb].joint.angle;
}

void add_fixture(b2Body* body, const BodyDef& d, Shape shape) {
  b2CircleShape circle;
  b2PolygonShape polygon;
  b2FixtureDef fd;
  if (shape == Shape::Circle) {
    circle.m_radius = static_cast<float>(d.radius);
    fd.shape = &circle;
  } else if (shape == Shape::Polygon) {
    b2Vec2 v[b2_maxPolygonVertices];
    const int n = static_cast<int>(d.vertices.size());
    for (int i = 0; i < n; ++i) v[i].Set(static_cast<float>(d.vertices[i].x), static_cast<float>(d.vertices[i].y));
    polygon.Set(v, n);
    fd.shape = &polygon;
  } else {
    polygon.SetAsBox(static_cast<float>(d.half_extents.x), static_cast<float>(d.half_extents.y));
    fd.shape = &polygon;
  }
  fd.density = static_cast<float>(d.density);
  fd.friction = static_cast<float>(d.friction);
  fd.restitution = static_cast<float>(d.restitution);
  fd.filter.categoryBits = d.category;
  fd.filter.maskBits = d.mask;
  body->CreateFixture(&fd);
}

}  // namespace

BareWorld::BareWorld(const boxlcd::WorldDef& def, const boxlcd::Layout& layout, uint64_t seed)
    : substeps(def.substeps_per_step()),
      dt(static_cast<float>(1.0 / (def.fps * def.substeps_per_step()))),
      velocity_iterations(def.velocity_iterations),
      position_iterations(def.position_iterations),
      def_(def),
      layout_(layout),
      world_(std::make_unique<b2World>(b2Vec2(static_cast<float>(def.gravity.x), static_cast<float>(def.gravity.y)))),
      rng_(seed) {
  const float w = static_cast<float>(def.width()), h = static_cast<float>(def.height);
  b2BodyDef bd;
  b2Body* walls = world_->CreateBody(&bd);
  b2EdgeShape edge;
  if (def.walls) {
    const b2Vec2 corners[4] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
    for (int i = 0; i < 4; ++i) {
      edge.SetTwoSided(corners[i], corners[(i + 1) % 4]);
      walls->CreateFixture(&edge, 0);
    }
  } else {
    edge.SetTwoSided(b2Vec2(-1000.0f, 0), b2Vec2(static_cast<float>(def.width() + 1000.0), 0));
    walls->CreateFixture(&edge, 0);
  }
  reset();
}

void BareWorld::reset() {
  const double w = def_.width(), h = def_.height;
  const size_t n = layout_.bodies.size();
  std::vector<Pose> poses(n);
  std::vector<Shape> shapes(n);
  for (size_t i = 0; i < n; ++i) {
    const BodySlot& s = layout_.bodies[i];
    shapes[i] = body_def(def_, s).shape;
    if (s.robot < 0) continue;
    const boxlcd::RobotDef& r = def_.robots[s.robot];
    if (s.limb < 0) {
      const double x = rng_.uniform(r.bound, w - r.bound);
      poses[i] = {x, r.bound, r.rand_angle ? rng_.uniform(-pi, pi) : 0.0};
    } else {
      const boxlcd::JointDef& j = r.limbs[s.limb].joint;
      const Pose& parent = poses[s.parent];
      const double angle = poses[s.root].angle + j.angle;
      const b2Vec2 a = rotate(parent.angle, j.anchor_parent), b = rotate(angle, j.anchor_limb);
      poses[i] = {parent.x + a.x - b.x, parent.y + a.y - b.y, angle};
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const BodySlot& s = layout_.bodies[i];
    if (s.object < 0) continue;
    const boxlcd::ObjectDef& o = def_.objects[s.object];
    if (o.body.shape == Shape::Random) shapes[i] = rng_.coin() ? Shape::Circle : Shape::Box;
    const double size = o.size();
    const double x = rng_.uniform(size, w - size);
    const double y = rng_.uniform(size, def_.robots.empty() ? h - size : def_.object_max_y);
    poses[i] = {x, y, o.rand_angle ? rng_.uniform(-pi, pi) : 0.0};
  }

  for (b2Body* b : bodies_) world_->DestroyBody(b);
  bodies_.clear();
  joints_.clear();
  for (size_t i = 0; i < n; ++i) {
    const BodyDef& d = body_def(def_, layout_.bodies[i]);
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    bd.position.Set(static_cast<float>(poses[i].x), static_cast<float>(poses[i].y));
    bd.angle = static_cast<float>(poses[i].angle);
    bd.linearDamping = static_cast<float>(d.linear_damping);
    bd.angularDamping = static_cast<float>(d.angular_damping);
    b2Body* body = world_->CreateBody(&bd);
    add_fixture(body, d, shapes[i]);
    bodies_.push_back(body);
  }
  for (int limb : layout_.joint_body) {
    const BodySlot& s = layout_.bodies[limb];
    const boxlcd::JointDef& j = def_.robots[s.robot].limbs[s.limb].joint;
    b2RevoluteJointDef jd;
    jd.bodyA = bodies_[s.parent];
    jd.bodyB = bodies_[limb];
    jd.localAnchorA.Set(static_cast<float>(j.anchor_parent.x), static_cast<float>(j.anchor_parent.y));
    jd.localAnchorB.Set(static_cast<float>(j.anchor_limb.x), static_cast<float>(j.anchor_limb.y));
    jd.referenceAngle = static_cast<float>(j.angle - joint_angle(def_, layout_.bodies[s.parent]));
    jd.enableLimit = j.limited;
    jd.lowerAngle = static_cast<float>(j.lower);
    jd.upperAngle = static_cast<float>(j.upper);
    jd.enableMotor = true;
    jd.maxMotorTorque = static_cast<float>(j.max_torque);
    jd.motorSpeed = 0.0f;
    joints_.push_back(static_cast<b2RevoluteJoint*>(world_->CreateJoint(&jd)));
  }
}

void BareWorld::apply_action(const float* action) {
  for (size_t k = 0; k < layout_.action_joint.size(); ++k) {
    const int j = layout_.action_joint[k];
    const BodySlot& s = layout_.bodies[layout_.joint_body[j]];
    const boxlcd::JointDef& jd = def_.robots[s.robot].limbs[s.limb].joint;
    const double a = std::clamp(static_cast<double>(action[k]), -1.0, 1.0);
    const double sign = a > 0 ? 1.0 : (a < 0 ? -1.0 : 0.0);
    joints_[j]->SetMotorSpeed(static_cast<float>(jd.speed * (def_.use_speed ? a : sign)));
    joints_[j]->SetMaxMotorTorque(static_cast<float>(jd.max_torque * (def_.use_speed ? 1.0 : std::abs(a))));
  }
}

void BareWorld::state(float* full_state) const {
  for (size_t k = 0; k < layout_.state.size(); ++k) {
    const boxlcd::StateEntry& e = layout_.state[k];
    const b2Body* b = bodies_[e.body];
    double v = 0.0;
    switch (e.component) {
      case boxlcd::Component::X: v = 2.0 * b->GetPosition().x / def_.width() - 1.0; break;
      case boxlcd::Component::Y: v = 2.0 * b->GetPosition().y / def_.height - 1.0; break;
      case boxlcd::Component::Cos: v = std::cos(static_cast<double>(b->GetAngle())); break;
      case boxlcd::Component::Sin: v = std::sin(static_cast<double>(b->GetAngle())); break;
    }
    full_state[k] = static_cast<float>(v);
  }
}

}  // namespace boxlcd_bench
