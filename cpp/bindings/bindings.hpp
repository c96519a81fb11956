// Pieces of the pybind11 module boxlcd._core, one file per concern, and what they share.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace boxlcd::bindings {

namespace py = pybind11;

// Definitions (from their field tables), the catalogue and validation.
void bind_world_def(py::module_& m);
// Batch and its autoreset modes.
void bind_batch(py::module_& m);
// Unpacking packed frames.
void bind_frames(py::module_& m);

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

}  // namespace boxlcd::bindings
