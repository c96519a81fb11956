"""The 18 built-in envs against the spec table, and the definitions behind them."""
import numpy as np
import pytest

import boxlcd

# env: (frame rows, cols, full_state, proprio, actions, ep_len) from the spec's table.
SPEC = {
    "Dropbox": (16, 16, 4, 1, 1, 25),
    "Bounce": (16, 16, 4, 1, 1, 50),
    "Bounce2": (16, 16, 8, 1, 1, 50),
    "Object2": (16, 16, 8, 1, 1, 50),
    "Object3": (16, 16, 12, 1, 1, 50),
    "Urchin": (16, 32, 16, 16, 3, 100),
    "Luxo": (16, 32, 16, 16, 3, 100),
    "UrchinCube": (16, 24, 20, 16, 3, 150),
    "LuxoCube": (16, 24, 20, 16, 3, 150),
    "UrchinBall": (16, 24, 20, 16, 3, 150),
    "LuxoBall": (16, 24, 20, 16, 3, 150),
    "UrchinCubes": (16, 32, 28, 16, 3, 100),
    "LuxoCubes": (16, 32, 28, 16, 3, 100),
    "UrchinBalls": (16, 32, 28, 16, 3, 100),
    "LuxoBalls": (16, 32, 28, 16, 3, 100),
    "Crab": (32, 64, 68, 68, 12, 100),
    "CrabCube": (32, 64, 72, 68, 12, 100),
    "SpiderCube": (32, 64, 40, 36, 8, 100),
}


def test_all_envs_listed():
    assert boxlcd.envs() == list(SPEC)


