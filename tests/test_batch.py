"""Batches: determinism, seeding, autoreset modes, masks, reset to a state, zero copies."""
import numpy as np
import pytest

import boxlcd
from conftest import random_actions, rollout

ROBOT_ENVS = ["Urchin", "LuxoCube", "Crab", "SpiderCube", "Object3"]


@pytest.mark.parametrize("name", ROBOT_ENVS)
def test_same_seed_same_bytes_for_any_thread_count(name):
    results = []
    for threads in (1, 2, 0):
        env = boxlcd.make(name, num_envs=12, num_threads=threads, seed=11)
        actions = random_actions(env, 60)  # crosses Object3's episode end (50)
        results.append(rollout(env, actions))
    for frames, states in results[1:]:
        assert frames.tobytes() == results[0][0].tobytes()
        assert states.tobytes() == results[0][1].tobytes()


def test_batch_equals_single_envs_seeded_in_turn():
    n, seed, steps = 6, 40, 120  # past Urchin's ep_len: autoresets continue each env's stream
    batch = boxlcd.make("Urchin", num_envs=n, num_threads=2, seed=seed)
    actions = random_actions(batch, steps)
    frames, states = rollout(batch, actions)
    for i in range(n):
        single = boxlcd.make("Urchin", num_envs=1, seed=seed + i)
        f, s = rollout(single, actions[:, i:i + 1])
        assert f.tobytes() == frames[:, i:i + 1].tobytes()
        assert s.tobytes() == states[:, i:i + 1].tobytes()


def test_different_seeds_differ_and_reset_seed_is_honoured():
    a = boxlcd.make("Bounce2", num_envs=4, seed=1)
    b = boxlcd.make("Bounce2", num_envs=4, seed=2)
    assert not np.array_equal(a.reset(seed=1)["full_state"], b.reset(seed=2)["full_state"])
    first = b.reset(seed=1)["full_state"].copy()
    np.testing.assert_array_equal(first, a.reset(seed=1)["full_state"])
    assert not np.array_equal(first, a.reset()["full_state"]), "unseeded reset continues the stream"
    # Env i of a batch seeded s is env 0 of a batch seeded s + i.
    np.testing.assert_array_equal(first[2], boxlcd.make("Bounce2", seed=3).reset(seed=3)["full_state"][0])


def test_autoreset_next_step():
    env = boxlcd.make("Dropbox", num_envs=2, ep_len=5)
    a = np.zeros((2, 1), np.float32)
    for t in range(1, 6):
        obs, _, term, trunc, info = env.step(a)
        assert list(info["episode_step"]) == [t, t]
    assert trunc.all() and not term.any()
    last = obs["full_state"].copy()
    obs, reward, term, trunc, info = env.step(a)  # this step only resets
    assert not trunc.any() and list(info["episode_step"]) == [0, 0] and not reward.any()
    assert not np.array_equal(obs["full_state"], last)
    obs, _, _, trunc, info = env.step(a)
    assert list(info["episode_step"]) == [1, 1] and not trunc.any()


def test_autoreset_same_step_keeps_the_final_observation():
    env = boxlcd.make("Bounce", num_envs=3, ep_len=4, autoreset_mode="same_step", seed=5)
    twin = boxlcd.make("Bounce", num_envs=3, ep_len=4, autoreset_mode="next_step", seed=5)
    a = np.zeros((3, 1), np.float32)
    for _ in range(4):
        obs, _, _, trunc, info = env.step(a)
        twin_obs, *_ = twin.step(a)
    assert trunc.all() and info["_final_obs"].all()
    final = info["final_obs"]
    # The final observation is the one a next-step env shows at the episode's end ...
    np.testing.assert_array_equal(final["full_state"], twin_obs["full_state"])
    np.testing.assert_array_equal(final["lcd"], twin_obs["lcd"])
    # ... and the main buffers already hold the next episode, as the next-step env's reset.
    twin_obs, *_ = twin.step(a)
    np.testing.assert_array_equal(obs["full_state"], twin_obs["full_state"])
    assert list(info["episode_step"]) == [0, 0, 0]
    obs, _, _, trunc, info = env.step(a)
    assert not trunc.any() and not info["_final_obs"].any()


def test_autoreset_disabled_needs_a_masked_reset():
    env = boxlcd.make("Bounce", num_envs=3, ep_len=2, autoreset_mode="disabled")
    a = np.zeros((3, 1), np.float32)
    env.step(a)
    _, _, _, trunc, _ = env.step(a)
    assert trunc.all()
    with pytest.raises(ValueError, match="autoreset is disabled"):
        env.step(a)
    env.reset(mask=np.array([True, True, False]))
    with pytest.raises(ValueError, match="env 2"):
        env.step(a)
    env.reset(mask=np.array([False, False, True]))
    _, _, _, trunc, info = env.step(a)
    assert not trunc.any() and list(info["episode_step"]) == [1, 1, 1]


