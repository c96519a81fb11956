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

import dataclasses
import numbers
from dataclasses import dataclass, field

from boxlcd import _core

SHAPES = {"circle": _core.Shape.Circle, "box": _core.Shape.Box, "polygon": _core.Shape.Polygon,
          "random": _core.Shape.Random}
RASTERS = {"seed": _core.RasterRule.Seed, "area": _core.RasterRule.Area}

_BODY, _JOINT, _ROBOT, _OBJECT, _WORLD = (_core.BodyDef(), _core.JointDef(), _core.RobotDef(), _core.ObjectDef(),
                                          _core.WorldDef())


def _pair(v: _core.Vec2) -> tuple[float, float]:
    return (v.x, v.y)


def _name_of(table: dict, value) -> str:
    return next(k for k, v in table.items() if v == value)


@dataclass
class Body:
    """A rigid body's shape and material. shape: "circle" (radius), "box" (half_extents),
    "polygon" (convex vertices, 3 to 8, body frame) or "random" (objects only: box or circle
    per reset, both sized by radius / half_extents)."""
    name: str = ""
    shape: str = _name_of(SHAPES, _BODY.shape)
    radius: float = _BODY.radius
    half_extents: tuple[float, float] = _pair(_BODY.half_extents)
    vertices: list[tuple[float, float]] = field(default_factory=list)
    density: float = _BODY.density
    friction: float = _BODY.friction
    restitution: float = _BODY.restitution
    linear_damping: float = _BODY.linear_damping
    angular_damping: float = _BODY.angular_damping
    category: int = _BODY.category
    mask: int = _BODY.mask


@dataclass
class Joint:
    """The revolute joint hanging a limb on its parent ("root" or an earlier limb's name).
    angle is relative to the robot's root; lower == upper makes a joint without an action."""
    parent: str = _JOINT.parent
    angle: float = _JOINT.angle
    anchor_parent: tuple[float, float] = _pair(_JOINT.anchor_parent)
    anchor_limb: tuple[float, float] = _pair(_JOINT.anchor_limb)
    lower: float = _JOINT.lower
    upper: float = _JOINT.upper
    limited: bool = _JOINT.limited
    speed: float = _JOINT.speed
    max_torque: float = _JOINT.max_torque


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
    bound: float = _ROBOT.bound
    rand_angle: bool = _ROBOT.rand_angle

    @staticmethod
    def builtin(name: str) -> "Robot":
        """A built-in robot: urchin, luxo, crab or spider."""
        return _from_robot(_core.robot_def(name))


@dataclass
class WorldObject:
    """A free body placed at random each reset (its angle too when rand_angle)."""
    body: Body
    rand_angle: bool = _OBJECT.rand_angle


@dataclass
class World:
    name: str = "Custom"
    robots: list[Robot] = field(default_factory=list)
    objects: list[WorldObject] = field(default_factory=list)
    height: float = _WORLD.height
    wh_ratio: float = _WORLD.wh_ratio
    gravity: tuple[float, float] = _pair(_WORLD.gravity)
    walls: bool = _WORLD.walls
    fps: int = _WORLD.fps
    substeps: int = _WORLD.substeps
    velocity_iterations: int = _WORLD.velocity_iterations
    position_iterations: int = _WORLD.position_iterations
    lcd_base: int = _WORLD.lcd_base
    ep_len: int = _WORLD.ep_len
    use_speed: bool = _WORLD.use_speed
    raster: str = _name_of(RASTERS, _WORLD.raster)
    object_max_y: float = _WORLD.object_max_y

    @staticmethod
    def builtin(name: str) -> "World":
        """A built-in env's definition (a fresh copy)."""
        return World.from_def(_core.env_def(name))

    @staticmethod
    def from_def(definition: _core.WorldDef) -> "World":
        if not isinstance(definition, _core.WorldDef):
            raise TypeError(f"definition must be a boxlcd.WorldDef, got {type(definition).__name__}")
        d = definition
        return World(
            name=d.name, robots=[_from_robot(r) for r in d.robots],
            objects=[WorldObject(_from_body(o.body), o.rand_angle) for o in d.objects],
            height=d.height, wh_ratio=d.wh_ratio, gravity=_pair(d.gravity), walls=d.walls, fps=d.fps,
            substeps=d.substeps, velocity_iterations=d.velocity_iterations,
            position_iterations=d.position_iterations, lcd_base=d.lcd_base, ep_len=d.ep_len,
            use_speed=d.use_speed, raster=_name_of(RASTERS, d.raster), object_max_y=d.object_max_y)

    def to_def(self) -> _core.WorldDef:
        """The C++ definition (not yet validated: see validate())."""
        d = _core.WorldDef()
        _copy_fields(self, d, "world", skip=("robots", "objects", "gravity", "raster"))
        d.gravity = _vec(self.gravity, "world.gravity")
        d.raster = _choice(RASTERS, self.raster, "world.raster")
        d.robots = [_to_robot(r, f"world.robots[{i}]") for i, r in enumerate(_list(self.robots, "world.robots"))]
        d.objects = [_to_object(o, f"world.objects[{i}]") for i, o in enumerate(_list(self.objects, "world.objects"))]
        return d

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


