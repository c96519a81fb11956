// boxlcd._core's definitions, bound field by field from their C++ tables (fields.hpp), the
// catalogue and validation. Each class also carries its table as `fields`, which
// boxlcd.worlds converts by and tests compare its dataclasses against.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cctype>
#include <cstdio>
#include <deque>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.hpp"
#include "boxlcd/boxlcd.hpp"

namespace boxlcd::bindings {
namespace {

template <class T>
constexpr bool is_vector = false;
template <class T>
constexpr bool is_vector<std::vector<T>> = true;

// Python's name of a field's type: float, int, bool, str, a bound class, or list[...].
template <class T>
std::string kind_of() {
  if constexpr (std::is_same_v<T, double>) return "float";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_integral_v<T>) return "int";
  else if constexpr (std::is_same_v<T, std::string>) return "str";
  else if constexpr (is_vector<T>) return "list[" + kind_of<typename T::value_type>() + "]";
  else return py::str(py::type::of(py::cast(T{})).attr("__name__"));  // a bound class or enum
}

// pybind11 keeps the pointer of a property's doc; these live as long as the module.
const char* keep(std::string doc) {
  static std::deque<std::string> docs;
  return docs.emplace_back(std::move(doc)).c_str();
}

template <class Def>
std::string describe(const Field<Def>& f) {
  std::string doc = f.doc;
  if (!f.range.empty()) {
    char range[96];
    std::snprintf(range, sizeof range, "; in [%g, %g]%s%s", f.range.lo, f.range.hi, *f.range.unit ? " " : "",
                  f.range.unit);
    doc += range;
  }
  return doc;
}

// Lists are copied both ways: an element handed out must not point into a vector that a later
// assignment frees. Structs are handles into their owner, which they keep alive (an owner's
// members never move). Numbers, strings and enums are values.
template <class Def, class T>
void bind_field(py::class_<Def>& cls, const Field<Def>& f, T Def::*m) {
  const char* doc = keep(describe(f));
  if constexpr (is_vector<T>) {
    cls.def_property(
        f.name, [m](const Def& d) { return d.*m; }, [m](Def& d, T v) { d.*m = std::move(v); }, doc);
  } else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
    cls.def_property(
        f.name, py::cpp_function([m](Def& d) -> T& { return d.*m; }, py::return_value_policy::reference_internal),
        py::cpp_function([m](Def& d, const T& v) { d.*m = v; }), doc);
  } else {
    cls.def_property(
        f.name, [m](const Def& d) { return d.*m; }, [m](Def& d, T v) { d.*m = v; }, doc);
  }
}

// Binds every field of Def's table and attaches the table itself as Def.fields: a tuple of
// {name, kind, doc, range: (lo, hi, unit) or None, default, setting}.
template <class Def>
void bind_fields(py::class_<Def>& cls) {
  const Def defaults{};
  py::list table;
  for (const Field<Def>& f : fields<Def>()) {
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(defaults.*member)>;
          bind_field(cls, f, member);
          py::dict row;
          row["name"] = f.name;
          row["kind"] = kind_of<std::remove_const_t<T>>();
          row["doc"] = f.doc;
          row["range"] = f.range.empty() ? py::object(py::none())
                                         : py::object(py::make_tuple(f.range.lo, f.range.hi, f.range.unit));
          row["default"] = py::cast(defaults.*member, py::return_value_policy::copy);
          row["setting"] = f.setting;
          table.append(row);
        },
        f.member);
  }
  cls.attr("fields") = py::tuple(table);
}

// The enum's names (capitalised) from its C++ table; aliases become extra names of a value.
template <class E>
void bind_enum(py::module_& m, const char* name) {
  py::enum_<E> e(m, name);
  for (const auto& [n, v] : enum_names<E>()) {
    std::string title = n;
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
    e.value(title.c_str(), v);
  }
}

}  // namespace

void bind_world_def(py::module_& m) {
  bind_enum<Shape>(m, "Shape");
  bind_enum<RasterRule>(m, "RasterRule");

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

  // Nested types first: a table's kinds name the classes bound before it.
  py::class_<BodyDef> body(m, "BodyDef");
  body.def(py::init<>());
  bind_fields(body);
  py::class_<JointDef> joint(m, "JointDef");
  joint.def(py::init<>());
  bind_fields(joint);
  py::class_<LimbDef> limb(m, "LimbDef");
  limb.def(py::init<>()).def(py::init<BodyDef, JointDef>(), py::arg("body"), py::arg("joint"));
  bind_fields(limb);
  py::class_<RobotDef> robot(m, "RobotDef");
  robot.def(py::init<>());
  bind_fields(robot);
  py::class_<ObjectDef> object(m, "ObjectDef");
  object.def(py::init<>()).def_property_readonly("size", &ObjectDef::size);
  bind_fields(object);
  py::class_<WorldDef> world(m, "WorldDef");
  world.def(py::init<>())
      .def_property_readonly("width", &WorldDef::width)
      .def_property_readonly("frame_shape", [](const WorldDef& w) {
        return py::make_tuple(w.frame_rows(), w.frame_cols());
      })
      .def("copy", [](const WorldDef& w) { return WorldDef(w); });
  bind_fields(world);

  m.def("env_names", &env_names, "Names of the built-in envs.");
  m.def("env_def", &env_def, py::arg("name"), "A copy of a built-in env's definition.");
  m.def("validate", &validate, py::arg("definition"), "Raises ValueError naming the first problem.");
  m.def("apply_override", &apply_override, py::arg("definition"), py::arg("key"), py::arg("value"));
  m.def("override_names", &override_names);
  m.def("solver_presets", [] {
    py::dict out;
    for (const SolverPreset& p : solver_presets())
      out[py::str(p.name)] = py::dict(py::arg("velocity_iterations") = p.velocity_iterations,
                                      py::arg("position_iterations") = p.position_iterations,
                                      py::arg("substeps") = p.substeps);
    return out;
  }, "{name: {velocity_iterations, position_iterations, substeps}} of make(..., solver=name).");
  m.def("robot_def", [](const std::string& name) {
    if (name == "urchin") return urchin();
    if (name == "luxo") return luxo();
    if (name == "crab") return crab();
    if (name == "spider") return spider();
    throw Error("unknown robot '" + name + "'; robots: urchin, luxo, crab, spider");
  }, py::arg("name"));
  m.def("bytes_per_env", &bytes_per_env, py::arg("definition"));
}

}  // namespace boxlcd::bindings
