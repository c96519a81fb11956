"""What a goal task gives without learning: success of zero and of uniform random actions,
beside trained policies (--runs).

    python experiments/task_baselines.py --env LuxoCube --task cube --episodes 1000 \
        --runs runs/ppo-luxocube-real --out experiments/results/task_baselines_luxocube_cube.json

The episodes are the ones `boxlcd rl eval` runs (the same first episodes, seeds and success
rule, sampled actions), so a trained policy's figure reads against these. For the cube task
each policy also gets, at steps 0, 60 and 140 of the episodes still running, the mean |dx| from
the robot (its bodies' mean) to the object, from the object to its goal, and from the object
to where it started, and success split by where the robot starts: behind the object as seen
from its goal (a push moves it goalward) or on the goal's side. The cube task also reports
where the goals lie: how many goal cubes are still above the floor after the 10 settle steps
(falling, or resting on the robot), and how many lie 0.1 or more above it: delta averages |dx|
and |dy|, so those no cube resting on the floor can meet. --start-near P starts that share of
every policy's episodes as the start_near curriculum does (robot behind the object): with 1,
what a curriculum run learned of pushing.
"""
from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np

from boxlcd.rl.config import RunConfig
from boxlcd.rl.evaluate import EVAL_SEED_OFFSET, first_episodes, summary
from boxlcd.rl.train import load_policy, make_env, read_run, the_task


TRACE_STEPS = (0, 60, 140)


class Traced:
    """A policy that records, before each action, the x of the robot, the object and its goal."""

    def __init__(self, policy, vec):
        self.policy, self.vec, self.steps = policy, vec, []

    def predict(self, obs, deterministic=False):
        o = self.vec.last_obs
        robot_x = self.vec.task.robot_position(o["proprio"])[:, 0]
        self.steps.append((robot_x, o["object"][:, 0].copy(), o["goal:object"][:, 0].copy()))
        return self.policy.predict(obs, deterministic=deterministic)

    def summary(self, lengths: np.ndarray, success: np.ndarray) -> dict:
        robot, obj, goal = (np.stack(a) for a in zip(*self.steps))
        # a robot that starts with the object between it and the goal can push it there; from
        # the goal's side it must first get past the object (over it, in this 2D world)
        behind = np.sign(obj[0] - robot[0]) == np.sign(goal[0] - obj[0])
        out = {"behind_at_start": round(float(behind.mean()), 4),
               "success_from_behind": round(float(success[behind].mean()), 4) if behind.any() else None,
               "success_from_goal_side": round(float(success[~behind].mean()), 4) if (~behind).any() else None}
        for t in TRACE_STEPS:
            live = lengths > t
            if t < len(robot) and live.any():
                out[f"step_{t}"] = {"robot_to_object": round(float(np.abs(robot[t] - obj[t])[live].mean()), 4),
                                    "object_to_goal": round(float(np.abs(obj[t] - goal[t])[live].mean()), 4),
                                    "object_moved": round(float(np.abs(obj[t] - obj[0])[live].mean()), 4),
                                    "running": round(float(live.mean()), 4)}
        return out


class UntrainedPolicy:
    """Zero actions (seed None) or uniform random ones."""

    def __init__(self, action_size: int, seed: int | None = None):
        self.action_size, self.rng = action_size, None if seed is None else np.random.default_rng(seed)

    def predict(self, obs, deterministic=False):
        n = len(obs)
        if self.rng is None:
            return np.zeros((n, self.action_size), np.float32), None
        return self.rng.uniform(-1, 1, (n, self.action_size)).astype(np.float32), None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="LuxoCube")
    p.add_argument("--task", default="cube")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--runs", nargs="*", default=[], help="PPO run folders of this env and task to trace too")
    p.add_argument("--start-near", type=float, default=0.0,
                   help="cube task: start this share of the episodes as the start_near curriculum does")
    p.add_argument("--out", default=None, help="a JSON file for the results")
    a = p.parse_args()
    run = RunConfig(env=a.env, task=a.task, start_near=a.start_near)
    out = {"env": a.env, "task": a.task, "episodes": a.episodes, "start_near": a.start_near}
    policies = [("zero", run, lambda vec: UntrainedPolicy(vec.action_space.shape[0])),
                ("random", run, lambda vec: UntrainedPolicy(vec.action_space.shape[0], seed=0))]
    for path in a.runs:
        trained = read_run(path)
        if (trained.env, trained.task) != (a.env, a.task):
            raise ValueError(f"{path} is a {trained.env} {trained.task} run, not {a.env} {a.task}")
        # its own observation layout, in the engine, without training's aids: the task's returns
        settings = dataclasses.replace(the_task(trained), sim="real", start_near=a.start_near)
        policies.append((path, settings, lambda vec, path=path: load_policy(path)))
    for name, settings, make in policies:
        vec = make_env(settings, num_envs=a.episodes, seed_offset=EVAL_SEED_OFFSET)
        policy = make(vec)
        traced = Traced(policy, vec) if a.task == "cube" else policy
        episodes = first_episodes(traced, vec, deterministic=False)
        result = {k: round(v, 4) for k, v in summary(episodes).items()}
        if a.task == "cube":
            result["trace"] = traced.summary(episodes["lengths"], episodes["success"])
        out[name] = result
        print(f"{a.env} {a.task}, {name}: success {result['success_rate']:.4f} ± {result['success_rate_se']:.4f}, "
              f"mean length {result['mean_length']:.1f}", result.get("trace", ""))
        vec.close()
    if a.task == "cube" and not a.start_near:
        out["goals"] = cube_goal_heights(a.env, a.episodes)
        print("cube goals:", out["goals"])
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)


def cube_goal_heights(env: str, n: int) -> dict:
    """The cube goals' heights above the floor (the lowest resting height), in full_state
    units: after the 10 settle steps and, for comparison, after 60."""
    import boxlcd
    from boxlcd.tasks import CUBE_SETTLE_STEPS, GOAL_SEED_OFFSET

    batch = boxlcd.make(env, num_envs=n, num_threads=1, autoreset_mode="disabled")
    obs = batch.reset(seed=GOAL_SEED_OFFSET)
    y = batch.state_keys.index("object0:y:p")
    zeros = np.zeros((n, batch.action_size), np.float32)
    heights = {}
    for t in range(1, 61):
        obs, *_ = batch.step(zeros)
        if t in (CUBE_SETTLE_STEPS, 60):
            heights[t] = obs["full_state"][:, y].copy()
    floor = min(h.min() for h in heights.values())
    return {f"above_floor_by_{by}_after_{t}_steps": round(float((h - floor >= by).mean()), 4)
            for t, h in heights.items() for by in (0.01, 0.1)}


if __name__ == "__main__":
    main()
