"""Success curves of PPO runs: success rate against env steps and against wall clock.

  boxlcd rl plot RUN [RUN ...] --out curves.png

Reads each run's log.csv (a point per rollout: the success rate over the episodes that ended in
the last --smooth rollouts); a run trained
in a learned simulator is drawn dashed and labelled with it.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from boxlcd.rl.train import LOG_FILE, read_run


def curve(run_dir: str, smooth: int) -> dict[str, np.ndarray]:
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the run has logged nothing yet")
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if int(r["episodes"]) > 0]
    steps = np.array([float(r["env_steps"]) for r in rows])
    seconds = np.array([float(r["elapsed_s"]) for r in rows])
    episodes = np.array([float(r["episodes"]) for r in rows])
    successes = np.array([float(r["success_rate"]) for r in rows]) * episodes
    # Each point: the successes over the episodes of the last `smooth` rollouts (a rollout that
    # ended few episodes, like the first one, weighs little).
    if not len(rows):  # no episode has ended yet: nothing to draw
        return {"steps": steps, "seconds": seconds, "success": episodes}
    kernel = np.ones(max(1, smooth))
    smoothed = np.convolve(successes, kernel)[:len(rows)] / np.maximum(np.convolve(episodes, kernel)[:len(rows)], 1)
    return {"steps": steps, "seconds": seconds, "success": smoothed}


def plot(runs: list[str], out: str, smooth: int = 5) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5 + 0.2 * len(runs)), sharey=True)
    for run_dir in runs:
        run = read_run(run_dir)
        c = curve(run_dir, smooth)
        learned = run["sim"] != "real"
        label = f"{run['env']} {run['task']}, trained in {'a learned sim' if learned else 'the engine'} ({Path(run_dir).name})"
        style = "--" if learned else "-"
        axes[0].plot(c["steps"] / 1e6, c["success"], style, label=label)
        axes[1].plot(c["seconds"] / 60, c["success"], style, label=label)
    axes[0].set_xlabel("env steps (millions)")
    axes[1].set_xlabel("wall clock (minutes)")
    axes[0].set_ylabel("training success rate (where trained)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1.02)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=2)
    fig.tight_layout(rect=(0, 0.06 + 0.035 * ((len(runs) + 1) // 2), 1, 1))
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--out", default="rl_curves.png")
    p.add_argument("--smooth", type=int, default=5, help="rollouts averaged per point (default 5)")


def run(a: argparse.Namespace) -> None:
    plot(a.runs, a.out, a.smooth)
