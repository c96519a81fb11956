"""Steps per second of a learned env against the real env it learned, in the same run.

  python bench/learned_speed.py RUN [--num-envs 256] [--device cpu] [--seconds 5] [--out speed.json]

Both step N envs under random actions with autoreset: the real env (GymVectorEnv, one thread)
and LearnedEnv (the checkpoint's model, torch on one thread, or on --device). The ratio is the
figure to quote; absolute rates depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from boxlcd.gym_env import GymVectorEnv
from boxlcd.learned import LearnedEnv
from boxlcd.analysis import report


def steps_per_second(env, seconds: float, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    actions = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
    env.step(actions)  # warm up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
        steps += env.num_envs
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a world model's run folder or checkpoint")
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=3, help="alternating measurements of each (medians kept)")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    learned = LearnedEnv(a.run, a.num_envs, device=a.device, seed=0)
    spec = learned.model.spec
    real = GymVectorEnv(spec["env"], num_envs=a.num_envs, num_threads=1, **spec.get("overrides", {}))
    rates = {"real": [], "learned": []}
    for _ in range(a.repeats):
        rates["real"].append(steps_per_second(real, a.seconds))
        rates["learned"].append(steps_per_second(learned, a.seconds))
    result = {"env": spec["env"], "run": os.path.basename(os.path.normpath(a.run)), "model": type(learned.model).__name__,
              "model_config": learned.model.config, "num_envs": a.num_envs, "device": a.device,
              "real_steps_per_s": float(np.median(rates["real"])),
              "learned_steps_per_s": float(np.median(rates["learned"])), "repeats": rates,
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "load_average": os.getloadavg()}
    result["learned_over_real"] = result["learned_steps_per_s"] / result["real_steps_per_s"]
    line = (f"{spec['env']} N={a.num_envs}: real {result['real_steps_per_s']:,.0f} steps/s (1 thread), learned "
            f"{result['learned_steps_per_s']:,.0f} steps/s on {a.device} -> learned/real {result['learned_over_real']:.2f}")
    return report(result, line, a.out)


if __name__ == "__main__":
    main()
