"""Gymnasium: registration, check_env, the native vector env against SyncVectorEnv."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402
from gymnasium.vector import AutoresetMode, SyncVectorEnv  # noqa: E402

import boxlcd  # noqa: E402
from boxlcd.gym_env import GymEnv, GymVectorEnv  # noqa: E402


@pytest.fixture
def display(monkeypatch):
    """A display for render_mode='human': pygame's dummy video driver."""
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


def test_every_env_is_registered_with_both_entry_points():
    for name in boxlcd.envs():
        spec = gymnasium.spec(f"boxlcd/{name}-v0")
        assert spec.entry_point == "boxlcd.gym_env:GymEnv"
        assert spec.vector_entry_point == "boxlcd.gym_env:GymVectorEnv"
        assert spec.kwargs == {"env": name} and spec.max_episode_steps is None


@pytest.mark.parametrize("first", ["boxlcd", "gymnasium"])
def test_importing_boxlcd_registers_its_envs_in_a_fresh_interpreter(first):
    """`import boxlcd` registers the envs, whichever of the two is imported first; make and
    make_vec then build boxlcd's own classes."""
    second = "gymnasium" if first == "boxlcd" else "boxlcd"
    code = (
        f"import {first}, {second}\n"
        "env = gymnasium.make('boxlcd/Urchin-v0')\n"
        "assert type(env.unwrapped).__name__ == 'GymEnv', type(env.unwrapped)\n"
        "obs, _ = env.reset(seed=0)\n"
        "assert env.observation_space.contains(obs)\n"
        "envs = gymnasium.make_vec('boxlcd/Urchin-v0', num_envs=3)\n"
        "assert type(envs).__name__ == 'GymVectorEnv' and envs.num_envs == 3, type(envs)\n"
        "obs, _ = envs.reset(seed=0)\n"
        "assert obs['lcd'].shape[0] == 3\n"
        "assert 'boxlcd/UrchinBodyGoal-v0' in gymnasium.registry and 'boxlcd/Learned-v0' in gymnasium.registry\n"
        "boxlcd.registration.register_envs()  # again: nothing changes, no warning\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("name", boxlcd.envs())
def test_check_env(name, display):
    env = gymnasium.make(f"boxlcd/{name}-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any complaint of the checker fails the test
        check_env(env.unwrapped)
    env.close()


def test_check_env_unpacked_frames_and_no_walls():
    env = gymnasium.make("boxlcd/Luxo-v0", lcd_format="unpacked", walls=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Honest bounds: without walls, positions are unbounded.
        warnings.filterwarnings("ignore", ".*Box observation space (minimum|maximum) value is (-)?infinity")
        check_env(env.unwrapped, skip_render_check=True)
    space = env.observation_space
    assert space["lcd"].shape == (16, 32) and space["lcd"].high.max() == 1
    obs, _ = env.reset(seed=0)
    assert set(np.unique(obs["lcd"])) <= {0, 1} and obs["lcd"].any()


def test_spaces_and_bounds():
    env = gymnasium.make("boxlcd/Crab-v0").unwrapped
    space = env.observation_space
    assert space["lcd"] == gymnasium.spaces.Box(0, 255, (32, 8), np.uint8)
    assert space["full_state"].shape == (68,) and space["proprio"].shape == (68,)
    assert env.action_space == gymnasium.spaces.Box(-1, 1, (12,), np.float32)
    assert (space["full_state"].low == -1).all() and (space["full_state"].high == 1).all()
    # Without walls positions are unbounded; cos and sin are not.
    free = gymnasium.make("boxlcd/Urchin-v0", walls=False).unwrapped.observation_space["full_state"]
    keys = boxlcd.make("Urchin").state_keys
    for k, lo, hi in zip(keys, free.low, free.high):
        if k.endswith((":cos", ":sin")):
            assert (lo, hi) == (-1, 1), k
        else:
            assert (lo, hi) == (-np.inf, np.inf), k
    env = gymnasium.make("boxlcd/Urchin-v0", walls=False).unwrapped
    env.reset(seed=0)
    for _ in range(30):
        obs, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)


def test_reset_seed_is_honoured_and_options():
    env = gymnasium.make("boxlcd/Urchin-v0").unwrapped
    a, _ = env.reset(seed=7)
    b, _ = env.reset(seed=8)
    c, _ = env.reset(seed=7)
    assert not np.array_equal(a["full_state"], b["full_state"])
    np.testing.assert_array_equal(a["full_state"], c["full_state"])
    np.testing.assert_array_equal(a["full_state"], boxlcd.make("Urchin").reset(seed=7)["full_state"][0])
    pose = b["full_state"]
    d, _ = env.reset(options={"full_state": pose})
    np.testing.assert_array_equal(d["full_state"], pose)
    with pytest.raises(ValueError, match=r"full_state'\] must have shape \(16,\)"):
        env.reset(options={"full_state": pose[:3]})
    with pytest.raises(ValueError, match="unknown reset options \\['bogus'\\]"):
        env.reset(options={"bogus": 1})


def test_single_env_truncates_at_ep_len_and_needs_a_reset():
    env = gymnasium.make("boxlcd/Dropbox-v0", ep_len=3).unwrapped
    env.reset(seed=0)
    a = np.zeros(1, np.float32)
    assert [env.step(a)[3] for _ in range(3)] == [False, False, True]
    with pytest.raises(ValueError, match="reset it"):
        env.step(a)
    env.reset()
    assert env.step(a)[3] is False
    with pytest.raises(ValueError, match=r"action must have shape \(1,\)"):
        env.step(np.zeros(2, np.float32))


def test_make_vec_returns_the_native_vector_env():
    envs = gymnasium.make_vec("boxlcd/Urchin-v0", num_envs=8, num_threads=2)
    assert type(envs) is GymVectorEnv and envs.num_envs == 8 and envs.batch.num_threads == 2
    assert envs.observation_space["lcd"].shape == (8, 16, 4)
    assert envs.action_space.shape == (8, 3)
    assert envs.spec.id == "boxlcd/Urchin-v0"
    obs, info = envs.reset(seed=0)
    assert envs.observation_space.contains(obs) and info == {}


def test_autoreset_mode_metadata_is_per_instance():
    before = dict(GymVectorEnv.metadata)
    same = gymnasium.make_vec("boxlcd/Bounce-v0", num_envs=2, autoreset_mode=AutoresetMode.SAME_STEP)
    off = gymnasium.make_vec("boxlcd/Bounce-v0", num_envs=2, autoreset_mode="Disabled")
    plain = gymnasium.make_vec("boxlcd/Bounce-v0", num_envs=2)
    assert same.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert off.metadata["autoreset_mode"] is AutoresetMode.DISABLED
    assert plain.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert GymVectorEnv.metadata == before
    with pytest.raises(ValueError, match="autoreset_mode must be"):
        GymVectorEnv("Bounce", autoreset_mode="sometimes")


def assert_same(ours, theirs, path="obs"):
    """Equal values, recursing into dicts and Gymnasium's object arrays of final_obs."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), path
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{path}[{k}]")
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (path, set(ours), set(theirs))
        for k in theirs:
            assert_same(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(theirs, np.ndarray) and theirs.dtype == object:
        assert ours.dtype == object and ours.shape == theirs.shape, path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert (a is None) == (b is None), f"{path}[{i}]"
            if b is not None:
                assert_same(a, b, f"{path}[{i}]")
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=path)
        assert np.asarray(ours).shape == np.asarray(theirs).shape, path


@pytest.mark.parametrize("mode", list(AutoresetMode))
@pytest.mark.parametrize("name,lcd_format", [("Bounce2", "packed"), ("Urchin", "unpacked")])
def test_vector_env_equals_sync_vector_env(mode, name, lcd_format):
    n, seed, ep_len, steps = 5, 21, 6, 20  # several autoresets
    kwargs = dict(ep_len=ep_len, lcd_format=lcd_format)
    ours = gymnasium.make_vec(f"boxlcd/{name}-v0", num_envs=n, num_threads=2, autoreset_mode=mode, **kwargs)
    theirs = SyncVectorEnv([lambda: gymnasium.make(f"boxlcd/{name}-v0", **kwargs) for _ in range(n)],
                           autoreset_mode=mode)
    assert ours.single_observation_space == theirs.single_observation_space
    assert ours.action_space == theirs.action_space
    assert_same(ours.reset(seed=seed), theirs.reset(seed=seed), "reset")
    rng = np.random.default_rng(0)

    def step_both(steps, label):
        ended_count = 0
        for t in range(steps):
            actions = rng.uniform(-1, 1, ours.action_space.shape).astype(np.float32)
            a, b = ours.step(actions), theirs.step(actions)
            assert_same(a, b, f"{label} {t}")
            assert a[1].dtype == b[1].dtype and a[3].dtype == b[3].dtype
            ended = a[2] | a[3]
            ended_count += ended.sum()
            if mode == AutoresetMode.DISABLED and ended.any():
                assert_same(ours.reset(options={"reset_mask": ended.copy()}),
                            theirs.reset(options={"reset_mask": ended.copy()}), f"{label} {t}, masked reset")
        return ended_count

    assert step_both(steps, "step") >= 2 * n
    # A seeded reset of some envs, the others untouched; then both go on alike.
    mask = np.array([True, False, True, False, False])
    assert_same(ours.reset(seed=[3, None, 4, None, None], options={"reset_mask": mask}),
                theirs.reset(seed=[3, None, 4, None, None], options={"reset_mask": mask.copy()}))
    assert step_both(8, "after a masked reset, step") >= n


def test_vector_reset_seeds_and_full_state():
    envs = GymVectorEnv("Urchin", num_envs=4)
    obs, _ = envs.reset(seed=10)
    singles = [GymEnv("Urchin").reset(seed=10 + i)[0]["full_state"] for i in range(4)]
    np.testing.assert_array_equal(obs["full_state"], np.stack(singles))
    obs, _ = envs.reset(seed=[13, 12, 11, 10])  # any seeds, in any order
    np.testing.assert_array_equal(obs["full_state"], np.stack(singles[::-1]))
    pose = obs["full_state"][::-1].copy()
    obs, _ = envs.reset(options={"full_state": pose})
    np.testing.assert_array_equal(obs["full_state"], pose)
    with pytest.raises(TypeError, match="reset_mask'\\] must be a numpy bool array"):
        envs.reset(options={"reset_mask": [1, 0, 0, 0]})
    with pytest.raises(ValueError, match=r"reset_mask'\] must have shape \(4,\)"):
        envs.reset(options={"reset_mask": np.ones(3, bool)})
    with pytest.raises(ValueError, match="at least one"):
        envs.reset(options={"reset_mask": np.zeros(4, bool)})
    with pytest.raises(ValueError, match="4 entries"):
        envs.reset(seed=[1, 2])
    with pytest.raises(ValueError, match=r"seed\[1\] must be an int"):
        envs.reset(seed=[1, -2, 3, 4])


def test_vector_copy_false_returns_the_batch_buffers():
    envs = GymVectorEnv("Urchin", num_envs=3, copy=False)
    obs, _ = envs.reset(seed=0)
    assert np.shares_memory(obs["lcd"], envs.batch.frames)
    obs2, *_ = envs.step(np.zeros((3, 3), np.float32))
    assert obs2["full_state"].__array_interface__["data"] == obs["full_state"].__array_interface__["data"]
    fresh = GymVectorEnv("Urchin", num_envs=3)
    obs, _ = fresh.reset(seed=0)
    assert not np.shares_memory(obs["lcd"], fresh.batch.frames)


def test_render_rgb_array():
    env = gymnasium.make("boxlcd/Urchin-v0", render_mode="rgb_array", render_scale=4)
    env.reset(seed=0)
    picture = env.render()
    # LCD (16x32 upscaled 4 times) beside an RGB render of the same size, a 4-pixel gap between.
    assert picture.shape == (64, 128 + 4 + 128, 3) and picture.dtype == np.uint8
    lcd = picture[:, :128, 0]
    frame = np.unpackbits(env.unwrapped._env.batch.frames[0], axis=-1, count=32)
    np.testing.assert_array_equal(lcd[::4, ::4] == 0, frame == 1)  # lit pixels are dark
    envs = gymnasium.make_vec("boxlcd/Bounce-v0", num_envs=3, render_mode="rgb_array")
    envs.reset(seed=0)
    pictures = envs.render()
    assert len(pictures) == 3 and pictures[0].shape == (128, 128 + 4 + 128, 3)
    assert not np.array_equal(pictures[0], pictures[1])


def test_render_human_needs_a_display(monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(RuntimeError, match="no display"):
        gymnasium.make("boxlcd/Urchin-v0", render_mode="human")


def test_render_human_opens_a_window(display):
    env = gymnasium.make_vec("boxlcd/Urchin-v0", num_envs=2, render_mode="human", render_scale=2)
    env.reset(seed=0)
    env.step(np.zeros((2, 3), np.float32))
    window = env.unwrapped._window
    assert window.screen.get_size() == (64 + 4 + 64, 32)
    env.close()
    assert env.unwrapped._window is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="lcd_format must be one of"):
        GymEnv("Urchin", lcd_format="bits")
    with pytest.raises(ValueError, match="render_mode must be one of"):
        GymEnv("Urchin", render_mode="ansi")
    with pytest.raises(ValueError, match="render_scale"):
        GymEnv("Urchin", render_scale=0)
    with pytest.raises(ValueError, match="unknown env"):
        gymnasium.make("boxlcd/Urchin-v0", env="Nope")
    envs = GymVectorEnv("Urchin", num_envs=2)
    with pytest.raises(ValueError, match=r"actions must have shape \(2, 3\)"):
        envs.step(np.zeros((3, 3), np.float32))