@pytest.mark.parametrize("name", list(SPEC))
def test_env_matches_spec_table(name):
    rows, cols, d, p, a, ep_len = SPEC[name]
    env = boxlcd.make(name, num_envs=2)
    assert env.frame_shape == (rows, cols)
    assert len(env.state_keys) == d and len(env.proprio_keys) == p and env.action_size == a
    assert env.definition.ep_len == ep_len
    obs = env.reset(seed=0)
    assert obs["lcd"].shape == (2, rows, (cols + 7) // 8) and obs["lcd"].dtype == np.uint8
    assert obs["full_state"].shape == (2, d) and obs["full_state"].dtype == np.float32
    assert obs["proprio"].shape == (2, p) and obs["proprio"].dtype == np.float32
    obs, reward, terminated, truncated, info = env.step(np.zeros((2, a), np.float32))
    assert reward.shape == (2,) and not reward.any()
    assert terminated.dtype == bool and not terminated.any()
    assert list(info["episode_step"]) == [1, 1]
    assert obs["lcd"].any(), "something should be visible"


@pytest.mark.parametrize("name", list(SPEC))
def test_key_names(name):
    env = boxlcd.make(name)
    keys = env.state_keys
    assert keys == sorted(keys)
    assert all(k.rsplit(":", 1)[-1] in ("cos", "sin", "p") for k in keys)
    robot_keys = [k for k in keys if not k.startswith("object")]
    if robot_keys:
        assert env.proprio_keys == robot_keys
        assert env.action_keys == sorted(env.action_keys)
        assert all(k.endswith(":speed") for k in env.action_keys)
    else:
        assert env.proprio_keys == ["zero"] and env.action_keys == ["ignored"]
    objects = {k.split(":")[0] for k in keys if k.startswith("object")}
    assert len(objects) == len(env.definition.objects)


def test_urchin_and_crab_keys():
    assert boxlcd.make("Urchin").action_keys == [
        "urchin0:aleg:speed", "urchin0:bleg:speed", "urchin0:cleg:speed"]
    # The crab's four fixed claw joints (limits [0, 0]) take no action.
    crab = boxlcd.make("Crab")
    assert not any("claw1" in k for k in crab.action_keys)
    assert "crab0:llclaw1:x:p" in crab.state_keys


def test_state_keys_match_the_original_testbed(original_frames):
    for name in ("Dropbox", "Urchin"):
        assert boxlcd.make(name).state_keys == list(original_frames[f"{name}/state_keys"])


def test_definitions_are_copies_a_user_can_change():
    d = boxlcd.env_def("Bounce")
    d.objects = d.objects + d.objects
    d.ep_len = 7
    env = boxlcd.make(d, num_envs=1)
    assert len(env.state_keys) == 8 and env.definition.ep_len == 7
    assert boxlcd.env_def("Bounce").ep_len == 50 and len(boxlcd.env_def("Bounce").objects) == 1


def test_overrides():
    env = boxlcd.make("Urchin", ep_len=7, lcd_base=64, wh_ratio=1.5, walls=False, use_speed=0,
                      iterations=30, fps=50, raster="area")
    d = env.definition
    assert (d.ep_len, d.lcd_base, d.wh_ratio, d.walls, d.use_speed) == (7, 64, 1.5, False, False)
    assert (d.velocity_iterations, d.position_iterations, d.fps) == (30, 10, 50)
    assert d.raster == boxlcd.RasterRule.Area
    assert env.frame_shape == (64, 96)
    assert set(boxlcd.override_names()) >= {"ep_len", "fps", "lcd_base", "wh_ratio", "walls",
                                             "use_speed", "iterations", "raster"}


def test_solver_presets():
    presets = boxlcd.solver_presets()
    default = boxlcd.env_def("Urchin")
    assert list(presets)[0] == "original" and "seed" not in presets  # an alias is not listed
    assert presets["original"] == {"velocity_iterations": default.velocity_iterations,
                                   "position_iterations": default.position_iterations, "substeps": default.substeps}
    fast = presets["fast"]
    assert fast["velocity_iterations"] < default.velocity_iterations
    d = boxlcd.make("Urchin", solver="fast").definition
    assert (d.velocity_iterations, d.position_iterations, d.substeps) == tuple(fast.values())
    # the preset decides the physics: same seed and actions, other trajectories; the original
    # preset is the default itself, and "seed" (its earlier name) is the original preset
    runs = {}
    for solver in ("original", "seed", "fast", None):
        env = boxlcd.make("Urchin", num_envs=4, seed=3, **({"solver": solver} if solver else {}))
        env.reset()
        for a in np.random.default_rng(0).uniform(-1, 1, (20, 4, env.action_size)).astype(np.float32):
            obs = env.step(a)[0]
        runs[solver] = obs["full_state"].copy()
    np.testing.assert_array_equal(runs["original"], runs[None])
    np.testing.assert_array_equal(runs["seed"], runs[None])
    assert not np.array_equal(runs["original"], runs["fast"])
    with pytest.raises(ValueError, match="solver must be one of original, fast.*'turbo'"):
        boxlcd.make("Urchin", solver="turbo")


def test_custom_robot_from_python():
    leg = boxlcd.BodyDef()
    leg.name, leg.shape, leg.half_extents, leg.mask = "leg", boxlcd.Shape.Box, (0.1, 0.5), 0x0011
    joint = boxlcd.JointDef()
    joint.anchor_parent, joint.anchor_limb, joint.lower, joint.upper = (0, 0), (0, 0.5), -1.0, 1.0
    robot = boxlcd.RobotDef()
    robot.type, robot.bound = "stick", 1.0
    robot.root.shape, robot.root.vertices = boxlcd.Shape.Polygon, [(-0.3, -0.2), (0.3, -0.2), (0, 0.3)]
    robot.limbs = [boxlcd.LimbDef(leg, joint)]
    world = boxlcd.WorldDef()
    world.name, world.robots, world.wh_ratio, world.ep_len = "Stick", [robot], 2.0, 20
    env = boxlcd.make(world, num_envs=3, seed=1)
    assert env.action_keys == ["stick0:leg:speed"]
    assert env.state_keys[:4] == ["stick0:leg:cos", "stick0:leg:sin", "stick0:leg:x:p", "stick0:leg:y:p"]
    for _ in range(10):
        obs, *_ = env.step(np.ones((3, 1), np.float32))
    assert obs["lcd"].any(axis=(1, 2)).all()
