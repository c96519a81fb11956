// Edits to a running world: what a violation-of-expectation clip needs (a body that
// teleports, vanishes, passes through the floor, changes size, ...).
//
// Batch::edit applies one edit to one env at once and rewrites that env's observation (state,
// proprio, frame), so the observation shows the edit and the next step simulates from the
// edited world. Every reset undoes all edits: it builds a fresh b2World from the definition.
// Edits draw no random numbers, and a world never edited steps byte-identically to one built
// before edits existed (the contact filter below is installed by the first PassThrough only).
//
// Every number an edit carries is checked before anything changes (check_edit): NaN and inf are
// refused, and so is any value whose result Box2D (which computes in float) could not hold or
// would silently cut down: a position outside the state's range (or, with walls, on a wall,
// which would push the body out), a speed beyond max_speed, an angle beyond max_edit_angle. So an edit never makes a state non-finite.
//
// Bodies are named by their slot (Layout::bodies: objects first, then each robot's root and
// limbs). A robot is edited as a whole through its root: Pose, Velocity, ScaleVelocity, Hide,
// Show, Remove, Add and PassThrough on a root act on every body of the robot (a limb alone
// would tear its joints). Resize and Reshape take objects only.
#pragma once

#include <string>
#include <vector>

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
  PassThrough,    // no contacts between body and other (other -1: the ground and walls; the
                  // body then falls out of the world, its full_state positions beyond their
                  // range, finite: at most 2 m per substep)
  Collide,        // undo PassThrough for that pair
  Resize,         // make the body scale times its definition's size (its current shape kind);
                  // density is kept, so its mass follows
  Reshape,        // make the body a circle or a box of its size (radius = half-extent), at
                  // the scale of its last Resize
};

class Batch;

struct Edit {
  EditKind kind = EditKind::Pose;
  int body = -1;   // body slot; Gravity takes none (-1)
  int other = -1;  // PassThrough, Collide: the other body slot, or -1 for the ground and walls;
                   // -1 for every other kind
  // Pose, Add: x and y in full_state units ([-1, 1] across the world) inside the state's range,
  // angle in radians, |angle| <= max_edit_angle.
  double x = 0.0, y = 0.0, angle = 0.0;
  // Velocity: full_state units per second, and radians per second; the speed in metres per
  // second at most max_speed(def) and |omega| at most max_angular_speed(def).
  double vx = 0.0, vy = 0.0, omega = 0.0;
  double gx = 0.0, gy = 0.0;  // Gravity, m/s^2, |g| <= max_gravity per axis
  double scale = 1.0;         // ScaleVelocity: |scale| <= max_velocity_scale; Resize: > 0, and
                              // the new size inside [min_extent, half the world's smaller side]
  Shape shape = Shape::Box;   // Reshape: Circle or Box
};

// The kind's name as Python spells it ("pose", "scale_velocity", "pass_through", ...), and back
// (throws Error naming the kinds for an unknown name).
const char* edit_kind_name(EditKind kind);
EditKind edit_kind(const std::string& name);

// Pose and Add angles: a float angle this large still resolves 1e-4 rad.
constexpr double max_edit_angle = 1000.0;
// ScaleVelocity's factor. Bodies never move faster than max_speed, so the result stays finite;
// a larger factor is taken for a mistake (Velocity sets an exact speed).
constexpr double max_velocity_scale = 100.0;

// The fastest a body of this definition's worlds moves (m/s) and turns (rad/s): Box2D moves a
// body at most 2 m and turns it at most pi/2 per substep (b2_maxTranslation, b2_maxRotation)
// and slows anything faster to that on its next step.
double max_speed(const WorldDef& def);
double max_angular_speed(const WorldDef& def);

// The values a kind reads, as Python names them ("x", "y", "angle" for Pose; none for Hide).
const std::vector<std::string>& edit_values(EditKind kind);

// Throws Error naming the problem and the field unless the edit fits this layout and
// definition: a body slot that exists and may be edited so, no body or other where the kind
// takes none, finite numbers inside the limits above, a position inside the state's range, a
// size that fits the world.
void check_edit(const Edit& edit, const Layout& layout, const WorldDef& def);

// Applies one edit to each of envs, all or nothing: the whole request (every env index, no env
// twice, no env whose ended episode waits for its reset, the edit itself) is checked before
// any world changes, then Batch::edit applies it env by env. Throws Error naming the problem.
// Calls on the batch from other threads must not run meanwhile (Python callers hold the GIL).
void edit_envs(Batch& batch, const std::vector<int>& envs, const Edit& edit);

}  // namespace boxlcd
