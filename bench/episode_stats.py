"""Per-episode scores of one model's rollouts: the standard errors and vote thresholds in
docs/models.md.

    python bench/episode_stats.py runs/bounce-ft64 --data data/bounce_test --episodes 1000 --samples 1 32
    python bench/episode_stats.py runs/dropbox-ft1m --data data/dropbox_test --episodes 1000 \\
        --samples 32 --thresholds 0.4 0.5 0.6 --fraction

For each decoding (--samples 1: the mode; n > 1: a pixel is lit when more than each of
--thresholds of n rollouts sampled at temperature 1 light it, 0.5 being `boxlcd eval`'s
majority; --fraction: the fraction of votes itself, a gray frame) it scores every episode as
`boxlcd eval`'s ssim_original and psnr_original do (frames with 1 = background, the predicted frames
among the first ep_len) and prints the mean over episodes (equal to eval's figure for the same
--seed and --batch), the per-episode SD, the standard error of the mean (SD / sqrt(episodes)),
the paired difference from the first decoding over the same episodes with its standard error,
and the seconds its rollouts took. --json writes every per-episode score.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from boxlcd.dataset import Episodes
from boxlcd.dataset.windows import Windows
from boxlcd.models.spec import prepare
from boxlcd.models.checkpoint import default_prompt
from boxlcd.models.evaluate import frame_psnr, frame_ssim, rollouts, votes
from boxlcd.models.train import load_model


def episode_scores(pred: torch.Tensor, true: torch.Tensor, prompt: int, ep_len: int) -> np.ndarray:
    """(B, 2): each episode's seed-scored SSIM and PSNR, means over its predicted frames among
    the first ep_len (as evaluate's ssim_original and psnr_original, there averaged per horizon)."""
    frames = slice(prompt, ep_len)
    return np.array([[frame_ssim(1 - p[frames], 1 - t[frames]), frame_psnr(p[frames], t[frames])]
                     for p, t in zip(pred, true)])


def decodings(model, windows: Windows, n: int, prompt: int, samples: int, thresholds, fraction: bool,
              batch: int, seed: int):
    """{name: per-episode (n, 2) scores} for one sampling setting, and the seconds it took;
    batches and generator as evaluate's, so that the rollouts are the same."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    names = ["mode"] if samples == 1 else [f"vote {samples} >{t:g}" for t in thresholds] + (
        [f"fraction of {samples}"] if fraction else [])
    scores = {name: [] for name in names}
    seconds = 0.0
    for first in range(0, n, batch):
        b = prepare(windows.__getitems__(np.arange(first, min(n, first + batch))), "cpu")
        start = time.perf_counter()
        if samples == 1:
            preds = [rollouts(model, b, prompt, 0.0, 1, gen)]
        else:
            count = votes(model, b, prompt, 1.0, samples, gen)
            preds = [(count > t * samples).float() for t in thresholds] + ([count / samples] if fraction else [])
        seconds += time.perf_counter() - start
        for name, pred in zip(names, preds):
            pred[:, :prompt] = b["lcd"][:, :prompt]
            scores[name].append(episode_scores(pred, b["lcd"], prompt, windows.data.ep_len))
    return {name: np.concatenate(s) for name, s in scores.items()}, seconds


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
    model, _ = load_model(a.ckpt, "cpu")
    data = Episodes(a.data)
    windows = Windows(data, window=data.ep_len + 1)
    n = min(a.episodes, len(data))
    prompt = default_prompt(data.manifest["env"]) if a.prompt is None else a.prompt
    rows, base = {}, None
    print(f"{a.ckpt} on {n} episodes of {a.data}, prompt {prompt}")
    print(f"{'decode':<18} {'SSIM seed':>9} {'SD':>6} {'SE':>6} {'paired diff':>11} {'SE':>6} "
          f"{'PSNR seed':>9} {'SE':>5} {'seconds':>7}")
    for samples in a.samples:
        scores, seconds = decodings(model, windows, n, prompt, samples, a.thresholds, a.fraction, a.batch, a.seed)
        for name, s in scores.items():
            base = s if base is None else base
            se = s.std(axis=0, ddof=1) / np.sqrt(n)
            diff = s[:, 0] - base[:, 0]
            print(f"{name:<18} {s[:, 0].mean():>9.4f} {s[:, 0].std(ddof=1):>6.3f} {se[0]:>6.4f} "
                  f"{diff.mean():>+11.4f} {diff.std(ddof=1) / np.sqrt(n):>6.4f} {s[:, 1].mean():>9.1f} "
                  f"{se[1]:>5.1f} {seconds:>7.1f}")
            rows[name] = {"ssim_original": s[:, 0].tolist(), "psnr_original": s[:, 1].tolist(), "seconds": seconds}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"checkpoint": str(a.ckpt), "data": str(a.data), "episodes": n, "prompt": prompt,
                       "decodings": rows}, f, indent=1)


if __name__ == "__main__":
    main()
