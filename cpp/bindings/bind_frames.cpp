// boxlcd._core's frame unpacking: packed bits to one value per pixel, the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "bindings.hpp"
#include "boxlcd/error.hpp"
#include "boxlcd/unpack.hpp"

namespace boxlcd::bindings {

void bind_frames(py::module_& m) {
  m.def("unpack_into",
        [](const py::array& packed, py::array& out) {
          if (packed.dtype().kind() != 'u' || packed.itemsize() != 1)
            throw py::type_error("frames must be uint8 (packed bits), got " + std::string(py::str(packed.dtype())));
          const bool bytes = out.itemsize() == 1 && (out.dtype().kind() == 'u' || out.dtype().kind() == 'b');
          const bool floats = out.dtype().kind() == 'f' && out.itemsize() == 4;
          if (!bytes && !floats)
            throw py::type_error("out must be uint8, bool or float32, got " + std::string(py::str(out.dtype())));
          if (!(packed.flags() & py::array::c_style) || !(out.flags() & py::array::c_style))
            throw Error("frames and out must be C-contiguous");
          if (!out.writeable()) throw Error("out is read-only");
          if (packed.ndim() < 1 || out.ndim() != packed.ndim())
            throw Error("out must have the frames' shape with the last axis unpacked: frames " +
                        shape_str(packed) + ", out " + shape_str(out));
          for (py::ssize_t d = 0; d + 1 < packed.ndim(); ++d)
            if (packed.shape(d) != out.shape(d))
              throw Error("out must have the frames' shape with the last axis unpacked: frames " +
                          shape_str(packed) + ", out " + shape_str(out));
          const py::ssize_t row_bytes = packed.shape(packed.ndim() - 1);
          const py::ssize_t cols = out.shape(out.ndim() - 1);
          const size_t rows = row_bytes ? static_cast<size_t>(packed.size() / row_bytes) : 0;
          if (rows == 0) return;
          const auto* in = static_cast<const uint8_t*>(packed.data());
          void* o = out.mutable_data();
          py::gil_scoped_release release;
          if (bytes) unpack_rows(in, rows, static_cast<int>(row_bytes), static_cast<int>(cols), static_cast<uint8_t*>(o));
          else unpack_rows(in, rows, static_cast<int>(row_bytes), static_cast<int>(cols), static_cast<float*>(o));
        },
        py::arg("frames"), py::arg("out"),
        "Unpacks frames (..., rows, row_bytes) uint8 into out (..., rows, cols) uint8, bool or "
        "float32, both C-contiguous; the GIL is released while it runs.");
}

}  // namespace boxlcd::bindings
