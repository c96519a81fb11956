"""Custom worlds from Python: dataclasses <-> WorldDef, running them, and clear errors."""
import dataclasses

import numpy as np
import pytest

import boxlcd
from boxlcd.worlds import Body, Joint, Limb, Robot, World, WorldObject
from conftest import random_actions, rollout


@pytest.mark.parametrize("name", boxlcd.envs())
def test_builtin_round_trip_and_same_run(name):
    world = World.builtin(name)
    assert world.name == name
    assert World.from_def(world.to_def()) == world
    a = boxlcd.make(world, num_envs=3, seed=4)
    b = boxlcd.make(name, num_envs=3, seed=4)
    assert a.state_keys == b.state_keys and a.action_keys == b.action_keys
    actions = random_actions(a, 12)
    fa, sa = rollout(a, actions)
    fb, sb = rollout(b, actions)
    assert fa.tobytes() == fb.tobytes() and sa.tobytes() == sb.tobytes()


def test_defaults_mirror_the_cpp_types():
    assert dataclasses.replace(World(), name="") == World.from_def(boxlcd.WorldDef())
    body = boxlcd.BodyDef()
    assert Body().density == body.density and Body().mask == body.mask and Body().shape == "box"
    assert Joint().speed == boxlcd.JointDef().speed == 8.0


def walker() -> Robot:
    """A new robot: a box body on two two-segment legs."""
    leg = Body(shape="box", half_extents=(0.08, 0.3), mask=0x0011)
    limbs = []
    for side, x in (("l", -0.3), ("r", 0.3)):
        limbs.append(Limb(dataclasses.replace(leg, name=f"{side}thigh"),
                          Joint(anchor_parent=(x, -0.2), anchor_limb=(0, 0.3), lower=-1, upper=1)))
        limbs.append(Limb(dataclasses.replace(leg, name=f"{side}shin"),
                          Joint(parent=f"{side}thigh", anchor_parent=(0, -0.3), anchor_limb=(0, 0.3),
                                lower=-0.8, upper=0.8)))
    return Robot(type="walker", root=Body(shape="polygon", vertices=[(-0.4, -0.2), (0.4, -0.2), (0.3, 0.2), (-0.3, 0.2)],
                                          mask=0x0011), limbs=limbs, bound=1.2)


def test_a_robot_defined_in_python_steps_and_renders():
    world = World(name="Walker", robots=[walker()], objects=[WorldObject(Body(shape="circle", radius=0.3, friction=0.5))],
                  wh_ratio=2.0, ep_len=40)
    assert world.validate() is world and world.frame_shape == (16, 32)
    env = boxlcd.make(world, num_envs=4, num_threads=2, seed=0)
    assert env.action_keys == ["walker0:lshin:speed", "walker0:lthigh:speed", "walker0:rshin:speed",
                               "walker0:rthigh:speed"]
    assert len(env.state_keys) == 4 * 6 and "object0:x:p" in env.state_keys
    obs = env.reset()
    frames, states = rollout(env, random_actions(env, 30))
    assert frames.any() and np.isfinite(states).all()
    assert not np.array_equal(states[0], states[-1])  # it moves
    picture = env.render_rgb(0)
    assert picture.shape == (256, 512, 3) and (picture != picture[0, 0]).any()
    # And through Gymnasium.
    gymnasium = pytest.importorskip("gymnasium")
    genv = gymnasium.make("boxlcd/Urchin-v0", env=world)
    obs, _ = genv.reset(seed=0)
    assert obs["full_state"].shape == (24,) and genv.action_space.shape == (4,)


def test_change_a_builtin():
    world = World.builtin("UrchinCube")
    world = dataclasses.replace(world, name="UrchinCubes5", objects=world.objects * 5, ep_len=20)
    env = boxlcd.make(world, num_envs=2)
    assert len([k for k in env.state_keys if k.startswith("object")]) == 20
    robot = Robot.builtin("luxo")
    robot.limbs[0].joint.speed = 4.0
    env = boxlcd.make(World(robots=[robot], wh_ratio=1.5), num_envs=1)
    assert env.definition.robots[0].limbs[0].joint.speed == 4.0


@pytest.mark.parametrize("change,error,message", [
    (lambda w: setattr(w, "ep_len", 2.5), TypeError, r"world.ep_len must be an int, got float"),
    (lambda w: setattr(w, "walls", 1), TypeError, r"world.walls must be a bool"),
    (lambda w: setattr(w, "raster", "pretty"), ValueError, r"world.raster must be one of \['original', 'area', 'seed'\]"),
    (lambda w: setattr(w, "gravity", 9.8), TypeError, r"world.gravity must be a pair of numbers"),
    (lambda w: setattr(w, "robots", "urchin"), TypeError, r"world.robots must be a list"),
    (lambda w: setattr(w, "robots", [Robot.builtin("urchin").root]), TypeError,
     r"world.robots\[0\] must be a boxlcd.worlds.Robot, got Body"),
    (lambda w: setattr(w.robots[0].limbs[1].body, "shape", "blob"), ValueError,
     r"world.robots\[0\].limbs\[1\].body.shape must be one of"),
    (lambda w: setattr(w.robots[0].limbs[1].body, "density", "heavy"), TypeError,
     r"world.robots\[0\].limbs\[1\].body.density must be a number, got str"),
    (lambda w: setattr(w.robots[0].limbs[0].joint, "anchor_limb", (0, 1, 2)), TypeError,
     r"world.robots\[0\].limbs\[0\].joint.anchor_limb must be a pair"),
    (lambda w: setattr(w.robots[0].root, "mask", 0x10000), ValueError, r"world.robots\[0\].root.mask must be in"),
    (lambda w: setattr(w.robots[0].limbs[2].joint, "parent", "nothing"), ValueError,
     r"parent 'nothing' is not the root or an earlier limb"),
    (lambda w: setattr(w.robots[0].limbs[0].body, "half_extents", (0.0, 0.5)), ValueError,
     r"robots\[0\]\.limbs\[0\]\.body\.half_extents must be >= 0.01"),
    (lambda w: setattr(w, "lcd_base", 0), ValueError, r"lcd_base"),
])
def test_bad_definitions(change, error, message):
    world = World.builtin("Urchin")
    change(world)
    with pytest.raises(error, match=message):
        world.validate()
    with pytest.raises(error, match=message):
        boxlcd.make(world)


def test_from_def_needs_a_worlddef():
    with pytest.raises(TypeError, match="boxlcd.WorldDef"):
        World.from_def("Urchin")
    with pytest.raises(ValueError, match="unknown env"):
        World.builtin("Nope")
    with pytest.raises(ValueError, match="unknown robot"):
        Robot.builtin("octopus")
