"""The success of several PPO runs of one setting (seeds), each evaluated by `boxlcd rl eval`,
and their spread (the seed-to-seed spread in docs/learned-sims.md): one run's standard error
covers its 1,000 evaluation episodes, not PPO's seed-to-seed spread, which is larger for a
policy trained inside a learned sim.

  python experiments/rl_seeds.py RUN [RUN ...] [--out seeds.json]

Reads each run's run.json (its seed), state.json (env steps, minutes), eval.json (success in the
engine, sampled and mean action) and eval_learned.json where present (success inside the model
it trained in). Reports each run and, over the runs, the mean, the sample standard deviation,
min and max (boxlcd.analysis.seed_spread).
"""
from __future__ import annotations

import argparse

from boxlcd.analysis import seed_spread
from boxlcd.analysis import report


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="PPO run folders, each evaluated by `boxlcd rl eval`")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    try:
        result = seed_spread(a.runs)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    s = result["success_rate"]
    line = (f"runs: {len(result['runs'])}; success in the engine: mean {s['mean']:.3f}, sd {s['sd']}, "
            f"{s['min']:.3f} to {s['max']:.3f}")
    return report(result, line, a.out)


if __name__ == "__main__":
    main()
