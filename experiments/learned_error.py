"""How far a learned env's proprio drifts from the real env's under the same actions.

  python experiments/learned_error.py RUN [--num-envs 1000] [--actions random|policy:PPO_RUN] [--out err.json]

Both envs reset with the same seeds (so they start equal) and take the same actions: uniform
random ones, or a PPO run's policy acting on the real env's observations (the states a policy
visits, which is where a learned-trained policy is judged). Reports the mean |learned - real|
over the body-position keys (what the body goal's delta averages) at each step: set beside the
success threshold (0.05), it says how long a rollout of the model stays usable for the task.
A model that predicts full_state of an env with an object also gets the error over the object's
x and y (what the cube goal's delta averages).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from boxlcd.gym_env import GymVectorEnv
from boxlcd.learned import LearnedEnv
from boxlcd.tasks import delta_keys, make_task
from boxlcd.analysis import report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a world model's run folder")
    p.add_argument("--num-envs", type=int, default=1000)
    p.add_argument("--actions", default="random", help="random, or policy:PPO_RUN (its sampled actions)")
    p.add_argument("--seed", type=int, default=1 << 41)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    learned = LearnedEnv(a.run, a.num_envs, autoreset_mode=AutoresetMode.DISABLED)
    spec = learned.model.spec
    real = GymVectorEnv(spec["env"], num_envs=a.num_envs, autoreset_mode=AutoresetMode.DISABLED,
                        **spec.get("overrides", {}))
    # what each task's delta averages: the body positions, and (a model predicting full_state of
    # an env with an object) the object's x and y
    columns = {"body": ("proprio", [real.proprio_keys.index(k)
                                    for k in delta_keys("body", real.proprio_keys, real.state_keys)])}
    if learned.predicts_state and "object0:x:p" in real.state_keys:
        columns["object"] = ("full_state", [real.state_keys.index(k)
                                            for k in delta_keys("cube", real.proprio_keys, real.state_keys)])
    errors = {name: [] for name in columns}  # mean |learned - real| per step

    def record(got, want):
        for name, (source, index) in columns.items():
            errors[name].append(float(np.abs(got[source][:, index] - want[source][:, index]).mean()))

    got, _ = learned.reset(seed=a.seed)
    want, _ = real.reset(seed=a.seed)
    for _ in range(learned.prompt - 1):
        want, *_ = real.step(np.zeros((a.num_envs, real.action_space.shape[1]), np.float32))
    policy, goals = None, None
    if a.actions.startswith("policy:"):
        from boxlcd.rl.sb3 import SB3VecEnv
        from boxlcd.rl.train import load_policy, read_run

        ppo_run = a.actions.split(":", 1)[1]
        policy = load_policy(ppo_run)
        task = make_task(spec["env"], "body", num_envs=a.num_envs)  # its goals, for the policy's input
        goals = SB3VecEnv(task, history=read_run(ppo_run).history)
        goals.seed(a.seed)
        goals.reset()
    past = np.repeat(want["proprio"][:, None], (goals.history - 1) if goals else 0, axis=1)  # the policy's history
    rng = np.random.default_rng(0)
    record(got, want)
    for _ in range(learned.ep_len - learned.prompt + 1):
        if policy is None:
            actions = rng.uniform(-1, 1, real.action_space.shape).astype(np.float32)
        else:
            obs = goals.flat({"proprio": want["proprio"], "goal:proprio": goals.last_obs["goal:proprio"]}, past)
            actions = policy.predict(obs, deterministic=False)[0].astype(np.float32)
        got, *_ = learned.step(actions)
        past = np.concatenate([want["proprio"][:, None], past], axis=1)[:, :past.shape[1]]
        want, *_ = real.step(actions)
        record(got, want)
    result = {"env": spec["env"], "run": a.run, "actions": a.actions, "num_envs": a.num_envs}
    parts = []
    for name, by_step in errors.items():
        prefix = "" if name == "body" else f"{name}_"  # the body's keys as before objects were measured
        first = next((t for t, e in enumerate(by_step) if e > 0.05), None)
        result.update({f"{prefix}mean_abs_position_error_by_step": by_step, f"{prefix}first_step_over_0.05": first})
        steps = [t for t in (1, 5, 10, 25, 50, len(by_step) - 1) if t < len(by_step)]
        parts.append(f"{'body positions' if name == 'body' else 'the object x, y'}: "
                     + ", ".join(f"step {t}: {by_step[t]:.4f}" for t in steps) + f", above 0.05 from step {first}")
    line = f"{spec['env']} ({a.actions} actions) mean |learned - real| over " + "; over ".join(parts)
    return report(result, line, a.out)


if __name__ == "__main__":
    main()
