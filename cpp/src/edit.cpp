// Edit kinds by name, the checks an edit passes before it touches a world, and edits of several
// envs at once.
#include "boxlcd/edit.hpp"

#include <box2d/b2_common.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "boxlcd/batch.hpp"
#include "boxlcd/error.hpp"
#include "boxlcd/layout.hpp"

namespace boxlcd {
namespace {

constexpr EditKind all_kinds[] = {EditKind::Pose,   EditKind::Velocity,    EditKind::ScaleVelocity, EditKind::Hide,
                                  EditKind::Show,   EditKind::Remove,      EditKind::Add,           EditKind::Gravity,
                                  EditKind::PassThrough, EditKind::Collide, EditKind::Resize,       EditKind::Reshape};

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

// Short and exact enough for a message: 1e+300, not three hundred digits.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// what: "name" must be finite and within [-limit, limit] (units), naming the field.
void require_within(double v, double limit, const std::string& what, const std::string& name,
                    const std::string& units) {
  require(std::isfinite(v), what + ": " + name + " must be finite, got " + num(v));
  require(std::abs(v) <= limit, what + ": " + name + " must be in [" + num(-limit) + ", " + num(limit) + "]" + units +
                                    ", got " + num(v));
}

std::string body_text(const Layout& layout, int slot) {
  return slot < 0 ? "the ground and walls" : "body " + std::to_string(slot) + " (" + layout.bodies[slot].name + ")";
}

// A body's shape size after Resize: its definition's size (Random: either shape's) times scale.
double definition_size(const Layout& layout, const WorldDef& def, int slot) {
  return def.objects[layout.bodies[slot].object].size();
}

double substep_rate(const WorldDef& def) { return static_cast<double>(def.fps) * def.substeps_per_step(); }

}  // namespace

double max_speed(const WorldDef& def) { return b2_maxTranslation * substep_rate(def); }
double max_angular_speed(const WorldDef& def) { return b2_maxRotation * substep_rate(def); }

const std::vector<std::string>& edit_values(EditKind kind) {
  static const std::vector<std::string> none, pose{"x", "y", "angle"}, velocity{"vx", "vy", "omega"},
      scale{"scale"}, gravity{"gx", "gy"}, shape{"shape"};
  switch (kind) {
    case EditKind::Pose:
    case EditKind::Add: return pose;
    case EditKind::Velocity: return velocity;
    case EditKind::ScaleVelocity:
    case EditKind::Resize: return scale;
    case EditKind::Gravity: return gravity;
    case EditKind::Reshape: return shape;
    default: return none;
  }
}

const char* edit_kind_name(EditKind kind) {
  switch (kind) {
    case EditKind::Pose: return "pose";
    case EditKind::Velocity: return "velocity";
    case EditKind::ScaleVelocity: return "scale_velocity";
    case EditKind::Hide: return "hide";
    case EditKind::Show: return "show";
    case EditKind::Remove: return "remove";
    case EditKind::Add: return "add";
    case EditKind::Gravity: return "gravity";
    case EditKind::PassThrough: return "pass_through";
    case EditKind::Collide: return "collide";
    case EditKind::Resize: return "resize";
    case EditKind::Reshape: return "reshape";
  }
  return "?";
}

EditKind edit_kind(const std::string& name) {
  std::string known;
  for (EditKind k : all_kinds) {
    if (name == edit_kind_name(k)) return k;
    known += (known.empty() ? "" : ", ") + std::string(edit_kind_name(k));
  }
  throw Error("unknown edit '" + name + "'; edits: " + known);
}

void check_edit(const Edit& e, const Layout& layout, const WorldDef& def) {
  const std::string what = std::string("edit ") + edit_kind_name(e.kind);
  const int n = static_cast<int>(layout.bodies.size());
  const bool pair = e.kind == EditKind::PassThrough || e.kind == EditKind::Collide;
  if (!pair) require(e.other == -1, what + ": takes no other body, got other " + std::to_string(e.other));
  if (e.kind == EditKind::Gravity) {
    require(e.body == -1, what + ": acts on the whole world and takes no body, got body " + std::to_string(e.body));
    require_within(e.gx, max_gravity, what, "gx", " m/s^2");
    require_within(e.gy, max_gravity, what, "gy", " m/s^2");
    return;
  }
  require(e.body >= 0 && e.body < n, what + ": body must be a body slot in [0, " + std::to_string(n - 1) + "], got " +
                                         std::to_string(e.body));
  const BodySlot& slot = layout.bodies[e.body];
  if (slot.limb >= 0)
    throw Error(what + ": " + body_text(layout, e.body) + " is a limb; edit its robot through its root (" +
                layout.bodies[slot.root].name + ")");
  switch (e.kind) {
    case EditKind::Pose:
    case EditKind::Add: {
      for (Component c : {Component::X, Component::Y}) {
        const StateRange r = state_range(StateEntry{"", e.body, c}, def);
        const double v = c == Component::X ? e.x : e.y;
        const char* name = c == Component::X ? "x" : "y";
        require(std::isfinite(v), what + ": " + name + " must be finite, got " + num(v));
        require(v >= r.lo && v <= r.hi,
                what + ": " + name + " must be in [" + num(r.lo) + ", " + num(r.hi) + "], got " + num(v));
      }
      require_within(e.angle, max_edit_angle, what, "angle", " rad");
      if (def.walls) {
        // As reset_to_state: a body whose box middle is on or beyond a wall is pushed out
        // through it and falls outside the world. Limbs follow their root rigidly, unchecked.
        const BodyDef& body = slot.object >= 0 ? def.objects[slot.object].body : def.robots[slot.robot].root;
        const Vec2 m = box_middle(body, e.angle);
        const double x = (e.x + 1.0) * 0.5 * def.width() + m.x, y = (e.y + 1.0) * 0.5 * def.height + m.y;
        require(x > 0.0 && x < def.width() && y > 0.0 && y < def.height,
                what + ": puts " + body_text(layout, e.body) + " (the middle of its bounding box) at (" + num(x) +
                    ", " + num(y) + ") m, on or beyond the walls of the " + num(def.width()) + " x " +
                    num(def.height) + " m world, which would push it out");
      }
      break;
    }
    case EditKind::Velocity: {
      // Speeds in m/s, as Box2D holds them; the message keeps the caller's units.
      const double speed = max_speed(def), half_w = def.width() / 2, half_h = def.height / 2;
      const std::string units = " full_state units/s (Box2D moves a body at most 2 m per substep, " + num(speed) +
                                " m/s here)";
      require_within(e.vx, speed / half_w, what, "vx", units);
      require_within(e.vy, speed / half_h, what, "vy", units);
      const double v = std::hypot(e.vx * half_w, e.vy * half_h);
      require(v <= speed, what + ": the speed of (vx, vy), " + num(v) + " m/s, must be at most " + num(speed) +
                              " m/s (Box2D moves a body at most 2 m per substep)");
      require_within(e.omega, max_angular_speed(def), what, "omega",
                     " rad/s (Box2D turns a body at most pi/2 per substep)");
      break;
    }
    case EditKind::ScaleVelocity: require_within(e.scale, max_velocity_scale, what, "scale", ""); break;
    case EditKind::PassThrough:
    case EditKind::Collide:
      require(e.other >= -1 && e.other < n && e.other != e.body,
              what + ": other must be another body slot in [0, " + std::to_string(n - 1) +
                  "] or -1 (the ground and walls), got " + std::to_string(e.other));
      if (e.other >= 0)
        require(layout.bodies[e.other].limb < 0, what + ": other, " + body_text(layout, e.other) +
                                                     ", is a limb; name its robot's root");
      break;
    case EditKind::Resize: {
      require(slot.object >= 0, what + ": only objects change size, not " + body_text(layout, e.body));
      require(std::isfinite(e.scale) && e.scale > 0, what + ": scale must be finite and > 0, got " + num(e.scale));
      const double size = definition_size(layout, def, e.body) * e.scale;
      const double largest = std::min(def.width(), def.height) / 2;
      require(size >= min_extent && size <= largest, what + ": the new size " + num(size) + " m must be in [" +
                                                         num(min_extent) + ", " + num(largest) + "]");
      break;
    }
    case EditKind::Reshape:
      require(slot.object >= 0, what + ": only objects change shape, not " + body_text(layout, e.body));
      require(e.shape == Shape::Circle || e.shape == Shape::Box, what + ": shape must be circle or box");
      break;
    default: break;
  }
}

void edit_envs(Batch& batch, const std::vector<int>& envs, const Edit& e) {
  const int n = batch.num_envs();
  // Rows of envs in flight are being written; Batch::edit refuses them all alike.
  if (const int busy = batch.in_flight())
    throw Error("edit: " + std::to_string(busy) + " envs are still stepping asynchronously; recv them first");
  std::vector<uint8_t> seen(n, 0);
  const uint8_t* terminated = batch.terminated();
  const uint8_t* truncated = batch.truncated();
  for (int env : envs) {
    require(env >= 0 && env < n,
            "edit: env must be in [0, " + std::to_string(n - 1) + "], got " + std::to_string(env));
    require(!seen[env], "edit: env " + std::to_string(env) + " is listed twice; each env takes an edit once");
    seen[env] = 1;
    // Batch::edit's own rule: outside SameStep an ended episode waits for its reset.
    require(batch.autoreset() == AutoresetMode::SameStep || (!terminated[env] && !truncated[env]),
            "edit: env " + std::to_string(env) +
                " has ended its episode; its next step (or reset) starts a new one, which would undo the edit");
  }
  check_edit(e, batch.layout(), batch.def());
  for (int env : envs) batch.edit(env, e);
}

}  // namespace boxlcd