def _from_body(b: _core.BodyDef) -> Body:
    return Body(name=b.name, shape=_name_of(SHAPES, b.shape), radius=b.radius, half_extents=_pair(b.half_extents),
                vertices=[_pair(v) for v in b.vertices], density=b.density, friction=b.friction,
                restitution=b.restitution, linear_damping=b.linear_damping, angular_damping=b.angular_damping,
                category=b.category, mask=b.mask)


def _from_robot(r: _core.RobotDef) -> Robot:
    limbs = [Limb(_from_body(limb.body), Joint(
        parent=limb.joint.parent, angle=limb.joint.angle, anchor_parent=_pair(limb.joint.anchor_parent),
        anchor_limb=_pair(limb.joint.anchor_limb), lower=limb.joint.lower, upper=limb.joint.upper,
        limited=limb.joint.limited, speed=limb.joint.speed, max_torque=limb.joint.max_torque)) for limb in r.limbs]
    return Robot(type=r.type, root=_from_body(r.root), limbs=limbs, bound=r.bound, rand_angle=r.rand_angle)


def _expect(value, types, what: str, path: str):
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"{path} must be {what}, got a bool")
    if not isinstance(value, types):
        raise TypeError(f"{path} must be {what}, got {type(value).__name__} {value!r}")
    return value


def _copy_fields(src, dst, path: str, skip=()) -> None:
    """Copies a dataclass's plain fields onto a C++ definition, checking each type."""
    for f in dataclasses.fields(src):
        if f.name in skip:
            continue
        value = getattr(src, f.name)
        where = f"{path}.{f.name}"
        kind = type(getattr(dst, f.name))
        if kind is bool:
            value = _expect(value, (bool,), "a bool", where)
        elif kind is int:
            value = int(_expect(value, (numbers.Integral,), "an int", where))
            if f.name in ("category", "mask") and not 0 <= value <= 0xFFFF:
                raise ValueError(f"{where} must be in [0, 0xFFFF], got {value}")
        elif kind is float:
            value = float(_expect(value, (numbers.Real,), "a number", where))
        elif kind is str:
            value = _expect(value, (str,), "a str", where)
        setattr(dst, f.name, value)


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


def _to_body(b: Body, path: str) -> _core.BodyDef:
    _expect(b, (Body,), "a boxlcd.worlds.Body", path)
    d = _core.BodyDef()
    _copy_fields(b, d, path, skip=("shape", "half_extents", "vertices"))
    d.shape = _choice(SHAPES, b.shape, f"{path}.shape")
    d.half_extents = _vec(b.half_extents, f"{path}.half_extents")
    d.vertices = [_vec(v, f"{path}.vertices[{i}]") for i, v in enumerate(_list(b.vertices, f"{path}.vertices"))]
    return d


def _to_robot(r: Robot, path: str) -> _core.RobotDef:
    _expect(r, (Robot,), "a boxlcd.worlds.Robot", path)
    d = _core.RobotDef()
    _copy_fields(r, d, path, skip=("root", "limbs"))
    d.root = _to_body(r.root, f"{path}.root")
    limbs = []
    for i, limb in enumerate(_list(r.limbs, f"{path}.limbs")):
        where = f"{path}.limbs[{i}]"
        _expect(limb, (Limb,), "a boxlcd.worlds.Limb", where)
        j = _core.JointDef()
        _expect(limb.joint, (Joint,), "a boxlcd.worlds.Joint", f"{where}.joint")
        _copy_fields(limb.joint, j, f"{where}.joint", skip=("anchor_parent", "anchor_limb"))
        j.anchor_parent = _vec(limb.joint.anchor_parent, f"{where}.joint.anchor_parent")
        j.anchor_limb = _vec(limb.joint.anchor_limb, f"{where}.joint.anchor_limb")
        limbs.append(_core.LimbDef(_to_body(limb.body, f"{where}.body"), j))
    d.limbs = limbs
    return d


def _to_object(o: WorldObject, path: str) -> _core.ObjectDef:
    _expect(o, (WorldObject,), "a boxlcd.worlds.WorldObject", path)
    d = _core.ObjectDef()
    d.body = _to_body(o.body, f"{path}.body")
    d.rand_angle = _expect(o.rand_angle, (bool,), "a bool", f"{path}.rand_angle")
    return d


__all__ = ["Body", "Joint", "Limb", "Robot", "World", "WorldObject"]
