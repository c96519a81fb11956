// Edit kinds by name, and the checks an edit passes before it touches a world.
#include "boxlcd/edit.hpp"

#include <cmath>
#include <string>

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

void require_finite(std::initializer_list<double> values, const std::string& what) {
  for (double v : values) require(std::isfinite(v), what + " must be finite");
}

std::string body_text(const Layout& layout, int slot) {
  return slot < 0 ? "the ground and walls" : "body " + std::to_string(slot) + " (" + layout.bodies[slot].name + ")";
}

// A body's shape size after Resize: its definition's size (Random: either shape's) times scale.
double definition_size(const Layout& layout, const WorldDef& def, int slot) {
  return def.objects[layout.bodies[slot].object].size();
}

}  // namespace

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
  if (e.kind == EditKind::Gravity) {
    require_finite({e.gx, e.gy}, what + ": gravity");
    require(std::abs(e.gx) <= max_gravity && std::abs(e.gy) <= max_gravity,
            what + ": gravity must be in [-" + std::to_string(static_cast<int>(max_gravity)) + ", " +
                std::to_string(static_cast<int>(max_gravity)) + "] m/s^2 per axis");
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
      require_finite({e.x, e.y, e.angle}, what + ": x, y and angle");
      for (Component c : {Component::X, Component::Y}) {
        const StateRange r = state_range(StateEntry{"", e.body, c}, def);
        const double v = c == Component::X ? e.x : e.y;
        require(v >= r.lo && v <= r.hi, what + ": " + (c == Component::X ? "x" : "y") + " must be in [" +
                                            std::to_string(r.lo) + ", " + std::to_string(r.hi) + "], got " +
                                            std::to_string(v));
      }
      break;
    }
    case EditKind::Velocity: require_finite({e.vx, e.vy, e.omega}, what + ": vx, vy and omega"); break;
    case EditKind::ScaleVelocity: require_finite({e.scale}, what + ": scale"); break;
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
      require(std::isfinite(e.scale) && e.scale > 0, what + ": scale must be finite and > 0");
      const double size = definition_size(layout, def, e.body) * e.scale;
      require(size >= min_extent && 2 * size <= std::min(def.width(), def.height),
              what + ": the new size " + std::to_string(size) + " m must be in [" + std::to_string(min_extent) +
                  ", " + std::to_string(std::min(def.width(), def.height) / 2) + "]");
      break;
    }
    case EditKind::Reshape:
      require(slot.object >= 0, what + ": only objects change shape, not " + body_text(layout, e.body));
      require(e.shape == Shape::Circle || e.shape == Shape::Box, what + ": shape must be circle or box");
      break;
    default: break;
  }
}

}  // namespace boxlcd
