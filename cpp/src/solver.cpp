#include "boxlcd/solver.hpp"

namespace boxlcd {

const std::vector<SolverPreset>& solver_presets() {
  // name, velocity iterations, position iterations, substeps (0: the env's own)
  static const std::vector<SolverPreset> presets{
      {"seed", 180, 60, 0},
      {"fast", 10, 3, 0},
  };
  return presets;
}

}  // namespace boxlcd
