// The pybind11 module boxlcd._core: definitions, the catalogue and Batch, and nothing else.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "boxlcd/boxlcd.hpp"

namespace py = pybind11;
using namespace boxlcd;

namespace {

// A view of a buffer the batch owns; the buffers stay alive while the array does, even
// after Batch.close().
template <class T>
py::array_t<T> view(Batch& b, T* data, std::vector<py::ssize_t> shape) {
  auto* owner = new std::shared_ptr<void>(b.buffer_owner());
  py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
  return py::array_t<T>(shape, data, base);
}

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
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

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "boxlcd's C++ core: batched Box2D worlds rendered to packed 1-bit frames";

  py::enum_<Shape>(m, "Shape")
      .value("Circle", Shape::Circle)
      .value("Box", Shape::Box)
      .value("Polygon", Shape::Polygon)
      .value("Random", Shape::Random);
  py::enum_<RasterRule>(m, "RasterRule").value("Seed", RasterRule::Seed).value("Area", RasterRule::Area);
  py::enum_<AutoresetMode>(m, "AutoresetMode")
      .value("NextStep", AutoresetMode::NextStep)
      .value("SameStep", AutoresetMode::SameStep)
      .value("Disabled", AutoresetMode::Disabled);

  py::class_<Vec2>(m, "Vec2")
      .def(py::init<>())
      .def(py::init<double, double>(), py::arg("x"), py::arg("y"))
      .def(py::init([](py::tuple t) {
        if (t.size() != 2) throw Error("a Vec2 needs two numbers");
        return Vec2{t[0].cast<double>(), t[1].cast<double>()};
      }))
      .def_readwrite("x", &Vec2::x)
      .def_readwrite("y", &Vec2::y)
      .def("__repr__", [](const Vec2& v) { return "Vec2(" + std::to_string(v.x) + ", " + std::to_string(v.y) + ")"; });
  py::implicitly_convertible<py::tuple, Vec2>();

  py::class_<BodyDef>(m, "BodyDef")
      .def(py::init<>())
      .def_readwrite("name", &BodyDef::name)
      .def_readwrite("shape", &BodyDef::shape)
      .def_readwrite("radius", &BodyDef::radius)
      .def_readwrite("half_extents", &BodyDef::half_extents)
      .def_readwrite("vertices", &BodyDef::vertices)
      .def_readwrite("density", &BodyDef::density)
      .def_readwrite("friction", &BodyDef::friction)
      .def_readwrite("restitution", &BodyDef::restitution)
      .def_readwrite("linear_damping", &BodyDef::linear_damping)
      .def_readwrite("angular_damping", &BodyDef::angular_damping)
      .def_readwrite("category", &BodyDef::category)
      .def_readwrite("mask", &BodyDef::mask);
  py::class_<JointDef>(m, "JointDef")
      .def(py::init<>())
      .def_readwrite("parent", &JointDef::parent)
      .def_readwrite("angle", &JointDef::angle)
      .def_readwrite("anchor_parent", &JointDef::anchor_parent)
      .def_readwrite("anchor_limb", &JointDef::anchor_limb)
      .def_readwrite("lower", &JointDef::lower)
      .def_readwrite("upper", &JointDef::upper)
      .def_readwrite("limited", &JointDef::limited)
      .def_readwrite("speed", &JointDef::speed)
      .def_readwrite("max_torque", &JointDef::max_torque);
  py::class_<LimbDef>(m, "LimbDef")
      .def(py::init<>())
      .def(py::init<BodyDef, JointDef>(), py::arg("body"), py::arg("joint"))
      .def_readwrite("body", &LimbDef::body)
      .def_readwrite("joint", &LimbDef::joint);
  py::class_<RobotDef>(m, "RobotDef")
      .def(py::init<>())
      .def_readwrite("type", &RobotDef::type)
      .def_readwrite("bound", &RobotDef::bound)
      .def_readwrite("rand_angle", &RobotDef::rand_angle)
      .def_readwrite("root", &RobotDef::root)
      .def_readwrite("limbs", &RobotDef::limbs);
  py::class_<ObjectDef>(m, "ObjectDef")
      .def(py::init<>())
      .def_readwrite("body", &ObjectDef::body)
      .def_readwrite("rand_angle", &ObjectDef::rand_angle)
      .def_property_readonly("size", &ObjectDef::size);
  py::class_<WorldDef>(m, "WorldDef")
      .def(py::init<>())
      .def_readwrite("name", &WorldDef::name)
      .def_readwrite("robots", &WorldDef::robots)
      .def_readwrite("objects", &WorldDef::objects)
      .def_readwrite("height", &WorldDef::height)
      .def_readwrite("wh_ratio", &WorldDef::wh_ratio)
      .def_readwrite("gravity", &WorldDef::gravity)
      .def_readwrite("walls", &WorldDef::walls)
      .def_readwrite("fps", &WorldDef::fps)
      .def_readwrite("substeps", &WorldDef::substeps)
      .def_readwrite("velocity_iterations", &WorldDef::velocity_iterations)
      .def_readwrite("position_iterations", &WorldDef::position_iterations)
      .def_readwrite("lcd_base", &WorldDef::lcd_base)
      .def_readwrite("ep_len", &WorldDef::ep_len)
      .def_readwrite("use_speed", &WorldDef::use_speed)
      .def_readwrite("raster", &WorldDef::raster)
      .def_readwrite("object_max_y", &WorldDef::object_max_y)
      .def_property_readonly("width", &WorldDef::width)
      .def_property_readonly("frame_shape", [](const WorldDef& w) {
        return py::make_tuple(w.frame_rows(), w.frame_cols());
      })
      .def("copy", [](const WorldDef& w) { return WorldDef(w); });

  m.def("env_names", &env_names, "Names of the built-in envs.");
  m.def("env_def", &env_def, py::arg("name"), "A copy of a built-in env's definition.");
  m.def("validate", &validate, py::arg("definition"), "Raises ValueError naming the first problem.");
  m.def("apply_override", &apply_override, py::arg("definition"), py::arg("key"), py::arg("value"));
  m.def("override_names", &override_names);
  m.def("robot_def", [](const std::string& name) {
    if (name == "urchin") return urchin();
    if (name == "luxo") return luxo();
    if (name == "crab") return crab();
    if (name == "spider") return spider();
    throw Error("unknown robot '" + name + "'; robots: urchin, luxo, crab, spider");
  }, py::arg("name"));
  m.def("bytes_per_env", &bytes_per_env, py::arg("definition"));

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
      .def_property_readonly("definition", &Batch::def)
      .def_property_readonly("num_envs", &Batch::num_envs)
      .def_property_readonly("num_threads", &Batch::num_threads)
      .def_property_readonly("autoreset", &Batch::autoreset)
      .def_property_readonly("frame_shape", [](const Batch& b) { return py::make_tuple(b.frame_rows(), b.frame_cols()); })
      .def_property_readonly("state_keys", [](const Batch& b) { return b.layout().state_keys(); })
      .def_property_readonly("proprio_keys", [](const Batch& b) { return b.layout().proprio_keys(); })
      .def_property_readonly("action_keys", [](const Batch& b) { return b.layout().action_names(); });

  // ---- Python layer (issue 3): unpacking frames ---------------------------------------------
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
  // ---- end of the Python layer's block --------------------------------------------------------
}
