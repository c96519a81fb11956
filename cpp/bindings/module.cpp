// The pybind11 module boxlcd._core: definitions, the catalogue, Batch and frame unpacking, and
// nothing else; each concern is bound in its own file.
#include <pybind11/pybind11.h>

#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "boxlcd's C++ core: batched Box2D worlds rendered to packed 1-bit frames";
  boxlcd::bindings::bind_world_def(m);
  boxlcd::bindings::bind_batch(m);
  boxlcd::bindings::bind_frames(m);
}
