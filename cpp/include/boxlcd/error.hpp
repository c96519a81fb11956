#pragma once

#include <stdexcept>
#include <string>

namespace boxlcd {

// Every bad input the library detects; the message names the problem.
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument(what) {}
};

}  // namespace boxlcd
