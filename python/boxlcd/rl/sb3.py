"""SB3VecEnv: a boxlcd goal task (real or learned) as stable-baselines3's VecEnv.

The task (boxlcd.tasks.GoalTask) already steps every env in one call and autoresets within
the step (SAME_STEP); this adapter only reshapes: observations become one float vector per
env (the task's `keys` side by side), an ended env's info holds its last observation as
"terminal_observation", "TimeLimit.truncated" when it timed out, "is_success" and "episode"
(return "r", length "l"), which SB3's PPO reads for its episode statistics. It also counts
ended episodes and successes for the training log (`take_counts`).

With `history` h > 1 the vector also holds the h - 1 previous values of the keys that are not
goals, newest first: proprio holds positions and angles only, so a policy that sees one step
cannot tell how fast its bodies move. An env that has just reset repeats its first values
(bodies start at rest). The terminal observation carries the history the episode ended with.

With obs="pixels" the policy reads only the frames, `lcd` and `goal:lcd`, as unpacked bits
(and the history's previous frames): no proprio, no state. The task's reward still comes from
the simulator's proprio, as the original's did; the policy never sees it.
"""
from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from boxlcd.rl.config import OBS

POLICY_KEYS = {"body": ("proprio", "goal:proprio"), "cube": ("proprio", "object", "goal:object")}
PIXEL_KEYS = ("lcd", "goal:lcd")  # --obs pixels, either task: the frame and the goal's frame, nothing else


def policy_keys(task: str, obs: str = "state") -> tuple[str, ...]:
    """The task observation's keys a policy reads: the proprio and goal vectors (state), or
    only the frames (pixels)."""
    if obs not in OBS:
        raise ValueError(f"obs must be one of {', '.join(OBS)}, got {obs!r}")
    return PIXEL_KEYS if obs == "pixels" else POLICY_KEYS[task]


class PolicyInput:
    """The policy's vector from a task's observation dict: the keys' values side by side, a
    frame (`lcd`, packed bits) as its unpacked pixels in {0, 1}, then (history h > 1) the
    h - 1 previous values of the keys that are not goals, newest first. SB3VecEnv and the
    collecting policy (boxlcd.rl.actor) both build it here, so a policy reads the same vector
    wherever it runs."""

    def __init__(self, keys: tuple[str, ...], history: int, frame_cols: int):
        if isinstance(history, bool) or not isinstance(history, (int, np.integer)) or history < 1:
            raise ValueError(f"history must be an integer >= 1, got {history!r}")
        self.keys, self.history, self.frame_cols = tuple(keys), int(history), int(frame_cols)
        self.past_keys = tuple(k for k in self.keys if not k.startswith("goal:")) if history > 1 else ()

    def value(self, obs: dict, key: str) -> np.ndarray:
        x = np.asarray(obs[key])
        if key.endswith("lcd"):  # (..., rows, bytes) packed -> (..., rows * cols) pixels
            bits = np.unpackbits(x, axis=-1, count=self.frame_cols)
            return bits.reshape(bits.shape[:-2] + (-1,)).astype(np.float32)
        return x.astype(np.float32)

    def space(self, single: spaces.Dict) -> spaces.Box:
        """The vector's Box, from the task's single observation space."""
        def bounds(key):
            if key.endswith("lcd"):
                size = single[key].shape[0] * self.frame_cols
                return np.zeros(size, np.float32), np.ones(size, np.float32)
            return single[key].low.astype(np.float32), single[key].high.astype(np.float32)

        parts = [bounds(k) for k in self.keys] + [bounds(k) for k in self.past_keys] * (self.history - 1)
        return spaces.Box(np.concatenate([lo for lo, _ in parts]), np.concatenate([hi for _, hi in parts]),
                          dtype=np.float32)

    def now(self, obs: dict) -> np.ndarray:
        """The present values of the keys the history keeps, (..., width)."""
        return np.concatenate([self.value(obs, k) for k in self.past_keys], axis=-1)

    def start(self, obs: dict) -> np.ndarray | None:
        """A fresh history for a batch: its first values repeated (bodies start at rest)."""
        if not self.past_keys:
            return None
        return np.repeat(self.now(obs)[:, None], self.history - 1, axis=1)

    def advance(self, past: np.ndarray | None, obs: dict) -> np.ndarray | None:
        """The history after `obs`, the present one, has passed."""
        if past is None:
            return None
        return np.concatenate([self.now(obs)[:, None], past[:, :-1]], axis=1)

    def vector(self, obs: dict, past: np.ndarray | None) -> np.ndarray:
        """The policy's vector for `obs` (one env or a batch) after `past`, (..., history - 1, width)."""
        parts = [self.value(obs, k) for k in self.keys]
        if past is not None:
            parts.append(past.reshape(past.shape[:-2] + (-1,)))
        return np.concatenate(parts, axis=-1)


