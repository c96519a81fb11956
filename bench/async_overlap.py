"""How much send/recv gains when a policy costs time: steps/s, synchronous vs pipelined.

    python bench/async_overlap.py --env Urchin --num-envs 512 --policy-ms 2 --out overlap.json

The policy is simulated by a sleep (the GIL is free, as while a GPU computes). Synchronous:
step all envs, then run the policy on all. Pipelined: num_envs = 2 x batch; recv a batch,
run the policy on it, send it back, so one half steps while the other half's policy runs.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import boxlcd


def synchronous(env, policy_s, seconds):
    a = np.zeros((env.num_envs, env.action_size), np.float32)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(a)
        time.sleep(policy_s)  # the policy for all envs, after the step
        steps += env.num_envs
    return steps / (time.perf_counter() - start)


def pipelined(env, policy_s, seconds):
    half = env.num_envs // 2
    a = np.zeros((half, env.action_size), np.float32)
    env.send(a, env_ids=np.arange(half))
    env.send(a, env_ids=np.arange(half, env.num_envs))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ids = env.recv(half)[4]["env_id"]
        time.sleep(policy_s / 2)  # the policy for half of the envs
        env.send(a[: len(ids)], env_ids=ids)
        steps += len(ids)
    elapsed = time.perf_counter() - start
    while env.batch.in_flight:
        env.recv()
    return steps / elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="Urchin")
    p.add_argument("--num-envs", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--policy-ms", type=float, nargs="+", default=[0.0, 2.0, 10.0])
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args()
    results = []
    for ms in args.policy_ms:
        env = boxlcd.make(args.env, num_envs=args.num_envs, num_threads=args.threads)
        sync = synchronous(env, ms / 1000, args.seconds)
        pipe = pipelined(env, ms / 1000, args.seconds)
        results.append({"env": args.env, "num_envs": args.num_envs, "threads": args.threads,
                        "policy_ms": ms, "sync_steps_per_s": sync, "pipelined_steps_per_s": pipe,
                        "gain": pipe / sync})
        print(f"policy {ms:5.1f} ms  sync {sync:10,.0f}  pipelined {pipe:10,.0f}  gain x{pipe / sync:.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
