// Edits to a running world: what a violation-of-expectation clip needs (a body that
// teleports, vanishes, passes through the floor, changes size, ...).
//
// Batch::edit applies one edit to one env at once and rewrites that env's observation (state,
// proprio, frame), so the observation shows the edit and the next step simulates from the
// edited world. Every reset undoes all edits: it builds a fresh b2World from the definition.
// Edits draw no random numbers, and a world never edited steps byte-identically to one built
// before edits existed (the contact filter below is installed by the first PassThrough only).
//
// Bodies are named by their slot (Layout::bodies: objects first, then each robot's root and
// limbs). A robot is edited as a whole through its root: Pose, Velocity, ScaleVelocity, Hide,
// Show, Remove, Add and PassThrough on a root act on every body of the robot (a limb alone
// would tear its joints). Resize and Reshape take objects only.
#pragma once

#include <string>

#include "boxlcd/layout.hpp"
#include "boxlcd/world_def.hpp"

namespace boxlcd {

enum class EditKind {
  Pose,           // move the body to (x, y, angle), keeping its velocity
  Velocity,       // set its velocity to (vx, vy, omega)
  ScaleVelocity,  // multiply its velocity (linear and angular) by scale; -1 reverses it
  Hide,           // leave it out of the frame; it stays simulated
  Show,           // draw it again
  Remove,         // take it out of the simulation (no contacts, no motion) and out of the frame
  Add,            // put a removed body back at (x, y, angle), at rest, drawn
  Gravity,        // set this env's gravity to (gx, gy); wakes every body
  PassThrough,    // no contacts between body and other (other -1: the ground and walls)
  Collide,        // undo PassThrough for that pair
  Resize,         // make the body scale times its definition's size (its current shape kind);
                  // density is kept, so its mass follows
  Reshape,        // make the body a circle or a box of its size (radius = half-extent), at
                  // the scale of its last Resize
};

struct Edit {
  EditKind kind = EditKind::Pose;
  int body = -1;   // body slot; Gravity takes none
  int other = -1;  // PassThrough, Collide: the other body slot, or -1 for the ground and walls
  // Pose, Add: x and y in full_state units ([-1, 1] across the world), angle in radians.
  double x = 0.0, y = 0.0, angle = 0.0;
  // Velocity: full_state units per second, and radians per second.
  double vx = 0.0, vy = 0.0, omega = 0.0;
  double gx = 0.0, gy = 0.0;  // Gravity, m/s^2
  double scale = 1.0;         // ScaleVelocity, Resize
  Shape shape = Shape::Box;   // Reshape: Circle or Box
};

// The kind's name as Python spells it ("pose", "scale_velocity", "pass_through", ...), and back
// (throws Error naming the kinds for an unknown name).
const char* edit_kind_name(EditKind kind);
EditKind edit_kind(const std::string& name);

// Throws Error naming the problem unless the edit fits this layout and definition (a body slot
// that exists and may be edited so, finite numbers, a position inside the state's range, a
// size that fits the world).
void check_edit(const Edit& edit, const Layout& layout, const WorldDef& def);

}  // namespace boxlcd
