"""The PPO loop's env steps per second against the task env's alone, in the same run.

  python bench/ppo_speed.py [--env Urchin] [--task body] [--rollouts 4] [--set KEY=VALUE ...]

Times, with boxlcd rl train's settings (overridable with --set, as there):
- env: the goal task through the SB3 adapter under random actions (the ceiling);
- collect: SB3's rollout collection (policy forward, buffer, env);
- update: SB3's PPO update on those rollouts;
- loop: env steps per second of collect + update, what training sees.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from boxlcd.models.train import key_value, parse_value
from boxlcd.rl.sb3 import CollectOnOneThread
from boxlcd.rl.train import PPO_DEFAULTS, make_env, new_ppo
from results_io import finish  # bench/results_io.py: python puts bench/ on the path


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="Urchin")
    p.add_argument("--task", default="body")
    p.add_argument("--rollouts", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch threads (as boxlcd rl train's --threads)")
    p.add_argument("--env-threads", type=int, default=1)
    p.add_argument("--set", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    ppo = {**PPO_DEFAULTS, **{k: parse_value(v) for k, v in a.set}}
    run = {"env": a.env, "task": a.task, "sim": "real", "seed": 0, "threshold": 0.05, "ep_len": None,
           "device": "cpu", "temperature": 0.0, "env_threads": a.env_threads, **ppo}
    vec = make_env(run)
    vec.reset()
    rng = np.random.default_rng(0)
    n = run["num_envs"] * run["n_steps"]
    start = time.perf_counter()
    for _ in range(a.rollouts * run["n_steps"]):
        vec.step(rng.uniform(-1, 1, (vec.num_envs, vec.action_space.shape[0])).astype(np.float32))
    env_rate = a.rollouts * n / (time.perf_counter() - start)

    model = new_ppo(run, vec)

    model._setup_learn(10**12, None)
    callback = CollectOnOneThread()  # what boxlcd rl train runs: collection on one torch thread
    callback.init_callback(model)
    callback.on_training_start(locals(), globals())
    collect = update = 0.0
    for _ in range(a.rollouts):
        t0 = time.perf_counter()
        model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=ppo["n_steps"])
        t1 = time.perf_counter()
        model.train()
        collect, update = collect + t1 - t0, update + time.perf_counter() - t1
    steps = a.rollouts * n
    result = {"env": a.env, "task": a.task, "settings": ppo, "torch_threads": a.threads, "env_threads": a.env_threads,
              "env_steps_per_s": env_rate, "collect_steps_per_s": steps / collect,
              "update_s_per_rollout": update / a.rollouts, "loop_steps_per_s": steps / (collect + update),
              "update_share": update / (collect + update), "load_average": os.getloadavg()}
    line = (f"{a.env} {a.task}: env alone {env_rate:,.0f} steps/s; collect {result['collect_steps_per_s']:,.0f}; "
            f"update {result['update_s_per_rollout']:.2f} s per {n} steps ({result['update_share']:.0%} of the loop); "
            f"loop {result['loop_steps_per_s']:,.0f} steps/s = {result['loop_steps_per_s'] / env_rate:.2f} of the env's")
    return finish(result, line, a.out)


if __name__ == "__main__":
    main()
