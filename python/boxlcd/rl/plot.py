"""Success curves of PPO runs: success rate against env steps and against wall clock.

  boxlcd rl plot RUN [RUN ...] --out curves.png

Reads each run's log.csv (a point per rollout: the success rate over the episodes that ended in
the last --smooth rollouts); a run trained
in a learned simulator is drawn dashed and labelled with it.
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np

from boxlcd.files import replace_with
from boxlcd.ranges import check_ranges
from boxlcd.rl.train import LOG_FILE, read_run, run_file


MAX_SMOOTH = 10_000  # rollouts per point: past that a curve is one flat line
COLUMNS = ("env_steps", "elapsed_s", "episodes", "success_rate")  # what a curve reads of log.csv


def check_smooth(smooth: int) -> None:
    check_ranges({"smooth": smooth}, {"smooth": (1, MAX_SMOOTH, True)})


def read_log(path: Path) -> np.ndarray:
    """(rows, len(COLUMNS)) of log.csv; a clear error naming the row of a value that is missing,
    not a number, NaN or infinite (a plot would draw it, or leave a gap, without a word)."""
    values = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for r in reader:
            row = []
            for key in COLUMNS:
                try:
                    v = float(r.get(key))
                except (TypeError, ValueError):
                    v = math.nan
                if not math.isfinite(v):
                    raise ValueError(f"{path}: row {reader.line_num}: {key} is {r.get(key)!r}, not a finite number")
                row.append(v)
            values.append(row)
    return np.array(values, dtype=np.float64).reshape(-1, len(COLUMNS))


def curve(run_dir: str, smooth: int) -> dict[str, np.ndarray]:
    check_smooth(smooth)
    path = run_file(run_dir, LOG_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the run has logged nothing yet")
    log = read_log(path)
    log = log[log[:, 2] > 0]  # rollouts in which an episode ended
    steps, seconds, episodes = log[:, 0], log[:, 1], log[:, 2]
    successes = log[:, 3] * episodes
    # Each point: the successes over the episodes of the last `smooth` rollouts (a rollout that
    # ended few episodes, like the first one, weighs little).
    if not len(log):  # no episode has ended yet: nothing to draw
        return {"steps": steps, "seconds": seconds, "success": episodes}
    kernel = np.ones(smooth)
    smoothed = np.convolve(successes, kernel)[:len(log)] / np.maximum(np.convolve(episodes, kernel)[:len(log)], 1)
    return {"steps": steps, "seconds": seconds, "success": smoothed}



def plot(runs: list[str], out: str, smooth: int = 5) -> None:
    check_smooth(smooth)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5 + 0.2 * len(runs)), sharey=True)
    for run_dir in runs:
        run = read_run(run_dir)
        c = curve(run_dir, smooth)
        learned = run.sim != "real"
        label = f"{run.env} {run.task}, trained in {'a learned sim' if learned else 'the engine'} ({Path(run_dir).name})"
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
    replace_with(out, lambda tmp: fig.savefig(tmp, dpi=110))
    print(f"wrote {out}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--out", default="rl_curves.png")
    p.add_argument("--smooth", type=int, default=5, help=f"rollouts averaged per point, 1 to {MAX_SMOOTH} (default 5)")


def run(a: argparse.Namespace) -> None:
    plot(a.runs, a.out, a.smooth)
