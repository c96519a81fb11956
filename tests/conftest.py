import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import boxlcd

# The spec's reference frames (the original testbed's frames and states), kept in the repository
# so that the tests comparing against them run on every checkout.
ORIGINAL_FRAMES = Path(__file__).resolve().parent / "data" / "original_frames.npz"

# Seconds a probe subprocess may run; generous for a loaded 2-core machine, reached only by a hang.
PROBE_TIMEOUT = int(os.environ.get("BOXLCD_PROBE_TIMEOUT", "300"))


def run_python(code: str, timeout: float = PROBE_TIMEOUT, input: str | None = None,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter from tests/ (one BLAS thread, `env` added to the
    environment), text in and out. Raises subprocess.TimeoutExpired when it runs past timeout
    (the child is killed)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=Path(__file__).parent, env=env, input=input)


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (models are tiny; threads would only contend)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def original_frames():
    return np.load(ORIGINAL_FRAMES)


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
