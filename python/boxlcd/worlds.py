"""World definitions as Python dataclasses, mirroring the C++ ones (cpp/include/boxlcd/world_def.hpp).

    world = boxlcd.worlds.World.builtin("Urchin")          # a built-in env, to copy and change
    world = dataclasses.replace(world, name="Urchin3", objects=[WorldObject(Body(shape="circle", radius=0.3))])
    env = boxlcd.make(world, num_envs=256)                 # runs in C++ like a built-in env

World <-> boxlcd.WorldDef with World.to_def() and World.from_def(); Robot.builtin("urchin") gives
a built-in robot. Defaults are read from the C++ types, so the two never disagree.
validate() (and make()) raise TypeError for a value of the wrong type and ValueError, naming
the field, for a definition the engine cannot build.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from boxlcd import _core

# Enum names as the C++ tables spell them (lower case); a value's first name is its own, later
# ones are aliases ("seed", the old name of raster "original").
SHAPES = {name.lower(): value for name, value in _core.Shape.__members__.items()}
RASTERS = {name.lower(): value for name, value in _core.RasterRule.__members__.items()}
_ENUMS = {"Shape": SHAPES, "RasterRule": RASTERS}


def _name_of(table: dict, value) -> str:
    return next(k for k, v in table.items() if v == value)


def _element(kind: str) -> str | None:
    """The element kind of a list kind ("list[Vec2]" -> "Vec2"), or None."""
    return kind[5:-1] if kind.startswith("list[") else None


def _from_cpp(value, kind: str):
    """A C++ field's value (its kind from the field table) as the dataclasses hold it."""
    if _element(kind):
        return [_from_cpp(v, _element(kind)) for v in value]
    if kind == "Vec2":
        return (value.x, value.y)
    if kind in _ENUMS:
        return _name_of(_ENUMS[kind], value)
    if kind in ("float", "int", "bool", "str"):
        return value
    cls = _DATACLASS_OF[kind]  # a definition: its dataclass, field by field
    return cls(**{f["name"]: _from_cpp(getattr(value, f["name"]), f["kind"]) for f in _MIRRORS[cls].fields})


def _default(cpp_class, name: str):
    """A field's default in C++, as the dataclasses hold it: the two never disagree."""
    row = next(f for f in cpp_class.fields if f["name"] == name)
    return _from_cpp(row["default"], row["kind"])


@dataclass
class Body:
    """A rigid body's shape and material. shape: "circle" (radius), "box" (half_extents),
    "polygon" (convex vertices, 3 to 8, body frame) or "random" (objects only: box or circle
    per reset, both sized by radius / half_extents)."""
    name: str = ""
    shape: str = _default(_core.BodyDef, "shape")
    radius: float = _default(_core.BodyDef, "radius")
    half_extents: tuple[float, float] = _default(_core.BodyDef, "half_extents")
    vertices: list[tuple[float, float]] = field(default_factory=list)
    density: float = _default(_core.BodyDef, "density")
    friction: float = _default(_core.BodyDef, "friction")
    restitution: float = _default(_core.BodyDef, "restitution")
    linear_damping: float = _default(_core.BodyDef, "linear_damping")
    angular_damping: float = _default(_core.BodyDef, "angular_damping")
    category: int = _default(_core.BodyDef, "category")
    mask: int = _default(_core.BodyDef, "mask")


@dataclass
class Joint:
    """The revolute joint hanging a limb on its parent ("root" or an earlier limb's name).
    angle is relative to the robot's root; lower == upper makes a joint without an action."""
    parent: str = _default(_core.JointDef, "parent")
    angle: float = _default(_core.JointDef, "angle")
    anchor_parent: tuple[float, float] = _default(_core.JointDef, "anchor_parent")
    anchor_limb: tuple[float, float] = _default(_core.JointDef, "anchor_limb")
    lower: float = _default(_core.JointDef, "lower")
    upper: float = _default(_core.JointDef, "upper")
    limited: bool = _default(_core.JointDef, "limited")
    speed: float = _default(_core.JointDef, "speed")
    max_torque: float = _default(_core.JointDef, "max_torque")


@dataclass
class Limb:
    body: Body
    joint: Joint = field(default_factory=Joint)


@dataclass
class Robot:
    """type names the state keys ("<type>0:root:x:p", ...); limbs list parents before children."""
    type: str
    root: Body
    limbs: list[Limb] = field(default_factory=list)
    bound: float = _default(_core.RobotDef, "bound")
    rand_angle: bool = _default(_core.RobotDef, "rand_angle")

    @staticmethod
    def builtin(name: str) -> "Robot":
        """A built-in robot: urchin, luxo, crab or spider."""
        return _from_cpp(_core.robot_def(name), "RobotDef")


@dataclass
class WorldObject:
    """A free body placed at random each reset (its angle too when rand_angle)."""
    body: Body
    rand_angle: bool = _default(_core.ObjectDef, "rand_angle")


