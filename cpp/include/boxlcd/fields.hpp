// Each definition type's fields in one table: name, member, doc and valid range. The tables
// drive validation (the ranges), the named overrides (the world's settings), the Python
// bindings and, through the bindings, boxlcd.worlds' dataclasses and dataset summaries; a
// field added to a struct in world_def.hpp is added to its table in world_def.cpp, once.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "boxlcd/world_def.hpp"

namespace boxlcd {

// Inclusive bounds of a number, of each component of a Vec2 and of each vertex; NaN is
// outside. Fields that are not numbers have none (lo > hi).
struct Range {
  double lo = 0.0;
  double hi = -1.0;
  const char* unit = "";
  bool empty() const { return lo > hi; }
};

template <class Def>
struct Field {
  using Member =
      std::variant<double Def::*, int Def::*, bool Def::*, uint16_t Def::*, std::string Def::*, Vec2 Def::*,
                   std::vector<Vec2> Def::*, Shape Def::*, RasterRule Def::*, BodyDef Def::*, JointDef Def::*,
                   std::vector<LimbDef> Def::*, std::vector<RobotDef> Def::*, std::vector<ObjectDef> Def::*>;
  const char* name;
  Member member;
  const char* doc;
  Range range = {};
  bool setting = false;  // a named override (world settings; a Vec2 gives NAME_x and NAME_y)
};

// The tables, one per definition type (world_def.cpp).
template <class Def>
const std::vector<Field<Def>>& fields();
template <>
const std::vector<Field<BodyDef>>& fields<BodyDef>();
template <>
const std::vector<Field<JointDef>>& fields<JointDef>();
template <>
const std::vector<Field<LimbDef>>& fields<LimbDef>();
template <>
const std::vector<Field<RobotDef>>& fields<RobotDef>();
template <>
const std::vector<Field<ObjectDef>>& fields<ObjectDef>();
template <>
const std::vector<Field<WorldDef>>& fields<WorldDef>();

// Calls fn(field, value) for each field of def, value a (const) reference to the member.
template <class Def, class Fn>
void for_each_field(Def& def, Fn&& fn) {
  using Plain = std::remove_const_t<Def>;
  for (const Field<Plain>& f : fields<Plain>())
    std::visit([&](auto member) { fn(f, def.*member); }, f.member);
}

// Names of an enum's values, as Python and the overrides spell them; a value's first name is
// its own, any later one an alias kept for old code and files.
template <class E>
const std::vector<std::pair<const char*, E>>& enum_names();
template <>
const std::vector<std::pair<const char*, Shape>>& enum_names<Shape>();
template <>
const std::vector<std::pair<const char*, RasterRule>>& enum_names<RasterRule>();

// The enum's own name of a value, and the value of a name or alias (false if none).
template <class E>
const char* name_of(E value) {
  for (const auto& [name, v] : enum_names<E>())
    if (v == value) return name;
  return "";
}
template <class E>
bool value_of(const std::string& name, E& out) {
  for (const auto& [n, v] : enum_names<E>())
    if (name == n) {
      out = v;
      return true;
    }
  return false;
}

}  // namespace boxlcd
