// boxlcd._core's Batch: outputs as views of the buffers it owns, the GIL released around work.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "boxlcd/boxlcd.hpp"

namespace boxlcd::bindings {
namespace {

// A view of a buffer the batch owns; the buffers stay alive while the array does, even
// after Batch.close().
template <class T>
py::array_t<T> view(Batch& b, T* data, std::vector<py::ssize_t> shape) {
  auto* owner = new std::shared_ptr<void>(b.buffer_owner());
  py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
  return py::array_t<T>(shape, data, base);
}

// Floating arrays of the expected shape become contiguous float32 (copying only if needed).
py::array_t<float, py::array::c_style> float_matrix(const py::handle& obj, const char* name,
                                                    py::ssize_t rows, py::ssize_t cols) {
  py::array a = py::array::ensure(obj);
  if (!a) throw Error(std::string(name) + " must be an array of floats");
  if (a.dtype().kind() != 'f')
    throw Error(std::string(name) + " must have a floating dtype (float32), got " +
                std::string(py::str(a.dtype())));
  if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != cols)
    throw Error(std::string(name) + " must have shape (" + std::to_string(rows) + ", " +
                std::to_string(cols) + "), got " + shape_str(a));
  return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
}

// None, or a boolean / integer vector of length n, as bytes.
std::vector<uint8_t> mask_bytes(const py::object& obj, py::ssize_t n) {
  if (obj.is_none()) return {};
  py::array a = py::array::ensure(obj);
  if (!a || (a.dtype().kind() != 'b' && a.dtype().kind() != 'i' && a.dtype().kind() != 'u'))
    throw Error("mask must be a boolean array");
  if (a.ndim() != 1 || a.shape(0) != n)
    throw Error("mask must have shape (" + std::to_string(n) + ",), got " + shape_str(a));
  auto b = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(
      py::module_::import("numpy").attr("not_equal")(a, 0));
  return std::vector<uint8_t>(b.data(), b.data() + n);
}

const uint8_t* mask_ptr(const std::vector<uint8_t>& m) { return m.empty() ? nullptr : m.data(); }

// Any integral value (int, numpy integers: whatever has __index__) but bool, as a Python int.
py::int_ integral(const py::handle& obj, const char* name) {
  const bool is_bool = py::isinstance<py::bool_>(obj) ||
                       (py::hasattr(obj, "dtype") && py::str(obj.attr("dtype").attr("kind")).equal(py::str("b")));
  PyObject* index = is_bool ? nullptr : PyNumber_Index(obj.ptr());
  if (index == nullptr) {
    PyErr_Clear();
    throw Error(std::string(name) + " must be an int, got " + std::string(py::str(py::type::of(obj).attr("__name__"))));
  }
  return py::reinterpret_steal<py::int_>(index);
}

uint64_t seed_value(const py::object& seed) {
  const py::int_ v = integral(seed, "seed");
  if (v < py::int_(0)) throw Error("seed must be >= 0, got " + std::string(py::str(v)));
  try {
    return v.cast<uint64_t>();
  } catch (const py::cast_error&) {
    throw Error("seed must be below 2**64, got " + std::string(py::str(v)));
  }
}

// An integral argument in [lo, hi].
int int_arg(const py::object& obj, const char* name, long long lo, long long hi) {
  const py::int_ v = integral(obj, name);
  if (v < py::int_(lo) || v > py::int_(hi))
    throw Error(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                std::string(py::str(v)));
  return v.cast<int>();
}

// An edit's number: an int or float (numpy's too), not a bool or a string.
double edit_number(const py::handle& obj, const std::string& what, const std::string& name) {
  const bool is_bool = py::isinstance<py::bool_>(obj) ||
                       (py::hasattr(obj, "dtype") && py::str(obj.attr("dtype").attr("kind")).equal(py::str("b")));
  if (!is_bool && !py::isinstance<py::str>(obj) && PyNumber_Check(obj.ptr())) {
    PyObject* f = PyNumber_Float(obj.ptr());
    if (f != nullptr) return py::reinterpret_steal<py::float_>(f).cast<double>();
    const bool overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
    PyErr_Clear();
    if (overflow) throw Error(what + ": " + name + " must be finite, got " + std::string(py::str(obj)));
  }
  throw Error(what + ": " + name + " must be a number, got " + std::string(py::str(py::type::of(obj).attr("__name__"))));
}

// A body argument: None (-1) or a slot >= 0; check_edit says which slots exist.
int edit_slot(const py::object& obj, const std::string& what, const char* name, int num_bodies) {
  if (obj.is_none()) return -1;
  const py::int_ v = integral(obj, (what + ": " + name).c_str());
  if (v < py::int_(0) || v >= py::int_(num_bodies))
    throw Error(what + ": " + name + " must be a body slot in [0, " + std::to_string(num_bodies - 1) + "]" +
                (std::string(name) == "other" ? " or None (the ground and walls)" : "") + ", got " +
                std::string(py::str(v)));
  return v.cast<int>();
}

// The Edit that edit(kind, body, other, **values) names; refuses values the kind does not read.
Edit edit_from_args(const Batch& b, const std::string& kind, const py::object& body, const py::object& other,
                    const py::kwargs& values) {
  Edit e;
  e.kind = edit_kind(kind);
  const std::string what = "edit " + kind;
  const int n = static_cast<int>(b.layout().bodies.size());
  e.body = edit_slot(body, what, "body", n), e.other = edit_slot(other, what, "other", n);
  const std::vector<std::string>& takes = edit_values(e.kind);
  for (const auto& item : values) {
    const std::string name = py::str(item.first);
    if (std::find(takes.begin(), takes.end(), name) == takes.end()) {
      std::string list;
      for (const std::string& t : takes) list += (list.empty() ? "" : ", ") + t;
      throw Error(what + ": takes " + (list.empty() ? "no values" : list) + ", not '" + name + "'");
    }
    if (name == "shape") {
      const std::string shape = py::isinstance<py::str>(item.second) ? py::str(item.second) : py::str(py::repr(item.second));
      if (shape == "circle") e.shape = Shape::Circle;
      else if (shape == "box") e.shape = Shape::Box;
      else throw Error(what + ": shape must be 'circle' or 'box', got '" + shape + "'");
      continue;
    }
    const double v = edit_number(item.second, what, name);
    double* field = name == "x" ? &e.x : name == "y" ? &e.y : name == "angle" ? &e.angle : name == "vx" ? &e.vx
                  : name == "vy" ? &e.vy : name == "omega" ? &e.omega : name == "gx" ? &e.gx : name == "gy" ? &e.gy
                  : &e.scale;
    *field = v;
  }
  return e;
}

// envs: one index or a sequence of them (a list, a numpy array), each an int.
std::vector<int> edit_env_ids(const py::object& envs, int num_envs) {
  std::vector<int> ids;
  const bool one = !py::isinstance<py::str>(envs) && !py::isinstance<py::iterable>(envs);
  const py::object seq = one ? py::object(py::make_tuple(envs)) : envs;
  for (const py::handle item : seq) ids.push_back(int_arg(py::reinterpret_borrow<py::object>(item), "edit: env", 0, num_envs - 1));
  return ids;
}

}  // namespace

