// Solver presets: how much work Box2D does per env step, as one named setting
// (make(..., solver="fast"); apply_override(def, "solver", "fast")).
// "original" is the original testbed's 180 velocity and 60 position iterations, the physics the
// datasets and paper figures were made with; "seed", its earlier name, is accepted for it. The
// others trade solver accuracy for speed; bench/solver_speed.py times them and
// experiments/solver_stats.py compares their behaviour with the original's.
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

// The presets by their own names, "original" (the default definition's solver) first.
const std::vector<SolverPreset>& solver_presets();

// The preset called `name`, or an alias of one ("seed" is "original"); nullptr when none is.
const SolverPreset* find_solver_preset(const std::string& name);

}  // namespace boxlcd
