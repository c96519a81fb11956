from pathlib import Path

import numpy as np
import pytest

import boxlcd

# The spec's reference frames (the seed testbed's frames and states), kept in the repository so
# that the tests comparing against them run on every checkout.
SEED_FRAMES = Path(__file__).resolve().parent / "data" / "seed_frames.npz"


@pytest.fixture(scope="session")
def seed_frames():
    return np.load(SEED_FRAMES)


def random_actions(env, steps, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (steps, env.num_envs, env.action_size)).astype(np.float32)


def rollout(env, actions):
    """Frames and states of every step (copies), after a reset already done."""
    frames, states = [], []
    for a in actions:
        obs, *_ = env.step(a)
        frames.append(obs["lcd"].copy())
        states.append(obs["full_state"].copy())
    return np.stack(frames), np.stack(states)


def position(full_state, env, name):
    """Metres (x, y) of a body from normalised state."""
    keys, d = env.state_keys, env.definition
    x = full_state[..., keys.index(f"{name}:x:p")]
    y = full_state[..., keys.index(f"{name}:y:p")]
    return (x + 1) / 2 * d.width, (y + 1) / 2 * d.height


@pytest.fixture
def urchin():
    return boxlcd.make("Urchin", num_envs=4, seed=3)
