// The observation and action layout of a world: key names and where each value comes from.
#pragma once

#include <string>
#include <vector>

#include "boxlcd/world_def.hpp"

namespace boxlcd {

enum class Component { X, Y, Cos, Sin };

struct StateEntry {
  std::string key;  // e.g. "urchin0:aleg:x:p"
  int body = 0;     // body slot: objects first, then each robot's root and limbs
  Component component = Component::X;
};

// One body of the world. Slots: objects first, then each robot's root and limbs in order.
struct BodySlot {
  std::string name;   // key prefix: "object0", "urchin0:root", "urchin0:aleg"
  int object = -1;    // index into WorldDef::objects, or -1
  int robot = -1;     // index into WorldDef::robots, or -1
  int limb = -1;      // index into RobotDef::limbs; -1 for a root
  int parent = -1;    // parent body slot of a limb
  int root = -1;      // root body slot of the robot
};

struct Layout {
  std::vector<BodySlot> bodies;
  std::vector<int> joint_body;           // body slot of the limb each joint hangs
  std::vector<StateEntry> state;         // sorted by key
  std::vector<int> proprio;              // indices into state; robot entries only
  std::vector<std::string> action_keys;  // sorted "<robot>:<limb>:speed"
  std::vector<int> action_joint;         // joint slot driven by each action

  std::vector<std::string> state_keys() const;
  // "zero" for worlds without a robot, whose proprio is a single 0.
  std::vector<std::string> proprio_keys() const;
  // action_keys, or {"ignored"} for worlds without actuated joints.
  std::vector<std::string> action_names() const;
  int state_size() const { return static_cast<int>(state.size()); }
  int proprio_size() const { return proprio.empty() ? 1 : static_cast<int>(proprio.size()); }
  // Worlds without actuated joints take one ignored action, named "ignored".
  int action_size() const { return action_keys.empty() ? 1 : static_cast<int>(action_keys.size()); }
};

Layout make_layout(const WorldDef& def);

// The values a state entry may take: [-1, 1], except positions without walls, which may lie
// up to floor_overhang metres beyond the world (on its floor, or fallen off it).
struct StateRange {
  double lo, hi;
};
StateRange state_range(const StateEntry& entry, const WorldDef& def);

// Throws boxlcd::Error unless every entry of row (one env's full_state, layout.state order)
// is inside its state_range and, with walls, puts every body's bounding-box middle strictly
// inside them; env is the row's index, for the message.
void check_state_row(const Layout& layout, const WorldDef& def, const float* row, int env);

}  // namespace boxlcd
