// Building, resetting, stepping, reading and drawing one Box2D world.
#include "world.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <utility>

namespace boxlcd {
namespace {

constexpr double pi = 3.14159265358979323846;

const uint8_t background_rgb[3] = {235, 235, 235};
const uint8_t object_rgb[3] = {70, 110, 210};
const uint8_t robot_rgb[3] = {210, 70, 70};

b2Vec2 rotate(double angle, const Vec2& v) {
  const double c = std::cos(angle), s = std::sin(angle);
  return b2Vec2(static_cast<float>(c * v.x - s * v.y), static_cast<float>(s * v.x + c * v.y));
}

// scale multiplies the definition's sizes (1 but for a Resize edit).
void make_fixture(b2Body* body, const BodyDef& def, Shape shape, double scale = 1.0) {
  b2CircleShape circle;
  b2PolygonShape polygon;
  b2FixtureDef fd;
  switch (shape) {
    case Shape::Circle:
      circle.m_radius = static_cast<float>(def.radius * scale);
      fd.shape = &circle;
      break;
    case Shape::Box:
    case Shape::Random:
      polygon.SetAsBox(static_cast<float>(def.half_extents.x * scale), static_cast<float>(def.half_extents.y * scale));
      fd.shape = &polygon;
      break;
    case Shape::Polygon: {
      b2Vec2 v[b2_maxPolygonVertices];
      const int n = static_cast<int>(def.vertices.size());
      for (int i = 0; i < n; ++i)
        v[i].Set(static_cast<float>(def.vertices[i].x * scale), static_cast<float>(def.vertices[i].y * scale));
      polygon.Set(v, n);
      fd.shape = &polygon;
      break;
    }
  }
  fd.density = static_cast<float>(def.density);
  fd.friction = static_cast<float>(def.friction);
  fd.restitution = static_cast<float>(def.restitution);
  fd.filter.categoryBits = def.category;
  fd.filter.maskBits = def.mask;
  body->CreateFixture(&fd);
}

}  // namespace

void warm_up_box2d() {
  static std::once_flag once;
  std::call_once(once, [] {
    b2World w(b2Vec2(0, -10));
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    b2CircleShape c;
    c.m_radius = 1;
    w.CreateBody(&bd)->CreateFixture(&c, 1);
    w.CreateBody(&bd)->CreateFixture(&c, 1);
    w.Step(0.01f, 1, 1);
  });
}

// Stops contacts between chosen pairs of bodies, on top of Box2D's own category/mask rule.
class World::PairFilter : public b2ContactFilter {
 public:
  bool ShouldCollide(b2Fixture* a, b2Fixture* b) override {
    return b2ContactFilter::ShouldCollide(a, b) && off.count(ordered(a->GetBody(), b->GetBody())) == 0;
  }
  static std::pair<const b2Body*, const b2Body*> ordered(const b2Body* a, const b2Body* b) {
    return std::less<const b2Body*>()(a, b) ? std::make_pair(a, b) : std::make_pair(b, a);
  }
  std::set<std::pair<const b2Body*, const b2Body*>> off;
};

World::~World() = default;

World::World(const WorldDef& def, const Layout& layout) : def_(def), layout_(layout) {
  for (const BodySlot& slot : layout.bodies) shapes_.push_back(body_def_of(slot).shape);
}

const BodyDef& World::body_def(int slot) const { return body_def_of(layout_.bodies[slot]); }

const BodyDef& World::body_def_of(const BodySlot& s) const {
  if (s.object >= 0) return def_.objects[s.object].body;
  const RobotDef& r = def_.robots[s.robot];
  return s.limb < 0 ? r.root : r.limbs[s.limb].body;
}

double World::joint_angle_of(int slot) const {
  const BodySlot& s = layout_.bodies[slot];
  return s.limb < 0 ? 0.0 : def_.robots[s.robot].limbs[s.limb].joint.angle;
}

void World::reset_random() {
  const double w = def_.width(), h = def_.height;
  std::vector<Pose> poses(layout_.bodies.size());
  for (size_t i = 0; i < poses.size(); ++i) {
    const BodySlot& s = layout_.bodies[i];
    if (s.robot < 0) continue;
    const RobotDef& r = def_.robots[s.robot];
    if (s.limb < 0) {
      const double x = rng_.uniform(r.bound, w - r.bound);
      const double angle = r.rand_angle ? rng_.uniform(-pi, pi) : 0.0;
      poses[i] = {x, r.bound, angle};
    } else {
      // The limb's anchor meets its parent's anchor, at root angle + joint angle.
      const JointDef& j = r.limbs[s.limb].joint;
      const Pose& parent = poses[s.parent];
      const double angle = poses[s.root].angle + j.angle;
      const b2Vec2 a = rotate(parent.angle, j.anchor_parent);
      const b2Vec2 b = rotate(angle, j.anchor_limb);
      poses[i] = {parent.x + a.x - b.x, parent.y + a.y - b.y, angle};
    }
  }
  for (size_t i = 0; i < poses.size(); ++i) {
    const BodySlot& s = layout_.bodies[i];
    if (s.object < 0) continue;
    const ObjectDef& o = def_.objects[s.object];
    if (o.body.shape == Shape::Random) shapes_[i] = rng_.coin() ? Shape::Circle : Shape::Box;
    const double size = o.size();
    const double x = rng_.uniform(size, w - size);
    const double y = rng_.uniform(size, def_.robots.empty() ? h - size : def_.object_max_y);
    const double angle = o.rand_angle ? rng_.uniform(-pi, pi) : 0.0;
    poses[i] = {x, y, angle};
  }
  build(poses);
}

void World::reset_to_state(const float* full_state) {
  std::vector<Pose> poses(layout_.bodies.size());
  std::vector<double> c(poses.size(), 1.0), s(poses.size(), 0.0);
  for (size_t k = 0; k < layout_.state.size(); ++k) {
    const StateEntry& e = layout_.state[k];
    const double v = full_state[k];
    switch (e.component) {
      case Component::X: poses[e.body].x = (v + 1.0) * 0.5 * def_.width(); break;
      case Component::Y: poses[e.body].y = (v + 1.0) * 0.5 * def_.height; break;
      case Component::Cos: c[e.body] = v; break;
      case Component::Sin: s[e.body] = v; break;
    }
  }
  for (size_t i = 0; i < poses.size(); ++i) {
    double angle = std::atan2(s[i], c[i]);
    const BodySlot& slot = layout_.bodies[i];
    if (slot.limb >= 0) {
      // Unwrap so the joint starts within pi of its reference angle, not 2 pi away.
      const double parent = poses[slot.parent].angle;
      const double reference = joint_angle_of(static_cast<int>(i)) - joint_angle_of(slot.parent);
      angle = parent + reference + std::remainder(angle - parent - reference, 2 * pi);
    }
    poses[i].angle = angle;
  }
  build(poses);
}

void World::make_empty_world() {
  filter_.reset();  // after the world it was installed in is gone (it is, below)
  world_ = std::make_unique<b2World>(b2Vec2(static_cast<float>(def_.gravity.x), static_cast<float>(def_.gravity.y)));
  const float w = static_cast<float>(def_.width()), h = static_cast<float>(def_.height);
  b2BodyDef bd;
  b2Body* walls = walls_ = world_->CreateBody(&bd);
  b2EdgeShape edge;
  if (def_.walls) {
    const b2Vec2 corners[4] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
    for (int i = 0; i < 4; ++i) {
      edge.SetTwoSided(corners[i], corners[(i + 1) % 4]);
      walls->CreateFixture(&edge, 0);
    }
  } else {
    edge.SetTwoSided(b2Vec2(static_cast<float>(-floor_overhang), 0),
                     b2Vec2(static_cast<float>(def_.width() + floor_overhang), 0));
    walls->CreateFixture(&edge, 0);
  }
}

void World::build(const std::vector<Pose>& poses) {
  // A new b2World each episode: reusing one would carry its broad-phase tree (and so the
  // order contacts are solved in) from episode to episode, and the same seed would no
  // longer give the same episode.
  make_empty_world();
  bodies_.clear();
  joints_.clear();
  hidden_.assign(poses.size(), 0);
  scales_.assign(poses.size(), 1.0);
  kinds_ = shapes_;
  for (size_t i = 0; i < poses.size(); ++i) {
    const BodyDef& d = body_def(static_cast<int>(i));
    b2BodyDef bd;
    bd.type = b2_dynamicBody;
    bd.position.Set(static_cast<float>(poses[i].x), static_cast<float>(poses[i].y));
    bd.angle = static_cast<float>(poses[i].angle);
    bd.linearDamping = static_cast<float>(d.linear_damping);
    bd.angularDamping = static_cast<float>(d.angular_damping);
    b2Body* body = world_->CreateBody(&bd);
    make_fixture(body, d, shapes_[i]);
    bodies_.push_back(body);
  }
  for (int limb_slot : layout_.joint_body) {
    const BodySlot& s = layout_.bodies[limb_slot];
    const JointDef& j = def_.robots[s.robot].limbs[s.limb].joint;
    b2RevoluteJointDef jd;
    jd.bodyA = bodies_[s.parent];
    jd.bodyB = bodies_[limb_slot];
    jd.localAnchorA.Set(static_cast<float>(j.anchor_parent.x), static_cast<float>(j.anchor_parent.y));
    jd.localAnchorB.Set(static_cast<float>(j.anchor_limb.x), static_cast<float>(j.anchor_limb.y));
    jd.referenceAngle = static_cast<float>(j.angle - joint_angle_of(s.parent));
    jd.enableLimit = j.limited;
    jd.lowerAngle = static_cast<float>(j.lower);
    jd.upperAngle = static_cast<float>(j.upper);
    jd.enableMotor = true;
    jd.maxMotorTorque = static_cast<float>(j.max_torque);
    jd.motorSpeed = 0.0f;
    joints_.push_back(static_cast<b2RevoluteJoint*>(world_->CreateJoint(&jd)));
  }
  episode_step = 0;
}

void World::apply_action(const float* action) {
  for (size_t k = 0; k < layout_.action_joint.size(); ++k) {
    const int j = layout_.action_joint[k];
    const BodySlot& s = layout_.bodies[layout_.joint_body[j]];
    const JointDef& jd = def_.robots[s.robot].limbs[s.limb].joint;
    const double a = std::clamp(static_cast<double>(action[k]), -1.0, 1.0);
    if (def_.use_speed) {
      joints_[j]->SetMotorSpeed(static_cast<float>(jd.speed * a));
      joints_[j]->SetMaxMotorTorque(static_cast<float>(jd.max_torque));
    } else {
      const double sign = a > 0 ? 1.0 : (a < 0 ? -1.0 : 0.0);
      joints_[j]->SetMotorSpeed(static_cast<float>(jd.speed * sign));
      joints_[j]->SetMaxMotorTorque(static_cast<float>(jd.max_torque * std::abs(a)));
    }
  }
}

void World::step_physics() {
  const int substeps = def_.substeps_per_step();
  const float dt = static_cast<float>(1.0 / (def_.fps * substeps));
  for (int i = 0; i < substeps; ++i)
    world_->Step(dt, def_.velocity_iterations, def_.position_iterations);
  ++episode_step;
}

void World::write_state(float* full_state, float* proprio) const {
  const double w = def_.width(), h = def_.height;
  for (size_t k = 0; k < layout_.state.size(); ++k) {
    const StateEntry& e = layout_.state[k];
    const b2Body* b = bodies_[e.body];
    double v = 0.0;
    switch (e.component) {
      case Component::X: v = 2.0 * b->GetPosition().x / w - 1.0; break;
      case Component::Y: v = 2.0 * b->GetPosition().y / h - 1.0; break;
      case Component::Cos: v = std::cos(static_cast<double>(b->GetAngle())); break;
      case Component::Sin: v = std::sin(static_cast<double>(b->GetAngle())); break;
    }
    full_state[k] = static_cast<float>(v);
  }
  if (layout_.proprio.empty()) proprio[0] = 0.0f;
  for (size_t k = 0; k < layout_.proprio.size(); ++k) proprio[k] = full_state[layout_.proprio[k]];
}

template <class Emit>
void World::spans_of_bodies(int rows, int cols, RasterRule rule, Emit&& emit) {
  const double sx = cols / def_.width(), sy = rows / def_.height;
  // walls=0: the view scrolls to keep the first robot's root centred.
  double x_offset = 0.0;
  if (!def_.walls && !def_.robots.empty()) {
    const int root = static_cast<int>(def_.objects.size());
    x_offset = bodies_[root]->GetPosition().x - def_.width() / 2;
  }
  for (size_t i = 0; i < bodies_.size(); ++i) {
    if (hidden_[i]) continue;
    const b2Body* body = bodies_[i];
    const b2Shape* shape = body->GetFixtureList()->GetShape();
    spans_.clear();
    if (shape->GetType() == b2Shape::e_circle) {
      const b2Vec2 c = body->GetPosition();  // circles sit at the body origin
      const double r = shape->m_radius;
      const double x = c.x - x_offset, y = c.y;
      ellipse_spans((x - r) * sx, (y - r) * sy, (x + r) * sx, (y + r) * sy, rows, cols, rule, spans_);
    } else {
      const auto* poly = static_cast<const b2PolygonShape*>(shape);
      double xs[b2_maxPolygonVertices], ys[b2_maxPolygonVertices];
      const b2Transform& xf = body->GetTransform();
      for (int k = 0; k < poly->m_count; ++k) {
        const b2Vec2 v = b2Mul(xf, poly->m_vertices[k]);  // float, as the original testbed's pybox2d did
        xs[k] = (v.x - x_offset) * sx;
        ys[k] = v.y * sy;
      }
      polygon_spans(xs, ys, poly->m_count, rows, cols, rule, spans_);
    }
    emit(spans_, layout_.bodies[i].object >= 0 ? object_rgb : robot_rgb);
  }
}

void World::render(uint8_t* packed_frame) {
  PackedFrame frame{packed_frame, def_.frame_rows(), def_.frame_cols()};
  frame.clear();
  spans_of_bodies(frame.rows, frame.cols, def_.raster,
                  [&](const std::vector<Span>& spans, const uint8_t*) { frame.fill(spans); });
}

void World::render_rgb(int rows, int cols, uint8_t* rgb) {
  RgbImage image{rgb, rows, cols};
  image.clear(background_rgb);
  spans_of_bodies(rows, cols, RasterRule::Area,
                  [&](const std::vector<Span>& spans, const uint8_t* colour) { image.fill(spans, colour); });
}

std::vector<int> World::group(int slot) const {
  const BodySlot& s = layout_.bodies[slot];
  if (s.robot < 0) return {slot};
  std::vector<int> out;
  for (size_t i = 0; i < layout_.bodies.size(); ++i)
    if (layout_.bodies[i].robot == s.robot) out.push_back(static_cast<int>(i));
  return out;
}

void World::set_pose(int slot, double x, double y, double angle) {
  // A robot moves rigidly: every body by the transform that takes its root to the pose.
  const b2Body* root = bodies_[slot];
  const b2Vec2 from = root->GetPosition();
  const double turn = angle - root->GetAngle();
  const b2Vec2 to(static_cast<float>((x + 1.0) * 0.5 * def_.width()), static_cast<float>((y + 1.0) * 0.5 * def_.height));
  for (int i : group(slot)) {
    b2Body* b = bodies_[i];
    const b2Vec2 offset = rotate(turn, Vec2{b->GetPosition().x - from.x, b->GetPosition().y - from.y});
    b->SetTransform(to + offset, static_cast<float>(b->GetAngle() + turn));
    b->SetAwake(true);
  }
}

void World::set_collisions(int slot, int other, bool on) {
  if (!filter_) {
    filter_ = std::make_unique<PairFilter>();
    world_->SetContactFilter(filter_.get());
  }
  const std::vector<int> others = other < 0 ? std::vector<int>{} : group(other);
  for (int i : group(slot)) {
    std::vector<const b2Body*> partners;
    if (other < 0) partners.push_back(walls_);
    for (int j : others) partners.push_back(bodies_[j]);
    for (const b2Body* p : partners) {
      const auto pair = PairFilter::ordered(bodies_[i], p);
      if (on) filter_->off.erase(pair); else filter_->off.insert(pair);
    }
    // Existing contacts are filtered again, and new pairs looked for, in the next step.
    for (b2Fixture* f = bodies_[i]->GetFixtureList(); f; f = f->GetNext()) f->Refilter();
    bodies_[i]->SetAwake(true);
  }
}

void World::set_shape(int slot, Shape shape, double size_scale) {
  // The definition's own dimensions where it has this kind of shape (Random has both); else a
  // circle whose radius, or a square whose half-extent, is the object's size.
  const BodyDef& d = body_def(slot);
  BodyDef sized = d;
  const bool has_kind = shape == d.shape || (d.shape == Shape::Random && shape != Shape::Polygon);
  if (!has_kind) {
    const double size = def_.objects[layout_.bodies[slot].object].size();
    sized.radius = size;
    sized.half_extents = {size, size};
  }
  b2Body* body = bodies_[slot];
  body->DestroyFixture(body->GetFixtureList());
  make_fixture(body, sized, shape, size_scale);
  body->SetAwake(true);
  scales_[slot] = size_scale;
  kinds_[slot] = shape;
}

void World::edit(const Edit& e) {
  const std::vector<int> bodies = e.kind == EditKind::Gravity ? std::vector<int>{} : group(e.body);
  switch (e.kind) {
    case EditKind::Pose: set_pose(e.body, e.x, e.y, e.angle); break;
    case EditKind::Velocity:
      for (int i : bodies) {
        bodies_[i]->SetLinearVelocity(b2Vec2(static_cast<float>(e.vx * def_.width() / 2),
                                             static_cast<float>(e.vy * def_.height / 2)));
        bodies_[i]->SetAngularVelocity(static_cast<float>(e.omega));
        bodies_[i]->SetAwake(true);
      }
      break;
    case EditKind::ScaleVelocity:
      for (int i : bodies) {
        b2Body* b = bodies_[i];
        b->SetLinearVelocity(static_cast<float>(e.scale) * b->GetLinearVelocity());
        b->SetAngularVelocity(static_cast<float>(e.scale) * b->GetAngularVelocity());
        b->SetAwake(true);
      }
      break;
    case EditKind::Hide:
    case EditKind::Show:
      for (int i : bodies) hidden_[i] = e.kind == EditKind::Hide;
      break;
    case EditKind::Remove:
      for (int i : bodies) bodies_[i]->SetEnabled(false), hidden_[i] = 1;
      break;
    case EditKind::Add:
      for (int i : bodies) {
        bodies_[i]->SetEnabled(true);
        bodies_[i]->SetLinearVelocity(b2Vec2(0, 0));
        bodies_[i]->SetAngularVelocity(0);
        hidden_[i] = 0;
      }
      set_pose(e.body, e.x, e.y, e.angle);
      break;
    case EditKind::Gravity:
      world_->SetGravity(b2Vec2(static_cast<float>(e.gx), static_cast<float>(e.gy)));
      for (b2Body* b : bodies_) b->SetAwake(true);
      break;
    case EditKind::PassThrough: set_collisions(e.body, e.other, false); break;
    case EditKind::Collide: set_collisions(e.body, e.other, true); break;
    case EditKind::Resize: set_shape(e.body, kinds_[e.body], e.scale); break;
    case EditKind::Reshape: set_shape(e.body, e.shape, scales_[e.body]); break;
  }
}

}  // namespace boxlcd
