"""Per-episode scores of one model's rollouts: the standard errors and vote thresholds in
docs/models.md.

    python experiments/episode_stats.py runs/bounce-ft64 --data data/bounce_test --episodes 1000 --samples 1 32
    python experiments/episode_stats.py runs/dropbox-ft1m --data data/dropbox_test --episodes 1000 \\
        --samples 32 --thresholds 0.4 0.5 0.6 --fraction

For each decoding (--samples 1: the mode; n > 1: a pixel is lit when more than each of
--thresholds of n rollouts sampled at temperature 1 light it, 0.5 being `boxlcd eval`'s
majority; --fraction: the fraction of votes itself, a gray frame) it scores every episode as
`boxlcd eval`'s ssim_original and psnr_original do (frames with 1 = background, the predicted frames
among the first ep_len) and prints the mean over episodes (equal to eval's figure for the same
--seed and --batch), the per-episode SD, the standard error of the mean (SD / sqrt(episodes)),
the paired difference from the first decoding over the same episodes with its standard error,
and the seconds its rollouts took. --json writes every per-episode score
(boxlcd.analysis.episode_stats).
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from boxlcd.analysis import episode_stats


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ckpt", help="ckpt.pt or a run folder")
    p.add_argument("--data", required=True, help="held-out dataset folder")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--prompt", type=int, default=None, help="default: as boxlcd eval (3, 1 for Dropbox)")
    p.add_argument("--samples", type=int, nargs="+", default=[1, 32])
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.5])
    p.add_argument("--fraction", action="store_true", help="also score the fraction of votes (a gray frame)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write every per-episode score here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    result = episode_stats(a.ckpt, a.data, a.episodes, a.prompt, a.samples, a.thresholds, a.fraction, a.batch,
                           a.seed)
    n = result["episodes"]
    print(f"{a.ckpt} on {n} episodes of {a.data}, prompt {result['prompt']}")
    print(f"{'decode':<18} {'SSIM':>9} {'SD':>6} {'SE':>6} {'paired diff':>11} {'SE':>6} "
          f"{'PSNR':>9} {'SE':>5} {'seconds':>7}")
    base = None
    for name, row in result["decodings"].items():
        s = np.stack([row["ssim_original"], row["psnr_original"]], 1)
        base = s if base is None else base
        se = s.std(axis=0, ddof=1) / np.sqrt(n)
        diff = s[:, 0] - base[:, 0]
        print(f"{name:<18} {s[:, 0].mean():>9.4f} {s[:, 0].std(ddof=1):>6.3f} {se[0]:>6.4f} "
              f"{diff.mean():>+11.4f} {diff.std(ddof=1) / np.sqrt(n):>6.4f} {s[:, 1].mean():>9.1f} "
              f"{se[1]:>5.1f} {row['seconds']:>7.1f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
