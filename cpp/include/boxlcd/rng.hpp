// The project's own random generator: same numbers on every compiler and standard library.
#pragma once

#include <cstdint>

namespace boxlcd {

// splitmix64: tiny, fast and well mixed; enough for placing bodies.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool coin() { return (next_u64() >> 63) != 0; }

 private:
  uint64_t state_;
};

}  // namespace boxlcd
