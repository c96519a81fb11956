"""Solver presets against the original testbed's solver: env steps per second.

    python bench/solver_speed.py --out docs/bench/solver_speed.json
    python bench/solver_speed.py --configs original 60/20 30/10 10/3 --repeats 3

A config is a preset name (`boxlcd.solver_presets()`: "original", "fast", ...) or V/P[/S]: V
velocity and P position iterations (S Box2D steps per env step; default the env's own).

Env steps/s of one env batch (N = --num-envs, one thread, frames on, random actions,
autoreset), each config timed --repeats times in turn; the ratios to the first config come from
the medians, so drift of a busy machine hits every config alike. What the presets do to the
physics: experiments/solver_stats.py.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

import boxlcd
from boxlcd.analysis import solver_overrides

ENVS = ["Dropbox", "Bounce", "Bounce2", "Object2", "Urchin", "Luxo", "UrchinCube", "LuxoCube"]


def steps_per_second(name: str, config: str, num_envs: int, steps: int) -> float:
    env = boxlcd.make(name, num_envs=num_envs, num_threads=1, autoreset_mode="same_step",
                      **solver_overrides(config))
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, num_envs, max(env.action_size, 1))).astype(np.float32)
    env.reset(seed=0)
    env.step(actions[0])  # first-call costs out of the timing
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    seconds = time.perf_counter() - start
    env.close()
    return num_envs * steps / seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=ENVS)
    p.add_argument("--configs", nargs="+", default=None,
                   help="presets or V/P[/S]; the first is the reference (default: every preset, original first)")
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--steps", type=int, default=100, help="timed step calls per repeat")
    p.add_argument("--repeats", type=int, default=5, help="timings per config")
    p.add_argument("--out", help="JSON file")
    args = p.parse_args()
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    configs = args.configs or list(boxlcd.solver_presets())  # "original" comes first

    rows = []
    for name in args.envs:
        times = {c: [] for c in configs}
        for _ in range(args.repeats):
            for c in configs:
                times[c].append(steps_per_second(name, c, args.num_envs, args.steps))
        speed = {c: statistics.median(v) for c, v in times.items()}
        for c in configs:
            row = {"env": name, "config": c, "overrides": solver_overrides(c), "steps_per_s": speed[c],
                   "speed_ratio": speed[c] / speed[configs[0]]}
            rows.append(row)
            print(json.dumps(row), flush=True)

    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(), "num_envs": args.num_envs,
                       "steps": args.steps, "repeats": args.repeats, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
