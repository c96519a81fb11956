"""boxlcd's Python benchmark: env steps/s of the Python API over a grid, the Python API against
the C++ API on the same configuration, and memory per env. Writes JSON for bench/report.py.

    python bench/bench.py --cpp build/bench/boxlcd_bench --out bench-py.json          # full grid
    python bench/bench.py --quick --cpp build/bench/boxlcd_bench --out bench-py.json  # minutes

Steps/s = num_envs x step calls / wall time, random actions, autoreset same_step (every env
step advances the physics; resets are included). Each figure runs for at least --min-time
seconds and, where --max-time allows, whole episodes.

Python against C++ ("paired"): for a few configurations the same number of calls is timed in
this process with env.step and by the C++ benchmark (a subprocess, Batch::step, plus the
physics floor), alternating --repeats times; ratios come from the medians, so slow drifts of a
noisy machine hit both sides alike.

Memory: each figure comes from a fresh process (RSS and virtual size before and after making
the envs and stepping them twice), so memory freed by an earlier figure cannot hide growth.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import boxlcd

GIB = 1 << 30


def calls_for(us_per_call: float, ep_len: int, min_time: float, max_time: float) -> int:
    """At least min_time and, where max_time allows, whole episodes (as the C++ benchmark)."""
    call_s = max(us_per_call, 0.01) * 1e-6
    cap = max(1, int(max_time / call_s))
    want = max(1, math.ceil(min_time / call_s))
    if cap < ep_len:
        return min(want, cap)
    return max(1, min(-(-want // ep_len), cap // ep_len)) * ep_len


def probe_us_per_env_step(name: str) -> float:
    env = boxlcd.make(name, num_envs=16, seed=12345)
    a = np.zeros((16, env.action_size), np.float32)
    env.step(a)
    t0 = time.perf_counter()
    for _ in range(3):
        env.step(a)
    return (time.perf_counter() - t0) * 1e6 / (3 * 16)


def splitmix_actions(n: int, a: int, seed: int = 7, kinds: int = 16) -> list[np.ndarray]:
    """The C++ benchmark's random actions (boxlcd::Rng(seed).uniform(-1, 1), 16 matrices), so
    both sides step the very same trajectories and differ only by the API."""
    k = np.arange(1, kinds * n * a + 1, dtype=np.uint64)
    z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    values = (-1.0 + 2.0 * u).astype(np.float32)
    return list(values.reshape(kinds, n, a))


def time_python(name: str, n: int, threads: int, frames: bool, calls: int, seed: int = 0) -> float:
    """Seconds for `calls` env.step calls of a fresh batch (the construction is not timed)."""
    env = boxlcd.make(name, num_envs=n, num_threads=threads, seed=seed,
                      autoreset_mode="same_step", frames=frames)
    actions = splitmix_actions(n, env.action_size)
    step = env.step
    t0 = time.perf_counter()
    for k in range(calls):
        step(actions[k % 16])
    return time.perf_counter() - t0


def run_cpp(cpp: str, name: str, n: int, threads: int, calls: int) -> dict:
    """The C++ benchmark's step (frames on) and floor figures for one configuration."""
    filt = f"^(step/{name}/N:{n}/T:{threads}/frames:1|floor/{name}/N:{n})/"
    out = subprocess.run(
        [cpp, f"--boxlcd_envs={name}", f"--boxlcd_n={n}", f"--boxlcd_threads={threads}",
         "--boxlcd_frames=1", "--boxlcd_no_sweeps", f"--boxlcd_calls={calls}",
         f"--benchmark_filter={filt}", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    figures = {}
    for b in json.loads(out)["benchmarks"]:
        kind = b["name"].split("/")[0]
        figures[kind] = b["us_per_env_step"] * n  # microseconds per call
    return figures


def memory_child(name: str, n: int) -> None:
    """Runs in a fresh process: prints RSS and virtual size growth for n envs as JSON."""
    def status():
        fields = {}
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmSize"):
                    fields[key] = int(value.split()[0]) * 1024
        return fields

    before = status()
    env = boxlcd.make(name, num_envs=n, num_threads=1)
    a = np.zeros((n, env.action_size), np.float32)
    env.step(a)
    env.step(a)
    after = status()
    print(json.dumps({
        "env": name, "num_envs": n,
        "rss_bytes_per_env": (after["VmRSS"] - before["VmRSS"]) / n,
        "virtual_bytes_per_env": (after["VmSize"] - before["VmSize"]) / n,
        "estimate_bytes_per_env": boxlcd._core.bytes_per_env(env.definition),
    }))


def measure_memory(name: str, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--memory-child", name, str(n)],
                         check=True, capture_output=True, text=True).stdout
    m = json.loads(out.strip().splitlines()[-1])
    m["rss_gib"] = m["rss_bytes_per_env"] * n / GIB
    m["virtual_gib"] = m["virtual_bytes_per_env"] * n / GIB
    m["fits_4_gib"] = max(m["rss_gib"], m["virtual_gib"]) < 4.0
    return m


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=boxlcd.envs())
    p.add_argument("--n", type=int, nargs="+", default=[1, 16, 256, 4096], help="num_envs values")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--frames", type=int, nargs="+", default=[1, 0], help="1: frames on, 0: off")
    p.add_argument("--min-time", type=float, default=0.5)
    p.add_argument("--max-time", type=float, default=3.0)
    p.add_argument("--quick", action="store_true",
                   help="N in {1, 256}, 0.1 to 0.5 s per figure, 2 repeats, memory for Urchin only")
    p.add_argument("--cpp", help="the C++ benchmark executable, for the paired Python/C++ figures")
    p.add_argument("--paired-n", type=int, nargs="+", default=[1, 256])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--memory-n", type=int, default=16384, help="envs for the memory figures")
    p.add_argument("--memory-envs", nargs="*", default=None,
                   help="envs whose memory is measured (default: every env; --quick: Urchin)")
    p.add_argument("--only", nargs="+", choices=["grid", "paired", "memory"], default=["grid", "paired", "memory"],
                   help="which parts to run")
    p.add_argument("--memory-child", nargs=2, metavar=("ENV", "N"), help=argparse.SUPPRESS)
    p.add_argument("--out", default="bench-py.json")
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return
    if args.quick:
        args.n = [n for n in args.n if n in (1, 256)] or [1, 256]
        args.min_time, args.max_time, args.repeats = 0.1, 0.5, 2
        if args.memory_envs is None:
            args.memory_envs = ["Urchin"]
    if args.memory_envs is None:
        args.memory_envs = args.envs

    result = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "numpy": np.__version__,
                    "boxlcd": boxlcd.__version__, "load_avg": [round(x, 2) for x in os.getloadavg()]},
        "config": {k: v for k, v in vars(args).items() if k != "memory_child"},
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "python": [], "paired": [], "memory": [],
    }
    probes = {name: probe_us_per_env_step(name) for name in args.envs}
    if "grid" not in args.only:
        args.n = []
    if "paired" not in args.only:
        args.cpp = None
    if "memory" not in args.only:
        args.memory_envs = []

    print(f"{'env':<12} {'N':>5} {'T':>2} {'frames':>6} {'steps/s':>12}")
    for name in args.envs:
        ep_len = boxlcd.env_def(name).ep_len
        for n in args.n:
            for t in args.threads:
                for f in args.frames:
                    calls = calls_for(probes[name] * n / min(t, n), ep_len, args.min_time, args.max_time)
                    s = time_python(name, n, t, bool(f), calls)
                    sps = n * calls / s
                    result["python"].append({"env": name, "N": n, "T": t, "frames": f, "calls": calls,
                                             "seconds": s, "steps_per_s": sps, "us_per_env_step": 1e6 * s / (n * calls)})
                    print(f"{name:<12} {n:>5} {t:>2} {f:>6} {sps:>12,.0f}", flush=True)

    if args.cpp:
        print(f"\n{'env':<12} {'N':>5} {'T':>2} {'python us/call':>15} {'C++ us/call':>12} {'floor us/call':>14}")
        for name in args.envs:
            ep_len = boxlcd.env_def(name).ep_len
            for n in args.paired_n:
                for t in args.threads:
                    calls = calls_for(probes[name] * n / min(t, n), ep_len, args.min_time, args.max_time)
                    py, cpp, floor = [], [], []
                    for _ in range(args.repeats):
                        py.append(1e6 * time_python(name, n, t, True, calls) / calls)
                        figures = run_cpp(args.cpp, name, n, t, calls)
                        cpp.append(figures["step"])
                        floor.append(figures["floor"])
                    row = {"env": name, "N": n, "T": t, "frames": 1, "calls": calls,
                           "python_us_per_call": py, "cpp_us_per_call": cpp, "floor_us_per_call": floor}
                    py_m, cpp_m, floor_m = map(statistics.median, (py, cpp, floor))
                    row.update({"python_over_cpp_speed": cpp_m / py_m,
                                "python_extra_us_per_call": py_m - cpp_m,
                                "python_extra_us_over_floor": py_m - floor_m})
                    result["paired"].append(row)
                    print(f"{name:<12} {n:>5} {t:>2} {py_m:>15.1f} {cpp_m:>12.1f} {floor_m:>14.1f}", flush=True)

    if args.memory_envs:
        print(f"\n{'env':<12} {'N':>6} {'RSS B/env':>10} {'virt B/env':>11} {'estimate':>9} {'GiB':>6}")
        for name in args.memory_envs:
            m = measure_memory(name, args.memory_n)
            result["memory"].append(m)
            print(f"{name:<12} {args.memory_n:>6} {m['rss_bytes_per_env']:>10,.0f} "
                  f"{m['virtual_bytes_per_env']:>11,.0f} {m['estimate_bytes_per_env']:>9,} "
                  f"{max(m['rss_gib'], m['virtual_gib']):>6.2f}", flush=True)

    result["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
