"""A PPO run's policy as a `boxlcd collect` policy (`--policy ppo:RUN`): episodes of the states
the policy visits, to fine-tune a world model on them. A policy trained inside a model fails in
the engine where the model is wrong, and random-action data rarely shows the states a policy
drives into (DAgger's argument); collecting the policy's own episodes in the engine shows them.

Each shard's envs chase goals of the run's task, drawn as the task draws them (independent
resets; the cube task's after its settle steps). An env that reaches its goal (delta below the
run's threshold) gets the next goal and goes on, so every episode lasts the dataset's ep_len
and keeps the policy moving. Actions are sampled from the policy (with its noise, as it trained
and as it is evaluated). Torch's generator is seeded from the shard's, so the same collection
gives the same bytes on the same machine.
"""
from __future__ import annotations

import numpy as np

from boxlcd.rl.sb3 import POLICY_KEYS, policy_input
from boxlcd.tasks import CUBE_SETTLE_STEPS, GoalPool, delta_keys


class PolicyActor:
    """collect's policy protocol: start(env, obs, rng) after each shard's reset, then
    (obs, rng, action_size) -> actions once per step."""

    def __init__(self, run_dir: str):
        from boxlcd.rl.train import BEFORE_THE_SETTING, load_policy, read_run

        run = read_run(run_dir)
        self.env, self.task, self.threshold = run["env"], run["task"], float(run["threshold"])
        self.history = int(run.get("history", BEFORE_THE_SETTING["history"]))
        self.keys = POLICY_KEYS[self.task]
        self.past_keys = tuple(k for k in self.keys if not k.startswith("goal:")) if self.history > 1 else ()
        self.policy = load_policy(run_dir)

    def start(self, env, obs: dict, rng: np.random.Generator) -> None:
        import torch

        if env.definition.name != self.env:
            raise ValueError(f"the policy was trained on {self.env}, not on {env.definition.name}")
        body = self.task == "body"
        self._source = "proprio" if body else "full_state"
        source_keys = env.proprio_keys if body else env.state_keys
        self._index = np.array([source_keys.index(k) for k in delta_keys(self.task, env.proprio_keys,
                                                                          env.state_keys)])
        n = len(obs["proprio"])
        self._pool = GoalPool(env.definition, max(256, n), 0 if body else CUBE_SETTLE_STEPS)
        self._pool.seed(int(rng.integers(1 << 62)))
        self._goal_proprio = np.zeros_like(obs["proprio"])
        self._goal_values = np.zeros((n, len(self._index)), np.float32)
        self._new_goals(np.arange(n))
        torch.manual_seed(int(rng.integers(1 << 62)))
        if self.past_keys:
            self._past = np.repeat(self._now(self._inputs(obs))[:, None], self.history - 1, axis=1)

    def _new_goals(self, rows: np.ndarray) -> None:
        _, proprio, full_state = self._pool.take(len(rows))
        self._goal_proprio[rows] = proprio
        self._goal_values[rows] = (proprio if self._source == "proprio" else full_state)[:, self._index]

    def _inputs(self, obs: dict) -> dict:
        inputs = {"proprio": obs["proprio"], "goal:proprio": self._goal_proprio}
        if self.task == "cube":
            inputs.update({"object": obs["full_state"][:, self._index], "goal:object": self._goal_values})
        return inputs

    def _now(self, inputs: dict) -> np.ndarray:
        return np.concatenate([np.asarray(inputs[k], np.float32) for k in self.past_keys], axis=-1)

    def __call__(self, obs: dict, rng: np.random.Generator, action_size: int) -> np.ndarray:
        reached = np.abs(obs[self._source][:, self._index] - self._goal_values).mean(axis=1) < self.threshold
        if reached.any():
            self._new_goals(np.flatnonzero(reached))
        inputs = self._inputs(obs)
        vector = policy_input(inputs, self.keys, self._past if self.past_keys else None)
        actions = self.policy.predict(vector, deterministic=False)[0].astype(np.float32)
        if self.past_keys:
            self._past = np.concatenate([self._now(inputs)[:, None], self._past[:, :-1]], axis=1)
        return actions
