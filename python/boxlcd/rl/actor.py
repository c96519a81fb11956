"""A PPO run's policy as a collecting policy (`boxlcd collect --policy ppo:RUN`): episodes of the states
the policy visits, to fine-tune a world model on them. A policy trained inside a model fails in
the engine where the model is wrong, and random-action data rarely shows the states a policy
drives into (DAgger's argument); collecting the policy's own episodes in the engine shows them.

Each shard's envs chase goals of the run's task, drawn as the task draws them (independent
resets; the cube task's after its settle steps). An env that reaches its goal (delta below the
run's threshold) gets the next goal and goes on, so every episode lasts the dataset's ep_len
and keeps the policy moving. Actions are sampled from the policy (with its noise, as it trained
and as it is evaluated). Torch's generator is seeded from the shard's, so the same collection
gives the same bytes on the same machine.

    from boxlcd.dataset import collect
    collect("Urchin", 1000, "data/urchin-ppo", policy=ppo_policy("ppo:runs/ppo-urchin"))
"""
from __future__ import annotations

import numpy as np

from boxlcd.rl.sb3 import PolicyInput, policy_keys
from boxlcd.tasks import Goals


PREFIX = "ppo:"


def ppo_policy(name: str) -> PolicyActor:
    """The collecting policy 'ppo:RUN' names: the PPO run RUN's, loaded (and checked) now."""
    if not isinstance(name, str) or not name.startswith(PREFIX) or name == PREFIX:
        raise ValueError(f"a PPO run's policy is named {PREFIX}RUN, got {name!r}")
    return PolicyActor(name[len(PREFIX):], name)


class PolicyActor:
    """collect's policy protocol: start(env, obs, rng) after each shard's reset, then
    (obs, rng, action_size) -> actions once per step; `env` is the env it was trained on and
    `name` what the dataset's manifest records."""

    def __init__(self, run_dir: str, name: str | None = None):
        from boxlcd.rl.train import load_policy, read_run

        run = read_run(run_dir)
        self.run_dir, self.name = str(run_dir), name or f"{PREFIX}{run_dir}"
        self.env, self.task, self.threshold = run.env, run.task, float(run.threshold)
        self.history, self.obs = run.history, run.obs
        self.policy = load_policy(run_dir)

    def __getstate__(self) -> dict:
        # Sent to Ray's workers without the SB3 model (and its env) or a shard's goals: each
        # worker loads the model from the run, and start() draws the goals.
        return {k: v for k, v in self.__dict__.items() if k != "policy" and not k.startswith("_")}

    def __setstate__(self, state: dict) -> None:
        from boxlcd.rl.train import load_policy

        self.__dict__.update(state)
        self.policy = load_policy(self.run_dir)

    def start(self, env, obs: dict, rng: np.random.Generator) -> None:
        import torch

        if env.definition.name != self.env:
            raise ValueError(f"the policy was trained on {self.env}, not on {env.definition.name}")
        self._goals = Goals(self.task, env.definition, env.proprio_keys, env.state_keys, len(obs["proprio"]))
        self._goals.reset(int(rng.integers(1 << 62)))
        torch.manual_seed(int(rng.integers(1 << 62)))
        self._inputs = PolicyInput(policy_keys(self.task, self.obs), self.history, env.frame_shape[1])
        self._past = self._inputs.start(self._goals.observation(obs))

    def __call__(self, obs: dict, rng: np.random.Generator, action_size: int) -> np.ndarray:
        reached = self._goals.delta(obs) < self.threshold
        if reached.any():
            self._goals.renew(np.flatnonzero(reached))
        inputs = self._goals.observation(obs)
        vector = self._inputs.vector(inputs, self._past)
        actions = self.policy.predict(vector, deterministic=False)[0].astype(np.float32)
        self._past = self._inputs.advance(self._past, inputs)
        return actions