class CollectionThreads(BaseCallback):
    """Runs SB3's rollout collection on `threads` torch threads (default one) and its update
    on the threads torch had when training started. Why: between the policy's small forward
    passes (one row per env) torch's idle OpenMP threads spin, and on a machine with few cores
    they take the cores from boxlcd's stepping threads; the update's large batches are what
    more threads speed up. Subclasses that override the rollout hooks call these."""

    def __init__(self, threads: int = 1):
        super().__init__()
        self.collection_threads = threads

    def _on_training_start(self) -> None:
        self.update_threads = torch.get_num_threads()

    def _on_rollout_start(self) -> None:
        torch.set_num_threads(self.collection_threads)

    def _on_rollout_end(self) -> None:
        torch.set_num_threads(self.update_threads)

    def _on_step(self) -> bool:
        return True


class SB3VecEnv(VecEnv):
    def __init__(self, task, keys: tuple[str, ...] | None = None, history: int = 1, obs: str = "state"):
        self.task = task
        self.inputs = PolicyInput(keys or policy_keys(task.task, obs), history, task.frame_shape[1])
        self.keys, self.history, self.past_keys = self.inputs.keys, self.inputs.history, self.inputs.past_keys
        self._past = None  # (num_envs, history - 1, width): the previous values of past_keys
        super().__init__(task.num_envs, self.inputs.space(task.single_observation_space), task.single_action_space)
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, np.int64)
        self._counts = {"episodes": 0, "successes": 0, "return_sum": 0.0, "length_sum": 0}

    def flat(self, obs: dict, past: np.ndarray | None = None) -> np.ndarray:
        """The policy's vector for `obs` (one env or a batch), after the given history
        (default: the adapter's own, for a batch)."""
        return self.inputs.vector(obs, self._past if past is None else past)

    def reset(self):
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        obs, _ = self.task.reset(seed=seed)
        self.last_obs = obs  # the task's observation dict, for pictures
        self._past = self.inputs.start(obs)
        self._reset_seeds()
        self._returns[:] = 0
        self._lengths[:] = 0
        return self.flat(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        before = self.last_obs
        obs, reward, terminated, truncated, info = self.task.step(self._actions)
        self.last_obs = obs
        self._returns += reward
        self._lengths += 1
        dones = terminated | truncated
        infos = [{} for _ in range(self.num_envs)]
        if self.past_keys:  # the present moves into the history; a fresh episode starts from its own
            ended = self.inputs.advance(self._past, before)
            self._past = ended.copy()
            self._past[dones] = self.inputs.now(obs)[dones][:, None]
        for i in np.flatnonzero(dones):
            past = ended[i] if self.past_keys else None
            infos[i] = {"terminal_observation": self.flat(info["final_obs"][i], past),
                        "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                        "is_success": bool(terminated[i]),
                        "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i])}}
        if dones.any():
            c = self._counts
            c["episodes"] += int(dones.sum())
            c["successes"] += int(terminated.sum())
            c["return_sum"] += float(self._returns[dones].sum())
            c["length_sum"] += int(self._lengths[dones].sum())
            self._returns[dones] = 0
            self._lengths[dones] = 0
        return self.flat(obs), reward.astype(np.float32), dones, infos

    def take_counts(self) -> dict:
        """Episodes ended since the last call: how many, successes, return and length sums."""
        counts, self._counts = self._counts, {k: 0 for k in self._counts}
        return counts

    def close(self) -> None:
        self.task.close()

    # SB3 asks these of envs it did not make; a task is one object, not num_envs of them.
    def get_attr(self, attr_name, indices=None):
        return [getattr(self.task, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name, value, indices=None):
        raise AttributeError(f"SB3VecEnv cannot set {attr_name!r} per env: the task is one batched object")

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        raise AttributeError(f"SB3VecEnv cannot call {method_name!r} per env: the task is one batched object")

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(list(self._get_indices(indices)))
