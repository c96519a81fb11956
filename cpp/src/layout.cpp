// Which body each state value and action belongs to, in the spec's sorted key order.
#include "boxlcd/layout.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "boxlcd/error.hpp"

namespace boxlcd {

Layout make_layout(const WorldDef& def) {
  Layout out;
  for (size_t i = 0; i < def.objects.size(); ++i) {
    BodySlot s;
    s.name = "object" + std::to_string(i);
    s.object = static_cast<int>(i);
    out.bodies.push_back(s);
  }
  std::map<std::string, int> robots_of_type;
  std::vector<std::pair<std::string, int>> actions;
  for (size_t r = 0; r < def.robots.size(); ++r) {
    const RobotDef& robot = def.robots[r];
    const std::string prefix = robot.type + std::to_string(robots_of_type[robot.type]++);
    const int root = static_cast<int>(out.bodies.size());
    std::map<std::string, int> slot_of{{"root", root}};
    BodySlot s;
    s.name = prefix + ":root";
    s.robot = static_cast<int>(r);
    s.root = root;
    out.bodies.push_back(s);
    for (size_t l = 0; l < robot.limbs.size(); ++l) {
      const LimbDef& limb = robot.limbs[l];
      BodySlot b;
      b.name = prefix + ":" + limb.body.name;
      b.robot = static_cast<int>(r);
      b.limb = static_cast<int>(l);
      b.parent = slot_of.at(limb.joint.parent);
      b.root = root;
      slot_of[limb.body.name] = static_cast<int>(out.bodies.size());
      const int joint = static_cast<int>(out.joint_body.size());
      out.joint_body.push_back(static_cast<int>(out.bodies.size()));
      if (limb.joint.actuated()) actions.push_back({b.name + ":speed", joint});
      out.bodies.push_back(b);
    }
  }
  for (size_t b = 0; b < out.bodies.size(); ++b) {
    const std::string& name = out.bodies[b].name;
    const int slot = static_cast<int>(b);
    out.state.push_back({name + ":x:p", slot, Component::X});
    out.state.push_back({name + ":y:p", slot, Component::Y});
    out.state.push_back({name + ":cos", slot, Component::Cos});
    out.state.push_back({name + ":sin", slot, Component::Sin});
  }
  std::sort(out.state.begin(), out.state.end(),
            [](const StateEntry& a, const StateEntry& b) { return a.key < b.key; });
  for (size_t i = 0; i < out.state.size(); ++i)
    if (out.bodies[out.state[i].body].object < 0) out.proprio.push_back(static_cast<int>(i));
  std::sort(actions.begin(), actions.end());
  for (const auto& a : actions) {
    out.action_keys.push_back(a.first);
    out.action_joint.push_back(a.second);
  }
  return out;
}

std::vector<std::string> Layout::state_keys() const {
  std::vector<std::string> keys;
  for (const auto& e : state) keys.push_back(e.key);
  return keys;
}

std::vector<std::string> Layout::proprio_keys() const {
  if (proprio.empty()) return {"zero"};
  std::vector<std::string> keys;
  for (int i : proprio) keys.push_back(state[i].key);
  return keys;
}

std::vector<std::string> Layout::action_names() const {
  if (action_keys.empty()) return {"ignored"};
  return action_keys;
}

StateRange state_range(const StateEntry& e, const WorldDef& def) {
  const bool position = e.component == Component::X || e.component == Component::Y;
  if (!position || def.walls) return {-1.0, 1.0};
  // x:p = 2 x / W - 1 over x in [-overhang, W + overhang]; likewise y over the height.
  const double size = e.component == Component::X ? def.width() : def.height;
  const double margin = 2.0 * floor_overhang / size;
  return {-1.0 - margin, 1.0 + margin};
}

void check_state_row(const Layout& layout, const WorldDef& def, const float* row, int env) {
  for (size_t k = 0; k < layout.state.size(); ++k) {
    const StateRange r = state_range(layout.state[k], def);
    const double v = row[k];
    if (v >= r.lo && v <= r.hi) continue;
    char range[80];
    std::snprintf(range, sizeof range, "must be in [%g, %g], got %g", r.lo, r.hi, v);
    throw Error("full_state[" + std::to_string(env) + ", " + std::to_string(k) + "] (" + layout.state[k].key +
                ") " + (std::isfinite(v) ? range : "is not finite"));
  }
  if (!def.walls) return;
  // Inside walls, each body's box middle must be strictly inside them: a body whose middle is
  // on or beyond a wall is pushed out through it, and falls outside the world from then on.
  struct Pose {
    double x = 0.0, y = 0.0, c = 1.0, s = 0.0;
  };
  std::vector<Pose> poses(layout.bodies.size());
  for (size_t k = 0; k < layout.state.size(); ++k) {
    const StateEntry& e = layout.state[k];
    Pose& p = poses[e.body];
    switch (e.component) {
      case Component::X: p.x = (row[k] + 1.0) * 0.5 * def.width(); break;
      case Component::Y: p.y = (row[k] + 1.0) * 0.5 * def.height; break;
      case Component::Cos: p.c = row[k]; break;
      case Component::Sin: p.s = row[k]; break;
    }
  }
  for (size_t i = 0; i < poses.size(); ++i) {
    const BodySlot& slot = layout.bodies[i];
    const BodyDef& body = slot.object >= 0 ? def.objects[slot.object].body
                          : slot.limb < 0  ? def.robots[slot.robot].root
                                           : def.robots[slot.robot].limbs[slot.limb].body;
    const Vec2 m = box_middle(body, std::atan2(poses[i].s, poses[i].c));
    const double x = poses[i].x + m.x, y = poses[i].y + m.y;
    if (x > 0.0 && x < def.width() && y > 0.0 && y < def.height) continue;
    char where[160];
    std::snprintf(where, sizeof where, "at (%g, %g) m, on or beyond the walls of the %g x %g m world", x, y,
                  def.width(), def.height);
    throw Error("full_state[" + std::to_string(env) + "] puts " + slot.name + " (the middle of its bounding box) " +
                where + "; with walls every body must start inside them");
  }
}

}  // namespace boxlcd
