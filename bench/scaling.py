"""Thread scaling from a boxlcd_bench JSON: T=2/T=1 for Batch::step and for the floor.

  build/cpp/bench/boxlcd_bench --boxlcd_n=256 --boxlcd_threads=1,2 --boxlcd_frames=1 \
      --boxlcd_no_sweeps --boxlcd_min_time=1.5 --benchmark_repetitions=3 --benchmark_filter='^(step|floor)/' \
      --benchmark_out=docs/bench/thread_scaling_n256.json --benchmark_out_format=json
  python bench/scaling.py docs/bench/thread_scaling_n256.json

With --benchmark_repetitions=K every figure is the median of its K runs. floor/T:2 steps each thread's own share of the worlds with no hand-off between steps: its ratio
is what two cores give Box2D in one process, the ceiling for the pool's. "cores got": process CPU
time / wall time of the T=2 step run (under 2 when other work held a core; the pool's own
polling counts in it).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics

NAME = re.compile(r"^(step|floor)/(\w+)/N:(\d+)(?:/T:(\d+))?(?:/frames:(\d))?")


def table(path: str) -> str:
    with open(path) as f:
        benchmarks = json.load(f)["benchmarks"]
    runs: dict[tuple[str, int], dict[tuple[str, int], list[float]]] = {}
    for b in benchmarks:
        m = NAME.match(b["name"])
        if b.get("run_type", "iteration") != "iteration" or not m or m.group(5) == "0":
            continue
        if "/lcd:" in b["name"] or "/objects:" in b["name"]:
            continue
        kind, env, n, t = m.group(1), m.group(2), int(m.group(3)), int(m.group(4) or 1)
        runs.setdefault((env, n), {}).setdefault((kind, t), []).append(b["steps_per_s"])
        if kind == "step":
            runs[(env, n)].setdefault(("cores", t), []).append(b.get("cores_used", float("nan")))
    # --benchmark_repetitions: the median of each figure's runs
    rates = {key: {k: statistics.median(v) for k, v in r.items()} for key, r in runs.items()}
    lines = ["| env | N | step T=1 steps/s | step T=2 steps/s | step T=2/T=1 | cores got | floor T=2/T=1 "
             "| step T=2 / floor T=2 |", "|---|---|---|---|---|---|---|---|"]
    for (env, n), r in rates.items():
        if ("step", 1) not in r or ("step", 2) not in r:
            continue
        floor = r.get(("floor", 2), float("nan")) / r.get(("floor", 1), float("nan"))
        lines.append(f"| {env} | {n} | {r[('step', 1)]:,.0f} | {r[('step', 2)]:,.0f} | "
                     f"{r[('step', 2)] / r[('step', 1)]:.2f} | {r[('cores', 2)]:.2f} | {floor:.2f} | "
                     f"{r[('step', 2)] / r.get(('floor', 2), float('nan')):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("json", help="boxlcd_bench --benchmark_out file")
    print(table(p.parse_args().json), end="")


if __name__ == "__main__":
    main()
