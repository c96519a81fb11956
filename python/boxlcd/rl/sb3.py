"""SB3VecEnv: a boxlcd goal task (real or learned) as stable-baselines3's VecEnv.

The task (boxlcd.tasks.GoalTask) already steps every env in one call and autoresets within
the step (SAME_STEP); this adapter only reshapes: observations become one float vector per
env (the task's `keys` side by side), an ended env's info holds its last observation as
"terminal_observation", "TimeLimit.truncated" when it timed out, "is_success" and "episode"
(return "r", length "l"), which SB3's PPO reads for its episode statistics. It also counts
ended episodes and successes for the training log (`take_counts`).
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

POLICY_KEYS = {"body": ("proprio", "goal:proprio"), "cube": ("proprio", "object", "goal:object")}


class SB3VecEnv(VecEnv):
    def __init__(self, task, keys: tuple[str, ...] | None = None):
        self.task = task
        self.keys = tuple(keys or POLICY_KEYS[task.task])
        space = task.single_observation_space
        low = np.concatenate([space[k].low for k in self.keys]).astype(np.float32)
        high = np.concatenate([space[k].high for k in self.keys]).astype(np.float32)
        super().__init__(task.num_envs, spaces.Box(low, high, dtype=np.float32), task.single_action_space)
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, np.int64)
        self._counts = {"episodes": 0, "successes": 0, "return_sum": 0.0, "length_sum": 0}

    def flat(self, obs: dict) -> np.ndarray:
        return np.concatenate([np.asarray(obs[k], np.float32) for k in self.keys], axis=-1)

    def reset(self):
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        obs, _ = self.task.reset(seed=seed)
        self.last_obs = obs  # the task's observation dict, for pictures
        self._reset_seeds()
        self._returns[:] = 0
        self._lengths[:] = 0
        return self.flat(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        obs, reward, terminated, truncated, info = self.task.step(self._actions)
        self.last_obs = obs
        self._returns += reward
        self._lengths += 1
        dones = terminated | truncated
        infos = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i] = {"terminal_observation": self.flat(info["final_obs"][i]),
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
