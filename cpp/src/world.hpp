// One env: a Box2D world built from a WorldDef, its generator and its episode counter.
// Internal to the library; Batch owns a vector of these.
#pragma once

#include <box2d/box2d.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "boxlcd/layout.hpp"
#include "boxlcd/raster.hpp"
#include "boxlcd/rng.hpp"
#include "boxlcd/world_def.hpp"

namespace boxlcd {

class World {
 public:
  World(const WorldDef& def, const Layout& layout);

  void seed(uint64_t seed) { rng_ = Rng(seed); }
  void reset_random();
  void reset_to_state(const float* full_state);
  void apply_action(const float* action);
  void step_physics();
  void write_state(float* full_state, float* proprio) const;
  void render(uint8_t* packed_frame);
  void render_rgb(int rows, int cols, uint8_t* rgb);

  // The Box2D world itself (rebuilt by every reset), for the physics-floor benchmark.
  b2World& physics() { return *world_; }

  int episode_step = 0;

 private:
  struct Pose {
    double x, y, angle;
  };
  void make_empty_world();
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
  std::vector<Span> spans_;              // scratch, reused across renders
  Rng rng_;
};

// Box2D 2.4 fills its contact tables lazily on first use; do it once before threads start.
void warm_up_box2d();

}  // namespace boxlcd
