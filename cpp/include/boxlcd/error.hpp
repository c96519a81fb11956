#pragma once

#include <new>
#include <stdexcept>
#include <string>

namespace boxlcd {

// Every bad input the library detects; the message names the problem.
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument(what) {}
};

// A call the object cannot serve in its state (a closed batch).
class StateError : public std::runtime_error {
 public:
  explicit StateError(const std::string& what) : std::runtime_error(what) {}
};

// Not enough memory for what was asked; a std::bad_alloc that says how much.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string what) : what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

}  // namespace boxlcd
