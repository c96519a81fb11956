#include "boxlcd/solver.hpp"

#include <utility>

namespace boxlcd {

const std::vector<SolverPreset>& solver_presets() {
  // name, velocity iterations, position iterations, substeps (0: the env's own)
  static const std::vector<SolverPreset> presets{
      {"original", 180, 60, 0},
      {"fast", 10, 3, 0},
  };
  return presets;
}

const SolverPreset* find_solver_preset(const std::string& name) {
  // "seed" named the original testbed's solver until the word was kept for random seeds alone;
  // old datasets' overrides and old commands still say it.
  static const std::vector<std::pair<std::string, std::string>> aliases{{"seed", "original"}};
  std::string own = name;
  for (const auto& [alias, target] : aliases)
    if (name == alias) own = target;
  for (const SolverPreset& p : solver_presets())
    if (p.name == own) return &p;
  return nullptr;
}

}  // namespace boxlcd
