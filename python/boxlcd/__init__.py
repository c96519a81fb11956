"""boxlcd: batched Box2D worlds rendered to tiny binary LCD frames."""
from boxlcd._core import (
    AutoresetMode,
    Batch,
    BodyDef,
    JointDef,
    LimbDef,
    ObjectDef,
    RasterRule,
    RobotDef,
    Shape,
    Vec2,
    WorldDef,
    apply_override,
    env_def,
    override_names,
    robot_def,
    solver_presets,
    validate,
)
from boxlcd.env import Env, envs, make
from boxlcd.frames import unpack
from boxlcd.worlds import Body, Joint, Limb, Robot, World, WorldObject
from boxlcd.registration import register_envs as _register_envs

__all__ = [
    "AutoresetMode", "Batch", "Body", "BodyDef", "Env", "Joint", "JointDef", "Limb", "LimbDef", "ObjectDef",
    "RasterRule", "Robot", "RobotDef", "Shape", "Vec2", "World", "WorldDef", "WorldObject", "apply_override",
    "env_def", "envs", "make", "override_names", "robot_def", "solver_presets", "unpack", "validate",
]
__version__ = "0.1.0"

_register_envs()  # gymnasium.make("boxlcd/Urchin-v0") works once boxlcd is imported
