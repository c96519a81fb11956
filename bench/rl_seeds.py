"""The success of several PPO runs of one setting (seeds), each evaluated by `boxlcd rl eval`,
and their spread: one run's standard error covers its 1,000 evaluation episodes, not PPO's
seed-to-seed spread, which is larger for a policy trained inside a learned sim.

  python bench/rl_seeds.py RUN [RUN ...] [--out seeds.json]

Reads each run's run.json (its seed), state.json (env steps, minutes), eval.json (success in the engine, sampled
and mean action) and eval_learned.json where present (success inside the model it trained in).
Reports each run and, over the runs, the mean, the sample standard deviation, min and max.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from boxlcd.rl.evaluate import EVAL_FILE, EVAL_LEARNED_FILE
from boxlcd.rl.train import RUN_FILE, STATE_FILE
from results_io import finish  # bench/results_io.py: python puts bench/ on the path


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def one_run(run: str) -> dict:
    folder = Path(run)
    evaluation = read_json(folder / EVAL_FILE)
    if evaluation is None:
        raise SystemExit(f"{run}: no {EVAL_FILE} (run `boxlcd rl eval {run} --episodes 1000` first)")
    state = read_json(folder / STATE_FILE) or {}
    inside = read_json(folder / EVAL_LEARNED_FILE)
    return {"run": run, "seed": (read_json(folder / RUN_FILE) or {}).get("seed"),
            "env_steps": state.get("env_steps"), "minutes": round(state.get("elapsed_s", 0) / 60, 1),
            "episodes": evaluation["episodes"],
            "success_rate": evaluation["success_rate"], "success_rate_se": round(evaluation["success_rate_se"], 4),
            "success_rate_deterministic": evaluation["success_rate_deterministic"],
            "inside_success_rate": inside["success_rate"] if inside else None}


def spread(values: list[float]) -> dict:
    return {"mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="PPO run folders, each evaluated by `boxlcd rl eval`")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    runs = [one_run(r) for r in a.runs]
    result = {"runs": runs}
    for key in ("success_rate", "success_rate_deterministic", "inside_success_rate"):
        values = [r[key] for r in runs if r[key] is not None]
        if values:
            result[key] = spread(values)
    s = result["success_rate"]
    line = f"runs: {len(runs)}; success in the engine: mean {s['mean']:.3f}, sd {s['sd']}, {s['min']:.3f} to {s['max']:.3f}"
    return finish(result, line, a.out)


if __name__ == "__main__":
    main()
