"""Evaluate a trained world model on held-out episodes.

  boxlcd eval CKPT --data TESTDIR [--out DIR]   (or python -m boxlcd.models.evaluate ...)

Writes into --out (default: the checkpoint's folder): eval.json (every number, per-horizon
curves included), eval.md (one table row) and rollout.gif (truth top, prediction middle,
error bottom; prompt frames tinted green, predicted frames red).

- bits/dim: teacher-forced negative log-likelihood of the binary pixels in bits, averaged over
  the frames after the prompt; frame 0 separately. Models marked `bound` (RSSM, binary_ae)
  report an upper bound.
- rollouts from the run's own prompt (its boxlcd train --prompt: by default 3 real frames, 1 for
  Dropbox) to the end of each episode, under the episode's actions, decoded (see `rollouts`) as
  each pixel's mode frame by frame (the default), one sample (--temperature > 0), or each
  pixel's majority over --samples sampled rollouts: per-horizon
  pixel error rate, exact-frame rate, body IoU, and SSIM and PSNR per predicted frame as
  pytorch-ignite computes them (data_range 1; SSIM with an 11x11 Gaussian, sigma 1.5,
  k1 0.01, k2 0.03 on reflect-padded frames; PSNR adds 1e-10 to the MSE, so a perfect frame
  scores 100 dB), averaged over frames, as the original testbed's paper did. SSIM depends on
  polarity: `ssim` is on boxlcd's frames (1 = body); `ssim_bg1` on inverted frames
  (1 = background), the way the original testbed stored its frames.
- `ssim_original`, `psnr_original` (`ssim_seed`, `psnr_seed` in eval.json files written before
  the rename; upgrade_row reads them): the same rollouts scored as the original testbed's
  evaluator scored them (its
  research/runners/evaler.py): SSIM on frames with 1 = background (its polarity), over the
  predicted frames among the first ep_len of each episode (its datasets stored the ep_len
  observations before each action; boxlcd's episodes add the frame after the last action).
  These are the columns to set beside the paper's table.
- with --arbiter (a run of `boxlcd train arbiter` on the env): the realism of the model's
  video as the original evaluator scored it, on one more rollout per episode sampled at
  temperature 1 (arbiter.py): `fid` (Fréchet distance of the arbiter's embeddings of 5-frame
  windows), `precision`, `recall`, `density`, `coverage` (k-NN manifolds, k = 3) and
  `action_error` (the error of the actions the arbiter reads from the windows), each beside its
  floor, the test set against itself (`fid_real`, `precision_real`, ..., `action_error_real`).

A metric the run does not define is null in eval.json ("-" in eval.md): bits/dim of the
posterior oracle (no likelihood), ssim_original and psnr_original with no predicted frame among
the first ep_len, action_error of an env without a robot. Any other NaN or infinity (a model
whose predictions overflow) is an error naming the metric, and nothing is written.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from boxlcd.dataset import Episodes
from boxlcd.dataset.windows import Windows
from boxlcd.files import replace_with, write_text
from boxlcd.learned import check_device
from boxlcd.models.arbiter import RealismSums, check_arbiter, load_arbiter
from boxlcd.models.bernoulli import LN2
from boxlcd.models.checkpoint import default_prompt, non_finite
from boxlcd.models.rollout import rollout
from boxlcd.models.settings import changed_settings
from boxlcd.models.spec import check_data_fits, prepare
from boxlcd.ranges import MAX_THREADS, check_ranges

TARGETS = {  # the original testbed's workshop paper, its best model per env
    "ssim": {"Dropbox": 0.953, "Bounce": 0.980, "Bounce2": 0.856, "Object2": 0.710, "Urchin": 0.741,
             "Luxo": 0.675, "UrchinCube": 0.651, "LuxoCube": 0.566},
    "psnr": {"Dropbox": 69.3, "Bounce": 88.4, "Urchin": 14.0, "Luxo": 12.3},
}


def frame_ssim(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Mean SSIM of (B, H, W) 0/1 frame pairs, by ignite's SSIM with the paper's settings."""
    from ignite.metrics import SSIM

    m = SSIM(data_range=1.0, kernel_size=11, sigma=1.5, k1=0.01, k2=0.03, gaussian=True, device=pred.device)
    m.update((pred[:, None].double(), true[:, None].double()))
    return float(m.compute())


