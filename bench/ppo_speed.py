"""The PPO loop's env steps per second against the task env's alone, in the same run.

  python bench/ppo_speed.py [--env Urchin] [--task body] [--rollouts 4] [--set KEY=VALUE ...]
                           [--precisions fp32 bf16] [--collect-threads 1 0] [--obs state pixels]
                           [--encoders mlp conv]

Times, with boxlcd rl train's settings (overridable with --set, as there):
- env: the goal task through the SB3 adapter under random actions (the ceiling);
- collect: SB3's rollout collection (policy forward, buffer, env), on --collect-threads torch
  threads;
- update: SB3's PPO update on those rollouts;
- loop: env steps per second of collect + update, what training sees;
each for every variant (--obs x --precisions x --collect-threads x --encoders, the conv encoder
for pixels only), their rollouts interleaved;
env is timed per --obs (what the policy reads: the proprio, or the frames' unpacked bits).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
import torch

from boxlcd.options import key_value
from boxlcd.rl.config import RunConfig
from boxlcd.rl.sb3 import CollectionThreads
from boxlcd.rl.train import make_env, new_ppo
from boxlcd.analysis import report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="Urchin")
    p.add_argument("--task", default="body")
    p.add_argument("--rollouts", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="torch threads (as boxlcd rl train's --threads)")
    p.add_argument("--env-threads", type=int, default=1)
    p.add_argument("--collect-threads", type=int, nargs="+", default=[1],
                   help="torch threads while collecting, one variant each (1: as boxlcd rl train; 0: --threads)")
    p.add_argument("--precisions", nargs="+", default=["fp32"], help="the nets' precision, one variant each")
    p.add_argument("--obs", nargs="+", default=["state"], help="what the policy reads, one variant each")
    p.add_argument("--encoders", nargs="+", default=["mlp"], help="a pixel policy's encoder, one variant each")
    p.add_argument("--set", type=key_value, action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    run = RunConfig(env=a.env, task=a.task, env_threads=a.env_threads, **dict(a.set))
    run.check()
    ppo = run.to_json()
    n = run.num_envs * run.n_steps
    env_rate = {}
    for obs in a.obs:
        vec = make_env(dataclasses.replace(run, obs=obs))
        vec.reset()
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(a.rollouts * run.n_steps):
            vec.step(rng.uniform(-1, 1, (vec.num_envs, vec.action_space.shape[0])).astype(np.float32))
        env_rate[obs] = a.rollouts * n / (time.perf_counter() - start)

    # One model per variant (obs, precision, collection threads, encoder), their rollouts
    # interleaved, so the variants' ratios come from the same minutes of the same machine.
    variants = list(dict.fromkeys((obs, precision, threads or a.threads, encoder) for obs in a.obs
                                  for precision in a.precisions for threads in a.collect_threads
                                  for encoder in a.encoders if encoder == "mlp" or obs == "pixels"))
    trainers = {}
    for obs, precision, threads, encoder in variants:
        v = dataclasses.replace(run, precision=precision, obs=obs, encoder=encoder)
        model = new_ppo(v, make_env(v))
        model._setup_learn(10**12, None)
        callback = CollectionThreads(threads)
        callback.init_callback(model)
        callback.on_training_start(locals(), globals())
        trainers[obs, precision, threads, encoder] = model, callback
    collect, update = dict.fromkeys(variants, 0.0), dict.fromkeys(variants, 0.0)
    for rollout in range(a.rollouts + 1):  # each variant's first rollout warms up, uncounted
        for variant, (model, callback) in trainers.items():
            t0 = time.perf_counter()
            model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=run.n_steps)
            t1 = time.perf_counter()
            model.train()
            if rollout:
                collect[variant] += t1 - t0
                update[variant] += time.perf_counter() - t1
    steps = a.rollouts * n
    result = {"env": a.env, "task": a.task, "settings": ppo, "torch_threads": a.threads,
              "env_threads": a.env_threads, "env_steps_per_s": env_rate, "variants": [],
              "load_average": os.getloadavg()}
    lines = [f"{a.env} {a.task}: env alone " + ", ".join(f"{r:,.0f} steps/s ({obs})" for obs, r in env_rate.items())]
    for variant in variants:
        obs, precision, threads, encoder = variant
        c, u = collect[variant], update[variant]
        r = {"obs": obs, "precision": precision, "collect_threads": threads, "encoder": encoder,
             "collect_steps_per_s": steps / c,
             "update_s_per_rollout": u / a.rollouts, "loop_steps_per_s": steps / (c + u), "update_share": u / (c + u)}
        result["variants"].append(r)
        lines.append(f"  {obs}, {encoder}, {precision}, collecting on {threads} torch threads: collect "
                     f"{r['collect_steps_per_s']:,.0f}; update {r['update_s_per_rollout']:.2f} s per {n} steps "
                     f"({r['update_share']:.0%} of the loop); loop {r['loop_steps_per_s']:,.0f} steps/s = "
                     f"{r['loop_steps_per_s'] / env_rate[obs]:.2f} of the env's")
    line = "\n".join(lines)
    return report(result, line, a.out)


if __name__ == "__main__":
    main()
