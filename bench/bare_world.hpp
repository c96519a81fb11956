// The physics floor: a plain b2World built from a WorldDef, with nothing of the library's
// stepping, observation or rendering around it. Bodies, fixtures, joints and the random
// placement follow the spec (and cpp/src/world.cpp) in the same order, so a BareWorld seeded
// s starts exactly where env s of a Batch starts; bench --boxlcd_verify checks that.
#pragma once

#include <box2d/box2d.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "boxlcd/layout.hpp"
#include "boxlcd/rng.hpp"
#include "boxlcd/world_def.hpp"

namespace boxlcd_bench {

class BareWorld {
 public:
  BareWorld(const boxlcd::WorldDef& def, const boxlcd::Layout& layout, uint64_t seed);

  // Destroys the bodies and places new ones at random, as an env reset does.
  void reset();
  // Motor speed and torque from one action row, as the library sets them.
  void apply_action(const float* action);
  // The full_state row (spec normalisation), to compare with a Batch.
  void state(float* full_state) const;

  b2World& world() { return *world_; }
  int substeps;
  float dt;
  int velocity_iterations;
  int position_iterations;

 private:
  const boxlcd::WorldDef& def_;
  const boxlcd::Layout& layout_;
  std::unique_ptr<b2World> world_;
  std::vector<b2Body*> bodies_;
  std::vector<b2RevoluteJoint*> joints_;
  boxlcd::Rng rng_;
};

}  // namespace boxlcd_bench
