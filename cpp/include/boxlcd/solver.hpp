// Solver presets: how much work Box2D does per env step, as one named setting
// (make(..., solver="fast"); apply_override(def, "solver", "fast")).
// "seed" is the original testbed's 180 velocity and 60 position iterations, the physics the
// datasets and paper figures were made with. The others trade solver accuracy for speed; each
// row's numbers come from bench/solver_presets.py, whose table (speed, and behaviour statistics
// against the seed preset's bootstrap intervals) is in the README.
#pragma once

#include <string>
#include <vector>

namespace boxlcd {

struct SolverPreset {
  std::string name;
  int velocity_iterations;
  int position_iterations;
  int substeps;  // Box2D steps per env step; 0 keeps the env's own (3 below 30 fps, else 1)
};

const std::vector<SolverPreset>& solver_presets();

}  // namespace boxlcd