void bind_batch(py::module_& m) {
  py::enum_<AutoresetMode>(m, "AutoresetMode")
      .value("NextStep", AutoresetMode::NextStep)
      .value("SameStep", AutoresetMode::SameStep)
      .value("Disabled", AutoresetMode::Disabled);

  py::class_<Batch>(m, "Batch", "N worlds of one definition; outputs are views of buffers it rewrites")
      .def(py::init([](const WorldDef& def, int num_envs, int num_threads, const py::object& seed,
                       AutoresetMode mode) {
             const uint64_t s = seed_value(seed);
             py::gil_scoped_release release;
             return std::make_unique<Batch>(def, num_envs, num_threads, s, mode);
           }),
           py::arg("definition"), py::arg("num_envs") = 1, py::arg("num_threads") = 1,
           py::arg("seed") = 0, py::arg("autoreset") = AutoresetMode::NextStep)
      .def("reset",
           [](Batch& b, const py::object& seed, const py::object& mask) {
             const auto m = mask_bytes(mask, b.num_envs());
             const bool seeded = !seed.is_none();
             const uint64_t s = seeded ? seed_value(seed) : 0;
             py::gil_scoped_release release;
             if (seeded) b.reset(s, mask_ptr(m));
             else b.reset(mask_ptr(m));
           },
           py::arg("seed") = py::none(), py::arg("mask") = py::none())
      .def("reset_to_state",
           [](Batch& b, const py::object& full_state, const py::object& mask) {
             auto s = float_matrix(full_state, "full_state", b.num_envs(), b.state_size());
             const auto m = mask_bytes(mask, b.num_envs());
             py::gil_scoped_release release;
             b.reset_to_state(s.data(), mask_ptr(m));
           },
           py::arg("full_state"), py::arg("mask") = py::none())
      .def("step",
           [](Batch& b, const py::object& actions) {
             auto a = float_matrix(actions, "actions", b.num_envs(), b.action_size());
             py::gil_scoped_release release;
             b.step(a.data());
           },
           py::arg("actions"))
      .def("edit",
           [](Batch& b, const py::object& envs, const py::object& kind, const py::object& body,
              const py::object& other, const py::kwargs& values) {
             if (!py::isinstance<py::str>(kind))
               throw Error("edit: kind must be a str, got " + std::string(py::str(py::type::of(kind).attr("__name__"))));
             const Edit e = edit_from_args(b, kind.cast<std::string>(), body, other, values);
             const std::vector<int> ids = edit_env_ids(envs, b.num_envs());
             // Kept under the GIL (an edit costs one frame per env): no Python thread steps the
             // batch between the checks and the edits, so a request is all or nothing.
             edit_envs(b, ids, e);
           },
           py::arg("envs"), py::arg("kind"), py::arg("body") = py::none(), py::arg("other") = py::none(),
           "Applies one edit (boxlcd/edit.hpp) to envs (an index or a sequence of them), all or nothing; "
           "body and other are slots (other None: the ground and walls); values by name; see Env.edit.")
      .def_property_readonly("body_names",
                             [](const Batch& b) {
                               std::vector<std::string> names;
                               for (const BodySlot& s : b.layout().bodies) names.push_back(s.name);
                               return names;
                             })
      .def("send",
           [](Batch& b, const py::object& actions, const py::object& env_ids) {
             std::vector<int32_t> ids;
             if (!env_ids.is_none()) {
               py::array a = py::array::ensure(env_ids);
               if (!a || (a.dtype().kind() != 'i' && a.dtype().kind() != 'u') || a.ndim() != 1)
                 throw Error("env_ids must be a 1-d integer array");
               auto i32 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
               for (py::ssize_t k = 0; k < i32.size(); ++k) {
                 const int64_t v = i32.data()[k];
                 if (v < 0 || v >= b.num_envs())
                   throw Error("env id " + std::to_string(v) + " is outside [0, " + std::to_string(b.num_envs()) + ")");
                 ids.push_back(static_cast<int32_t>(v));
               }
             }
             const py::ssize_t count = env_ids.is_none() ? b.num_envs() : static_cast<py::ssize_t>(ids.size());
             auto a = float_matrix(actions, "actions", count, b.action_size());
             py::gil_scoped_release release;
             b.send(a.data(), env_ids.is_none() ? nullptr : ids.data(), static_cast<int>(count));
           },
           py::arg("actions"), py::arg("env_ids") = py::none())
      .def("recv",
           [](Batch& b, const py::object& batch_size) {
             const int want = batch_size.is_none() ? b.num_envs() : int_arg(batch_size, "batch_size", 1, INT32_MAX);
             std::vector<int32_t> ids(static_cast<size_t>(std::min(want, b.num_envs())));
             int got;
             {
               py::gil_scoped_release release;
               got = b.recv(ids.data(), static_cast<int>(ids.size()));
             }
             return py::array_t<int32_t>(got, ids.data());
           },
           py::arg("batch_size") = py::none())
      .def_property_readonly("in_flight",
                             [](const Batch& b) {
                               py::gil_scoped_release release;  // waits for a call in another thread
                               return b.in_flight();
                             })
      .def_property("frames_enabled", &Batch::frames_enabled,
                    [](Batch& b, bool on) {
                      py::gil_scoped_release release;
                      b.set_frames_enabled(on);
                    })
      .def("close", &Batch::close, py::call_guard<py::gil_scoped_release>(),
           "Stops the threads and frees the worlds and buffers (arrays still viewing them keep "
           "theirs); every later use raises RuntimeError. Idempotent.")
      .def_property_readonly("closed", &Batch::closed)
      .def("render_rgb",
           [](Batch& b, const py::object& env_arg, const py::object& rows_arg, const py::object& cols_arg) {
             const int env = int_arg(env_arg, "env", INT32_MIN, INT32_MAX);  // Batch says which envs exist
             const int rows = int_arg(rows_arg, "rows", INT32_MIN, INT32_MAX), cols = int_arg(cols_arg, "cols", INT32_MIN, INT32_MAX);
             b.check_render(env, rows, cols);  // before allocating the picture
             py::array_t<uint8_t> out({rows, cols, 3});
             uint8_t* data = out.mutable_data();
             py::gil_scoped_release release;
             b.render_rgb(env, rows, cols, data);
             return out;
           },
           py::arg("env"), py::arg("rows"), py::arg("cols"))
      .def_property_readonly("frames", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.frames(), {b.num_envs(), b.frame_rows(), b.frame_row_bytes()});
      })
      .def_property_readonly("full_state", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.full_state(), {b.num_envs(), b.state_size()});
      })
      .def_property_readonly("proprio", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.proprio(), {b.num_envs(), b.proprio_size()});
      })
      .def_property_readonly("reward", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.reward(), {b.num_envs()});
      })
      .def_property_readonly("terminated", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, reinterpret_cast<bool*>(b.terminated()), {b.num_envs()});
      })
      .def_property_readonly("truncated", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, reinterpret_cast<bool*>(b.truncated()), {b.num_envs()});
      })
      .def_property_readonly("episode_step", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.episode_step(), {b.num_envs()});
      })
      .def_property_readonly("has_final", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, reinterpret_cast<bool*>(b.has_final()), {b.num_envs()});
      })
      .def_property_readonly("final_frames", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.final_frames(), {b.num_envs(), b.frame_rows(), b.frame_row_bytes()});
      })
      .def_property_readonly("final_full_state", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.final_full_state(), {b.num_envs(), b.state_size()});
      })
      .def_property_readonly("final_proprio", [](py::object self) {
        Batch& b = self.cast<Batch&>();
        return view(b, b.final_proprio(), {b.num_envs(), b.proprio_size()});
      })
      .def_property_readonly("definition", [](const Batch& b) { return b.def(); })  // a copy: edits never reach the worlds
      .def_property_readonly("num_envs", &Batch::num_envs)
      .def_property_readonly("num_threads", &Batch::num_threads)
      .def_property_readonly("autoreset", &Batch::autoreset)
      .def_property_readonly("frame_shape", [](const Batch& b) { return py::make_tuple(b.frame_rows(), b.frame_cols()); })
      .def_property_readonly("state_keys", [](const Batch& b) { return b.layout().state_keys(); })
      .def_property_readonly("proprio_keys", [](const Batch& b) { return b.layout().proprio_keys(); })
      .def_property_readonly("action_keys", [](const Batch& b) { return b.layout().action_names(); });

  // ---- Python layer: unpacking frames ------------------------------------------------------
}

}  // namespace boxlcd::bindings
