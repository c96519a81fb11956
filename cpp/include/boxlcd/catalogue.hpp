// The built-in robots and envs of the spec, as data.
#pragma once

#include <string>
#include <vector>

#include "boxlcd/world_def.hpp"

namespace boxlcd {

RobotDef urchin();
RobotDef luxo();
RobotDef crab();
RobotDef spider();

std::vector<std::string> env_names();

// A copy of the named env's definition; throws boxlcd::Error for an unknown name.
WorldDef env_def(const std::string& name);

}  // namespace boxlcd