@dataclass
class World:
    name: str = "Custom"
    robots: list[Robot] = field(default_factory=list)
    objects: list[WorldObject] = field(default_factory=list)
    height: float = _default(_core.WorldDef, "height")
    wh_ratio: float = _default(_core.WorldDef, "wh_ratio")
    gravity: tuple[float, float] = _default(_core.WorldDef, "gravity")
    walls: bool = _default(_core.WorldDef, "walls")
    fps: int = _default(_core.WorldDef, "fps")
    substeps: int = _default(_core.WorldDef, "substeps")
    velocity_iterations: int = _default(_core.WorldDef, "velocity_iterations")
    position_iterations: int = _default(_core.WorldDef, "position_iterations")
    lcd_base: int = _default(_core.WorldDef, "lcd_base")
    ep_len: int = _default(_core.WorldDef, "ep_len")
    use_speed: bool = _default(_core.WorldDef, "use_speed")
    raster: str = _default(_core.WorldDef, "raster")
    object_max_y: float = _default(_core.WorldDef, "object_max_y")

    @staticmethod
    def builtin(name: str) -> "World":
        """A built-in env's definition (a fresh copy)."""
        return World.from_def(_core.env_def(name))

    @staticmethod
    def from_def(definition: _core.WorldDef) -> "World":
        if not isinstance(definition, _core.WorldDef):
            raise TypeError(f"definition must be a boxlcd.WorldDef, got {type(definition).__name__}")
        return _from_cpp(definition, "WorldDef")

    def to_def(self) -> _core.WorldDef:
        """The C++ definition (not yet validated: see validate())."""
        return _value_to_cpp(self, "WorldDef", None, "world")

    def validate(self) -> "World":
        """Raises TypeError or ValueError naming the first problem; returns self."""
        _core.validate(self.to_def())
        return self

    @property
    def width(self) -> float:
        return self.wh_ratio * self.height

    @property
    def frame_shape(self) -> tuple[int, int]:
        return tuple(self.to_def().frame_shape)


# Each dataclass and the C++ definition it mirrors; conversions walk the C++ field tables
# (_core.<Def>.fields), so a field is converted the same way wherever it appears.
_MIRRORS = {Body: _core.BodyDef, Joint: _core.JointDef, Limb: _core.LimbDef, Robot: _core.RobotDef,
            WorldObject: _core.ObjectDef, World: _core.WorldDef}
_DATACLASS_OF = {cpp.__name__: py for py, cpp in _MIRRORS.items()}


def _value_to_cpp(value, kind: str, bounds, path: str):
    """A dataclass value checked and converted for a C++ field of this kind and range; path
    names it in errors."""
    element = _element(kind)
    if element:
        return [_value_to_cpp(v, element, bounds, f"{path}[{i}]") for i, v in enumerate(_list(value, path))]
    if kind == "bool":
        return _expect(value, (bool,), "a bool", path)
    if kind == "int":
        value = int(_expect(value, (numbers.Integral,), "an int", path))
        # Checked here too: past a C++ int's range pybind11 would raise an unhelpful TypeError.
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{path} must be in [{bounds[0]:g}, {bounds[1]:g}], got {value}")
        return value
    if kind == "float":
        return float(_expect(value, (numbers.Real,), "a number", path))
    if kind == "str":
        return _expect(value, (str,), "a str", path)
    if kind == "Vec2":
        return _vec(value, path)
    if kind in _ENUMS:
        return _choice(_ENUMS[kind], value, path)
    cls = _DATACLASS_OF[kind]
    _expect(value, (cls,), f"a boxlcd.worlds.{cls.__name__}", path)
    d = _MIRRORS[cls]()
    for f in d.fields:
        setattr(d, f["name"], _value_to_cpp(getattr(value, f["name"]), f["kind"], f["range"], f"{path}.{f['name']}"))
    return d


def _expect(value, types, what: str, path: str):
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"{path} must be {what}, got a bool")
    if not isinstance(value, types):
        raise TypeError(f"{path} must be {what}, got {type(value).__name__} {value!r}")
    return value


def _vec(value, path: str) -> _core.Vec2:
    try:
        x, y = value
    except (TypeError, ValueError):
        raise TypeError(f"{path} must be a pair of numbers (x, y), got {value!r}") from None
    for c in (x, y):
        _expect(c, (numbers.Real,), "a pair of numbers (x, y)", path)
    return _core.Vec2(float(x), float(y))


def _choice(table: dict, value, path: str):
    if value not in table:
        raise ValueError(f"{path} must be one of {list(table)}, got {value!r}")
    return table[value]


def _list(value, path: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{path} must be a list, got {type(value).__name__}")
    return list(value)


def definition_summary(definition: _core.WorldDef) -> dict:
    """A world's settings, every field but its bodies, as JSON values (dataset manifests)."""
    return {f["name"]: _from_cpp(getattr(definition, f["name"]), f["kind"])
            for f in definition.fields if not _element(f["kind"])}


__all__ = ["Body", "Joint", "Limb", "Robot", "World", "WorldObject"]
