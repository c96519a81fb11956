"""Bad input gets a ValueError naming the problem, never a crash."""
import numpy as np
import pytest

import boxlcd


@pytest.fixture
def env():
    return boxlcd.make("Urchin", num_envs=2)


def test_unknown_env_and_option():
    with pytest.raises(ValueError, match="unknown env 'Urchn'.*Urchin"):
        boxlcd.make("Urchn")
    with pytest.raises(ValueError, match="unknown option 'eplen'"):
        boxlcd.make("Urchin", eplen=5)
    with pytest.raises(ValueError, match="ep_len must be a whole number"):
        boxlcd.make("Urchin", ep_len=2.5)
    with pytest.raises(ValueError, match="ep_len must be"):
        boxlcd.make("Urchin", ep_len=0)
    with pytest.raises(ValueError, match="raster must be"):
        boxlcd.make("Urchin", raster="pretty")
    with pytest.raises(ValueError, match="lcd_base"):
        boxlcd.make("Urchin", lcd_base=-3)
    with pytest.raises(ValueError, match="takes a number"):
        boxlcd.make("Urchin", fps=[10])
    with pytest.raises(ValueError, match="autoreset_mode"):
        boxlcd.make("Urchin", autoreset_mode="sometimes")


@pytest.mark.parametrize("num_envs", [0, -1, 2.0, 2**40])
def test_bad_num_envs(num_envs):
    with pytest.raises(ValueError, match="num_envs"):
        boxlcd.make("Bounce", num_envs=num_envs)


def test_num_envs_beyond_memory():
    with pytest.raises(ValueError, match="num_envs .* needs about .* MiB"):
        boxlcd.make("Bounce", num_envs=2**31 - 1)