def frame_psnr(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Mean PSNR of (B, H, W) 0/1 frame pairs, by ignite's PSNR with data_range 1."""
    from ignite.metrics import PSNR

    m = PSNR(data_range=1.0, device=pred.device)
    m.update((pred[:, None].double(), true[:, None].double()))
    return float(m.compute())


def rollout_metrics(pred: torch.Tensor, true: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-frame sums over a batch of predicted frames (B, n, H, W): the per-horizon totals."""
    wrong = (pred != true).float()
    inter = (pred * true).sum(dim=(2, 3))
    union = ((pred + true) > 0).float().sum(dim=(2, 3))
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
    n = pred.shape[1]
    return {
        "pixel_error": wrong.mean(dim=(2, 3)).sum(0).cpu().numpy(),
        "exact_frame": (wrong.sum(dim=(2, 3)) == 0).float().sum(0).cpu().numpy(),
        "iou": iou.sum(0).cpu().numpy(),
        "ssim": np.array([frame_ssim(pred[:, h], true[:, h]) * len(pred) for h in range(n)]),
        "psnr": np.array([frame_psnr(pred[:, h], true[:, h]) * len(pred) for h in range(n)]),
        # The seed stored 1 for background; SSIM (not PSNR) changes when frames are inverted.
        "ssim_bg1": np.array([frame_ssim(1 - pred[:, h], 1 - true[:, h]) * len(pred) for h in range(n)]),
    }


def decoding(temperature: float, samples: int) -> str:
    """How rollouts were decoded, in words: "mode", "sample T=1" or "vote 32 T=1"."""
    if samples > 1:
        return f"vote {samples} T={temperature:g}"
    return f"sample T={temperature:g}" if temperature > 0 else "mode"


EVAL_RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed)
    "episodes": (0, None, True), "batch": (1, None, True), "gif_episodes": (0, None, True),
    "seed": (0, 2**63 - 2, True)}  # torch's generators take a signed 64-bit seed (and the realism one seed + 1)
EVAL_FIX = "evaluate a model on held-out data of its own env and settings"
MAX_SAMPLES = 1024  # rollouts voted over per episode: far past where the majority settles



def check_settings(settings: dict) -> None:
    """A clear error for the first of EVAL_RANGES' settings in `settings` out of its range."""
    asked = {k: v for k, v in settings.items() if k in EVAL_RANGES}
    check_ranges(asked, {k: EVAL_RANGES[k] for k in asked})


def check_decoding(temperature: float, samples: int) -> None:
    """A clear error for a decoding `rollouts` cannot do (or would do without end: each of
    `samples` rollouts runs the model over every episode)."""
    if not (isinstance(samples, int) and not isinstance(samples, bool) and 1 <= samples <= MAX_SAMPLES):
        raise ValueError(f"samples must be a whole number >= 1 and <= {MAX_SAMPLES}, got {samples!r}")
    check_ranges({"temperature": temperature}, {"temperature": (0.0, None, True)})
    if samples > 1 and not temperature > 0:
        raise ValueError(f"a majority over {samples} rollouts needs a temperature > 0 to sample them "
                         f"(mode decoding gives the same rollout every time), got {temperature}")


@torch.no_grad()
def rollouts(model, batch: dict, prompt: int, temperature: float = 0.0, samples: int = 1,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """The model's frames after the prompt: with samples == 1 its mode frame by frame
    (temperature 0) or one sample; with samples > 1 each pixel's majority (more than half) over
    that many rollouts sampled at `temperature`. The majority is the per-pixel best guess over
    whole futures, as the oracle decodes; mode decoding commits to each frame's mode and goes on
    from it, so a near-tie early in a rollout decides all of its later frames."""
    if samples == 1:
        return model.sample(batch, prompt, temperature=temperature, generator=generator)
    out = (votes(model, batch, prompt, temperature, samples, generator) * 2 > samples).float()
    out[:, :prompt] = batch["lcd"][:, :prompt]
    return out


@torch.no_grad()
def votes(model, batch: dict, prompt: int, temperature: float, samples: int,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """How many of `samples` rollouts sampled at `temperature` light each pixel."""
    count = torch.zeros_like(batch["lcd"])
    for _ in range(samples):
        count += model.sample(batch, prompt, temperature=temperature, generator=generator)
    return count


@torch.no_grad()
def evaluate(model, data: str | Episodes, prompt: int | None = None, episodes: int = 512, batch: int = 128,
             temperature: float = 0.0, samples: int = 1, seed: int = 0, device: str = "cpu",
             gif: str | Path | None = None, gif_episodes: int = 8, arbiter=None) -> dict:
    """Bits/dim and rollout metrics of `model` on the first `episodes` episodes of `data`, its
    rollouts decoded as `rollouts` says; with an arbiter (arbiter.py) also the realism scores of
    one more rollout per episode sampled at temperature 1 (the model's own distribution, whatever
    the decoding of the other columns)."""
    data = data if isinstance(data, Episodes) else Episodes(data)
    check_settings({"episodes": episodes, "batch": batch, "gif_episodes": gif_episodes, "seed": seed})
    check_data_fits(model, data, EVAL_FIX)
    env = data.manifest["env"]
    prompt = default_prompt(env) if prompt is None else prompt
    T = data.ep_len + 1
    if not 1 <= prompt < T:
        raise ValueError(f"prompt must be in [1, {T - 1}], got {prompt}")
    check_decoding(temperature, samples)
    if arbiter is not None:
        check_arbiter(arbiter, env, data.frame_shape)
    windows = Windows(data, window=T)
    n = min(episodes, len(windows)) if episodes else len(windows)
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    realism_gen = torch.Generator().manual_seed(seed + 1)  # the decoded rollouts stay as without it
    realism = RealismSums(arbiter, prompt) if arbiter is not None else None
    torch.manual_seed(seed)
    nll = torch.zeros(T, dtype=torch.float64)
    sums = None
    shown = None
    for first in range(0, n, batch):
        b = prepare(windows.__getitems__(np.arange(first, min(n, first + batch))), device)
        nll += model.frame_nll(b).double().sum(0).cpu()
        pred = rollouts(model, b, prompt, temperature, samples, gen)
        part = rollout_metrics(pred[:, prompt:], b["lcd"][:, prompt:])
        sums = part if sums is None else {k: sums[k] + part[k] for k in sums}
        if realism is not None:
            realism.add(b, *generated(model, b, prompt, realism_gen))
        if shown is None:
            shown = (b["lcd"][:gif_episodes].cpu(), pred[:gif_episodes].cpu())
    pixels = data.frame_shape[0] * data.frame_shape[1]
    per_horizon = {k: (v / n).tolist() for k, v in sums.items()}
    result = {
        "env": env, "frame_shape": list(data.frame_shape), "episodes": n, "prompt": prompt,
        "temperature": temperature, "samples": samples, "decode": decoding(temperature, samples),
        "bound": bool(model.bound),
        "bits_per_dim": float(nll[prompt:].sum() / ((T - prompt) * n * pixels * LN2)),
        "bits_per_dim_frame0": float(nll[0] / (n * pixels * LN2)),
        **{k: float(np.mean(v)) for k, v in per_horizon.items()},
        "ssim_original": original_mean(per_horizon["ssim_bg1"], data.ep_len - prompt),
        "psnr_original": original_mean(per_horizon["psnr"], data.ep_len - prompt),
        "per_horizon": per_horizon,
        **(realism.scores() if realism is not None else {}),
    }
    if not has_likelihood(model):
        result["bits_per_dim"] = result["bits_per_dim_frame0"] = None
    if arbiter is not None and not arbiter.spec["robot"]:  # no actions to read from the frames
        result["action_error"] = result["action_error_real"] = None
    check_finite(result)
    if gif:
        write_gif(gif, *shown, prompt)
    return result


def generated(model, batch: dict, prompt: int, generator: torch.Generator):
    """(frames, proprio) of a rollout sampled at temperature 1. The oracle has no step contract:
    its frames are one simulated posterior sample, and its envs (no robot) have no proprio to
    predict."""
    if hasattr(model, "start"):
        return rollout(model, batch, prompt, 1.0, generator)
    return model.sample(batch, prompt, temperature=1.0, generator=generator), batch["proprio"]


def original_mean(per_horizon: list[float], frames: int) -> float | None:
    """Mean over the first `frames` predicted frames (None when there are none)."""
    return float(np.mean(per_horizon[:frames])) if frames > 0 else None


def has_likelihood(model) -> bool:
    """Whether the model scores frames (the posterior oracle, a simulator, does not)."""
    from boxlcd.models.oracle import PosteriorOracle

    return not isinstance(model, PosteriorOracle)


def check_finite(result: dict) -> None:
    """Refuses a result holding NaN or an infinity, naming the first such metric: a number a
    model cannot have (finite weights whose predictions overflow), never a score to keep. A
    metric that is not defined for the run (the oracle's bits/dim, no frames for ssim_original)
    is None, written null."""
    bad = non_finite(result)
    if bad is not None:
        raise ValueError(f"{bad[0]} is {bad[1]}: the model's predictions are not finite, so its scores are "
                         "meaningless (its weights may have overflowed)")



# Result keys renamed since results were first saved: old name -> new name.
RENAMED = {"ssim_seed": "ssim_original", "psnr_seed": "psnr_original"}


def upgrade_row(row: dict) -> dict:
    """A saved result (eval.json, results.json) with its keys under their current names."""
    return {RENAMED.get(k, k): v for k, v in row.items()}


def write_gif(path: str | Path, truth: torch.Tensor, pred: torch.Tensor, prompt: int, scale: int = 6,
              ms_per_frame: int = 150) -> None:
    """Truth (top), prediction (middle), error (bottom) for a few episodes side by side;
    prompt frames tinted green, predicted frames red."""
    from PIL import Image

    B, T, H, W = truth.shape
    gap = 2
    truth, pred = truth.numpy().astype(bool), pred.numpy().astype(bool)
    frames = []
    for t in range(T):
        tint = np.array([90, 220, 90] if t < prompt else [235, 80, 80], np.uint8)
        canvas = np.full((3 * H + 2 * gap, B * (W + gap) - gap, 3), 60, np.uint8)
        for e in range(B):
            x = e * (W + gap)
            rows = [(truth[e, t], np.array([255, 255, 255], np.uint8)), (pred[e, t], tint),
                    (truth[e, t] != pred[e, t], np.array([255, 220, 0], np.uint8))]
            for r, (mask, colour) in enumerate(rows):
                cell = np.zeros((H, W, 3), np.uint8)
                cell[..., :] = (tint // 5) if r == 1 else 0
                cell[mask] = colour
                canvas[r * (H + gap):r * (H + gap) + H, x:x + W] = cell
        frames.append(Image.fromarray(canvas.repeat(scale, 0).repeat(scale, 1)))
    replace_with(path, lambda tmp: frames[0].save(tmp, save_all=True, append_images=frames[1:],
                                                  duration=ms_per_frame, loop=0))


COLUMNS = [("bits_per_dim", "bits/dim", 4), ("bits_per_dim_frame0", "bits/dim f0", 4), ("ssim", "SSIM", 3),
           ("psnr", "PSNR dB", 1), ("ssim_original", "SSIM original", 3),
           ("psnr_original", "PSNR original", 1),
           ("pixel_error", "pixel err", 4), ("exact_frame", "exact", 3), ("iou", "IoU", 3),
           ("fid", "FID", 2), ("fid_real", "FID real", 2), ("precision", "prec", 3), ("precision_real", "prec real", 3),
           ("recall", "rec", 3), ("recall_real", "rec real", 3), ("density", "dens", 3), ("density_real", "dens real", 3),
           ("coverage", "cov", 3), ("coverage_real", "cov real", 3), ("action_error", "act err", 4),
           ("action_error_real", "act err real", 4)]


def run_name(checkpoint: str | None) -> str:
    """The run's folder name (what tells apart runs of one model that differ only in training:
    data, batch, threads, time)."""
    if not checkpoint:
        return "-"
    path = Path(checkpoint)
    return (path.parent if path.suffix == ".pt" else path).name


def markdown_rows(results: list[dict]) -> str:
    head = ("| env | model | run | decode | steps | train s | " + " | ".join(c[1] for c in COLUMNS)
            + " | paper SSIM | paper PSNR |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        cells = []
        for key, _, digits in COLUMNS:
            v = r.get(key)
            mark = "≤" if key.startswith("bits") and r.get("bound") else ""
            cells.append("-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{mark}{v:.{digits}f}")
        ts, tp = TARGETS["ssim"].get(r["env"]), TARGETS["psnr"].get(r["env"])
        model = r.get("model", "?") + "".join(f" {k}={v}" for k, v in r.get("settings", {}).items())
        lines.append(f"| {r['env']} | {model} | {run_name(r.get('checkpoint'))} | {r.get('decode', '-')} | "
                     f"{r.get('steps', '-')} | "
                     f"{r.get('train_seconds', 0):.0f} | " + " | ".join(cells) +
                     f" | {ts if ts else '-'} | {tp if tp else '-'} |")
    return "\n".join(lines) + "\n"


def evaluate_checkpoint(ckpt: str | Path, data: str, out: str | Path | None = None, device: str | None = None,
                        arbiter: str | Path | None = None, **kwargs) -> dict:
    """evaluate() of a checkpoint, written to `out` (default: its folder); arbiter: an arbiter's
    run folder or ckpt.pt, for the realism columns."""
    from boxlcd.models.checkpoint import load_model, prompt_frames
    from boxlcd.models.train import default_device

    device = device or default_device()
    check_decoding(kwargs.get("temperature", 0.0), kwargs.get("samples", 1))  # all before making --out
    check_settings(kwargs)
    check_device(device)
    model, state = load_model(ckpt, device)
    if kwargs.get("prompt") is None:  # the frames the run itself was trained to start from
        kwargs["prompt"] = prompt_frames(state)
    episodes = Episodes(data)
    check_data_fits(model, episodes, EVAL_FIX)
    scorer, scorer_identity = load_arbiter(arbiter, device) if arbiter else (None, {})
    ckpt = Path(ckpt)
    out = Path(out) if out else (ckpt if ckpt.is_dir() else ckpt.parent)
    out.mkdir(parents=True, exist_ok=True)
    result = evaluate(model, episodes, device=device, gif=out / "rollout.gif", arbiter=scorer, **kwargs)
    result = {"model": state["model_name"], "settings": changed_settings(model), "checkpoint": str(ckpt),
              "steps": state["step"],
              "train_seconds": state["elapsed"], "test_data": str(data), **result, **scorer_identity}
    write_text(out / "eval.json", json.dumps(result, indent=1))
    write_text(out / "eval.md", markdown_rows([result]))
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `boxlcd eval` and `python -m boxlcd.models.evaluate`."""
    p.add_argument("ckpt", help="ckpt.pt or a run folder")
    p.add_argument("--data", required=True, help="held-out dataset folder")
    p.add_argument("--out", help="folder for eval.json, eval.md, rollout.gif (default: the checkpoint's)")
    p.add_argument("--episodes", type=int, default=512, help="test episodes to use (0: all)")
    p.add_argument("--prompt", type=int, default=None,
                   help="real frames a rollout starts from (default: the run's own, its boxlcd train --prompt)")
    p.add_argument("--temperature", type=float, default=None,
                   help="0: per-pixel mode; > 0: sample (default 0, or 1 with --samples > 1)")
    p.add_argument("--samples", type=int, default=1,
                   help="> 1: each pixel's majority over this many sampled rollouts (default 1)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--arbiter", default=None,
                   help="an arbiter's run (boxlcd train arbiter) for the realism columns: Fréchet distance, "
                        "precision, recall, density, coverage, action recovery, each beside real vs real")


def default_temperature(temperature: float | None, samples: int) -> float:
    """The temperature asked for, else 0 (mode) for one rollout and 1 (the model's own
    distribution) for a majority over several."""
    return temperature if temperature is not None else (1.0 if samples > 1 else 0.0)


def set_threads(threads: int) -> None:
    """torch's CPU threads for this process, refused by name out of [1, MAX_THREADS]."""
    check_ranges({"threads": threads}, {"threads": (1, MAX_THREADS, True)})
    torch.set_num_threads(threads)


def run(a: argparse.Namespace) -> None:
    set_threads(a.threads)
    r = evaluate_checkpoint(a.ckpt, a.data, a.out, device=a.device, prompt=a.prompt, episodes=a.episodes,
                            batch=a.batch, temperature=default_temperature(a.temperature, a.samples),
                            samples=a.samples, seed=a.seed, arbiter=a.arbiter)
    print(markdown_rows([r]), end="")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m boxlcd.models.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
