// One env: a Box2D world built from a WorldDef, its generator and its episode counter.
// Internal to the library; Batch owns a vector of these.
#pragma once

#include <box2d/box2d.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "boxlcd/edit.hpp"
#include "boxlcd/layout.hpp"
#include "boxlcd/raster.hpp"
#include "boxlcd/rng.hpp"
#include "boxlcd/world_def.hpp"

namespace boxlcd {

class World {
 public:
  World(const WorldDef& def, const Layout& layout);
  ~World();

  void seed(uint64_t seed) { rng_ = Rng(seed); }
  void reset_random();
  void reset_to_state(const float* full_state);
  void apply_action(const float* action);
  void step_physics();
  void write_state(float* full_state, float* proprio) const;
  void render(uint8_t* packed_frame);
  void render_rgb(int rows, int cols, uint8_t* rgb);
  // Applies an edit that check_edit passed (edit.hpp); the next reset undoes it.
  void edit(const Edit& e);

  // The Box2D world itself (rebuilt by every reset), for the physics-floor benchmark.
  b2World& physics() { return *world_; }

  int episode_step = 0;

 private:
  struct Pose {
    double x, y, angle;
  };
  class PairFilter;
  void make_empty_world();
  std::vector<int> group(int slot) const;  // the bodies an edit of slot moves: a robot, or one object
  void set_pose(int slot, double x, double y, double angle);
  void set_collisions(int slot, int other, bool on);
  void set_shape(int slot, Shape shape, double size_scale);
  void build(const std::vector<Pose>& poses);
  // Calls emit(spans, colour) for each body, in pixels of a rows x cols view.
  template <class Emit>
  void spans_of_bodies(int rows, int cols, RasterRule rule, Emit&& emit);
  const BodyDef& body_def(int slot) const;
  const BodyDef& body_def_of(const BodySlot& slot) const;
  double joint_angle_of(int slot) const;  // a limb's angle relative to the root; 0 for a root

  const WorldDef& def_;
  const Layout& layout_;
  std::unique_ptr<b2World> world_;
  std::vector<b2Body*> bodies_;          // by body slot
  std::vector<Shape> shapes_;            // by body slot; Random resolved at reset
  std::vector<b2RevoluteJoint*> joints_;  // by joint slot
  b2Body* walls_ = nullptr;              // the ground and walls
  std::vector<uint8_t> hidden_;          // by body slot: left out of frames (Hide, Remove)
  std::vector<double> scales_;           // by body slot: size over the definition's (Resize)
  std::vector<Shape> kinds_;             // by body slot: its shape now (Reshape)
  std::unique_ptr<PairFilter> filter_;   // made by the first PassThrough of an episode
  std::vector<Span> spans_;              // scratch, reused across renders
  Rng rng_;
};

// Box2D 2.4 fills its contact tables lazily on first use; do it once before threads start.
void warm_up_box2d();

}  // namespace boxlcd