def test_bad_threads_and_seed():
    with pytest.raises(ValueError, match="num_threads"):
        boxlcd.make("Bounce", num_threads=-1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        boxlcd.make("Bounce", seed=-1)
    with pytest.raises(ValueError, match="seed must be an int"):
        boxlcd.make("Bounce").reset(seed=1.5)
    with pytest.raises(ValueError, match="below 2\\*\\*64"):
        boxlcd.make("Bounce").reset(seed=2**64)


def test_bad_actions(env):
    with pytest.raises(ValueError, match=r"actions must have shape \(2, 3\), got \(2, 2\)"):
        env.step(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(6,\)"):
        env.step(np.zeros(6, np.float32))
    with pytest.raises(ValueError, match="floating dtype"):
        env.step(np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="floating dtype"):
        env.step([["a", "b", "c"], ["d", "e", "f"]])
    before = env.batch.full_state.copy()
    for bad in (np.nan, np.inf, -np.inf):
        a = np.zeros((2, 3), np.float32)
        a[1, 2] = bad
        with pytest.raises(ValueError, match=r"action\[1, 2\] is not finite"):
            env.step(a)
    np.testing.assert_array_equal(env.batch.full_state, before)  # nothing stepped
    assert list(env.batch.episode_step) == [0, 0]


def test_bad_reset_arguments(env):
    with pytest.raises(ValueError, match="mask must have shape"):
        env.reset(mask=np.ones(3, bool))
    with pytest.raises(ValueError, match="mask must be a boolean"):
        env.reset(mask=np.ones(2, np.float32))
    with pytest.raises(ValueError, match=r"full_state must have shape \(2, 16\)"):
        env.reset(full_state=np.zeros((2, 15), np.float32))
    state = np.zeros((2, 16), np.float32)
    state[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"full_state\[0, 3\] \(urchin0:aleg:y:p\) is not finite"):
        env.reset(full_state=state)


def robot_world():
    world = boxlcd.env_def("Urchin")
    robot = world.robots[0]
    return world, robot


def with_robot(world, robot):
    world.robots = [robot]
    return world


def test_invalid_world_definitions():
    world, robot = robot_world()
    limbs = robot.limbs
    limbs[1].joint.parent = "nothing"
    robot.limbs = limbs
    with pytest.raises(ValueError, match="parent 'nothing' is not the root or an earlier limb"):
        boxlcd.make(with_robot(world, robot))

    world, robot = robot_world()
    limbs = robot.limbs
    limbs[2].body.name = "aleg"
    robot.limbs = limbs
    with pytest.raises(ValueError, match="duplicate body name"):
        boxlcd.make(with_robot(world, robot))

    world, robot = robot_world()
    limbs = robot.limbs
    limbs[0].body.half_extents = (0.0, 0.5)
    robot.limbs = limbs
    with pytest.raises(ValueError, match=r"robots\[0\]\.limbs\[0\]\.body\.half_extents must be >= 0.01 m for a box"):
        boxlcd.make(with_robot(world, robot))

    world, robot = robot_world()
    root = robot.root
    root.shape = boxlcd.Shape.Polygon
    root.vertices = [(0, 0), (1, 0), (0.2, 0.2), (0, 1)]  # dented
    robot.root = root
    with pytest.raises(ValueError, match="not strictly convex"):
        boxlcd.make(with_robot(world, robot))
    root.vertices = [(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 10)[:-1]]
    robot.root = root
    with pytest.raises(ValueError, match="3 to 8 vertices"):
        boxlcd.make(with_robot(world, robot))

    world = boxlcd.env_def("Bounce")
    objects = world.objects
    objects[0].body.radius = 0.0
    world.objects = objects
    with pytest.raises(ValueError, match=r"objects\[0\]\.body\.radius must be >= 0.01 m for a circle"):
        boxlcd.make(world)

    world = boxlcd.env_def("Bounce")
    objects = world.objects
    objects[0].body.radius = 4.0
    world.objects = objects
    with pytest.raises(ValueError, match="does not fit"):
        boxlcd.make(world)


def test_render_arguments(env):
    with pytest.raises(ValueError, match="env index 5"):
        env.render_rgb(5)
    with pytest.raises(ValueError, match="render size"):
        env.render_rgb(0, 0, 10)


def test_robot_that_starts_outside_the_walls_is_refused():
    # A limb hung 1000 m off its parent started outside the walls (and fell outside them).
    world = boxlcd.env_def("LuxoCube")
    robot = world.robots[0]
    limbs = robot.limbs
    limbs[0].joint.anchor_limb = (0.1, 1000.0)
    robot.limbs = limbs
    world.robots = [robot]
    with pytest.raises(ValueError, match=r"robots\[0\]\.limbs\[0\] \('\w+'\) starts 1000\.\d+ m from the root's origin: "
                                         r"more than bound 2 m"):
        boxlcd.make(world)
    world = boxlcd.env_def("Urchin")
    robot = world.robots[0]
    root = robot.root
    root.shape = boxlcd.Shape.Polygon
    root.vertices = [(5.0, 0.0), (6.0, 0.0), (5.5, 1.0)]  # far off the body's origin
    robot.root = root
    world.robots = [robot]
    with pytest.raises(ValueError, match=r"robots\[0\]\.root starts 6 m from the root's origin"):
        boxlcd.make(world)
    for name in boxlcd.envs():  # every built-in robot fits its bound
        boxlcd.make(name)


@pytest.mark.parametrize("name", ["Object2", "Urchin", "LuxoCube"])
def test_reset_to_a_state_on_the_walls_is_refused(name):
    # A body whose middle sat on a wall (x = -1) was pushed out through it and fell outside.
    env = boxlcd.make(name, num_envs=2, seed=0)
    state = env.batch.full_state.copy()
    key = env.state_keys[[k.endswith(":x:p") for k in env.state_keys].index(True)]
    body = key[:-4]
    for value in (-1.0, 1.0):
        bad = state.copy()
        bad[1, env.state_keys.index(key)] = value
        with pytest.raises(ValueError, match=rf"full_state\[1\] puts {body} \(the middle of its bounding box\) "
                                             r"at \(\S+, \S+\) m, on or beyond the walls"):
            env.reset(full_state=bad)
    ok = state.copy()
    ok[1, env.state_keys.index(key)] = -0.98
    env.reset(full_state=ok)
    for _ in range(30):
        obs, *_ = env.step(np.zeros((2, env.action_size), np.float32))
        assert (np.abs(obs["full_state"]) <= 1).all()
    # Without walls the range alone holds: positions may lie beyond the world.
    free = boxlcd.make(name, num_envs=2, seed=0, walls=0)
    bad = free.batch.full_state.copy()
    bad[1, free.state_keys.index(key)] = -1.0
    free.reset(full_state=bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float64("nan")])
def test_ranges_refuse_nan_and_inf(value):
    from boxlcd.ranges import check_ranges

    # NaN compares false with every bound, so it once passed any range
    with pytest.raises(ValueError, match="time_limit must be a finite number"):
        check_ranges({"time_limit": value}, {"time_limit": (0.0, None, True)})
    with pytest.raises(ValueError, match="gamma must be a finite number"):
        check_ranges({"gamma": value}, {"gamma": (0.0, 1.0, False)})
    with pytest.raises(ValueError, match="steps must be a whole number"):
        check_ranges({"steps": value}, {"steps": (1, None, True)})


def test_ranges_take_numpy_numbers_and_big_ints():
    from boxlcd.ranges import check_ranges

    check_ranges({"steps": np.int64(3), "lr": np.float32(0.1)}, {"steps": (1, None, True), "lr": (0.0, None, True)})
    check_ranges({"steps": 10**400}, {"steps": (1, None, True)})  # whole numbers are finite, however big
    with pytest.raises(ValueError, match="steps must be >= 1 and <= 10"):
        check_ranges({"steps": 10**400}, {"steps": (1, 10, True)})
    with pytest.raises(ValueError, match="steps must be a whole number, got True"):
        check_ranges({"steps": True}, {"steps": (1, None, True)})


MODEL_SPEC = {"env": "Bounce", "frame_shape": [16, 16], "action_size": 1, "proprio_size": 1, "robot": False,
              "ep_len": 6, "overrides": {}, "state_keys": ["a", "b"], "proprio_keys": ["zero"], "proprio_index": []}


@pytest.mark.parametrize("name, config, why", [
    ("frame_transformer", {"heads": 3}, "heads must divide d_model: d_model 128 is not a multiple of heads 3"),
    ("frame_transformer", {"d_model": 30, "heads": 4}, "heads must divide d_model"),
    ("frame_transformer", {"heads": 0}, "heads must be >= 1"),
    ("frame_transformer", {"layers": 2.0}, "layers must be a whole number"),
    ("frame_transformer", {"d_model": 10**9}, "d_model must be >= 1 and <= 8192"),
    ("frame_transformer", {"dropout": float("nan")}, "dropout must be a finite number"),
    ("frame_transformer", {"dropout": 1.5}, "dropout must be >= 0.0 and <= 1.0"),
    ("frame_transformer", {"proprio_weight": float("inf")}, "proprio_weight must be a finite number"),
    ("frame_transformer", {"input_noise": float("inf")}, "input_noise must be a finite number"),
    ("frame_transformer", {"predict_state": "yes"}, "predict_state must be true or false"),
    ("binary_ae", {"heads": 3}, "heads must divide d_model"),
    ("binary_ae", {"bits": 0}, "bits must be >= 1"),
    ("binary_ae", {"channels": -1}, "channels must be >= 1"),
    ("rssm", {"deter": 0}, "deter must be >= 1"),
    ("rssm", {"free_nats": float("nan")}, "free_nats must be a finite number"),
    ("rssm", {"stoch": "8"}, "stoch must be a whole number"),
    ("arbiter", {"hidden": 0}, "hidden must be >= 1"),
    ("arbiter", {"action_weight": float("nan")}, "action_weight must be a finite number"),
])
def test_model_settings_are_refused_by_name_at_build_time(name, config, why):
    pytest.importorskip("torch")
    from boxlcd.models import build

    with pytest.raises(ValueError, match=why):
        build(name, MODEL_SPEC, **config)


@pytest.mark.parametrize("fps", [float("nan"), 0, -1, 1e-300, float("inf"), "10"])
def test_gif_frame_rate_is_checked(tmp_path, fps):
    from boxlcd import demo

    with pytest.raises(ValueError, match="fps must be a number in"):
        demo.write_gif(tmp_path / "x.gif", [np.zeros((4, 4, 3), np.uint8)], fps)
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0, -1.0])
def test_bench_seconds_are_checked(seconds):
    from boxlcd import demo

    with pytest.raises(ValueError, match="seconds must be a finite number > 0"):  # NaN never ended the loop
        demo.steps_per_second("Bounce", 1, 1, seconds)