def test_reset_mask_leaves_other_envs_alone():
    env = boxlcd.make("Urchin", num_envs=4, seed=0)
    for _ in range(5):
        env.step(np.ones((4, 3), np.float32))
    before = env.batch.full_state.copy()
    obs = env.reset(seed=100, mask=np.array([0, 1, 0, 1]))
    np.testing.assert_array_equal(obs["full_state"][[0, 2]], before[[0, 2]])
    assert list(env.batch.episode_step) == [5, 0, 5, 0]
    fresh = boxlcd.make("Urchin", num_envs=4, seed=100).reset(seed=100)["full_state"]
    np.testing.assert_array_equal(obs["full_state"][[1, 3]], fresh[[1, 3]])


@pytest.mark.parametrize("name", ["Urchin", "Luxo", "Crab", "SpiderCube", "LuxoBalls"])
def test_reset_to_state_round_trip_and_stillness(name):
    env = boxlcd.make(name, num_envs=8, seed=3)
    zero = np.zeros((8, env.action_size), np.float32)
    for _ in range(40):  # let robots settle on the floor
        obs, *_ = env.step(zero)
    settled = obs["full_state"].copy()
    frames = obs["lcd"].copy()
    other = boxlcd.make(name, num_envs=8, seed=99)
    obs = other.reset(full_state=settled)
    np.testing.assert_array_equal(obs["full_state"], settled)
    np.testing.assert_array_equal(obs["proprio"], settled[:, [env.state_keys.index(k) for k in env.proprio_keys]])
    assert (np.unpackbits(obs["lcd"]) != np.unpackbits(frames)).mean() < 0.01
    assert list(other.batch.episode_step) == [0] * 8
    for _ in range(3):
        obs, *_ = other.step(zero)
    # Joints are built in the given pose: nothing jumps, a settled robot stays put. (Without
    # unwrapping limb angles to within pi of their joint's reference, as the original testbed
    # did, Urchin and Crab limbs here start 2 pi outside their limits and swing round.)
    assert np.abs(obs["full_state"] - settled).max() < 0.05


def test_outputs_are_views_of_the_batch_buffers():
    env = boxlcd.make("Urchin", num_envs=4)
    obs = env.reset()
    address = {k: v.__array_interface__["data"][0] for k, v in obs.items()}
    for _ in range(3):
        obs2, reward, term, trunc, info = env.step(np.zeros((4, 3), np.float32))
    assert {k: v.__array_interface__["data"][0] for k, v in obs2.items()} == address
    assert np.shares_memory(obs["lcd"], env.batch.frames)
    assert not obs["lcd"].flags.owndata and obs["lcd"].base is not None
    # The batch stays alive as long as a view does.
    frames = boxlcd.make("Bounce", num_envs=2).reset()["lcd"]
    assert frames.shape == (2, 16, 2) and frames.any()


def test_non_contiguous_and_float64_actions_are_accepted():
    a = boxlcd.make("Urchin", num_envs=4, seed=1)
    b = boxlcd.make("Urchin", num_envs=4, seed=1)
    wide = np.random.default_rng(0).uniform(-1, 1, (4, 6)).astype(np.float32)
    a.step(wide[:, ::2])
    b.step(np.ascontiguousarray(wide[:, ::2]).astype(np.float64))
    np.testing.assert_array_equal(a.batch.full_state, b.batch.full_state)


def test_step_releases_the_gil():
    import threading

    env = boxlcd.make("Crab", num_envs=1024, num_threads=1)
    actions = np.zeros((1024, env.action_size), np.float32)
    started, done = threading.Event(), threading.Event()

    def step():
        started.set()
        env.step(actions)  # about 0.2 s of C++ work
        done.set()

    worker = threading.Thread(target=step)
    worker.start()
    started.wait()
    counted = 0
    while not done.is_set():
        counted += 1  # runs only while the stepping thread has let go of the GIL
    worker.join()
    assert counted > 10000, counted


def test_frames_off_gives_the_same_states_and_blank_frames():
    on = boxlcd.make("UrchinCube", num_envs=4, seed=6)
    off = boxlcd.make("UrchinCube", num_envs=4, seed=6, frames=False)
    actions = random_actions(on, 20)
    frames_on, states_on = rollout(on, actions)
    frames_off, states_off = rollout(off, actions)
    assert states_on.tobytes() == states_off.tobytes()
    assert frames_on.any() and not frames_off.any()
    off.batch.frames_enabled = True  # switching back draws the current poses at once
    np.testing.assert_array_equal(off.batch.frames, on.batch.frames)


def test_reset_with_a_seed_repeats_the_episode_whatever_came_before():
    env = boxlcd.make("UrchinCube", num_envs=3, seed=5)
    actions = random_actions(env, 40, seed=8)
    first = rollout(env, actions)
    env.reset(seed=5)
    again = rollout(env, actions)
    assert first[0].tobytes() == again[0].tobytes() and first[1].tobytes() == again[1].tobytes()
