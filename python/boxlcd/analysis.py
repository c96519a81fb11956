"""The measures behind the documented figures, as functions: experiments/*.py are their command
lines, and the tests check them here. Each returns plain data (dicts, lists, arrays) that the
scripts write as JSON. torch and the models are imported by the functions that need them."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np


def report(result: dict, line: str, out: str | None) -> dict:
    """What every bench/ and experiments/ script ends with: prints the figure's `line` and, with
    `out`, writes `result` there as JSON; returns `result`."""
    from boxlcd.files import write_json

    print(line)
    if out:
        write_json(out, result)
    return result


def solver_overrides(config: str) -> dict:
    """make() keywords of a solver config name: a preset ("fast") or "VEL/POS[/SUBSTEPS]"
    iterations (and substeps) spelled out."""
    if "/" not in config:
        return {"solver": config}
    parts = [int(x) for x in config.split("/")]
    out = {"velocity_iterations": parts[0], "position_iterations": parts[1]}
    if len(parts) > 2:
        out["substeps"] = parts[2]
    return out


def log_steps_per_second(log: str | Path, skip: int = 0) -> float:
    """Optimizer steps per second of a training run, from its log.csv (a row per logged step,
    with its elapsed_s): from the first row at or past step `skip` (start-up and the first
    allocations left out) to the last row."""
    import csv

    with open(log) as f:
        rows = [(int(r["step"]), float(r["elapsed_s"])) for r in csv.DictReader(f)]
    (s0, t0), (s1, t1) = next(r for r in rows if r[0] >= skip), rows[-1]
    if s1 <= s0 or t1 <= t0:
        raise ValueError(f"{log}: too few rows past step {skip} to time (train longer or skip less)")
    return (s1 - s0) / (t1 - t0)


def training_step(data: str | Path, model: str = "frame_transformer", preset: str | None = None,
                  device: str = "cpu", settings: dict | None = None, **options):
    """One optimizer step of `boxlcd train MODEL --data DATA [--preset PRESET]`, as a function
    built from train's own pieces: the options resolved over the preset's (options: TrainConfig
    fields; settings: model settings), the model, AdamW, and a batch of real windows drawn as
    train draws them. Each call of the returned step() computes the loss of that batch (held
    fixed), its clipped gradients and the AdamW update; train() adds drawing the next batch,
    the learning-rate schedule and its logs. Returns (step, the run's TrainConfig)."""
    import torch

    from boxlcd.dataset import open_episodes
    from boxlcd.dataset.windows import Windows
    from boxlcd.models import build
    from boxlcd.models.spec import data_spec, prepare
    from boxlcd.models.train import gradients, new_optimizer, resolve, window_length

    episodes = open_episodes(data)
    spec = data_spec(episodes)
    config = resolve(model, {**options, "preset": preset, "data": str(data), "settings": settings or {}},
                     spec["robot"])
    torch.manual_seed(config.seed)
    net = build(model, spec, **config.settings).to(device)
    optimizer = new_optimizer(net, config)
    if optimizer is None:
        raise ValueError(f"{model} is fit by counting in one pass, not by optimizer steps")
    config.window = window_length(model, config.window, episodes)
    windows = Windows(episodes, window=config.window)
    drawn = torch.randint(len(windows), (config.batch,), generator=torch.Generator().manual_seed(config.seed))
    batch = prepare(windows.__getitems__(drawn.numpy()), device)
    net.train()

    def step() -> None:
        gradients(net.loss, optimizer, net, batch, config.grad_clip)
        optimizer.step()

    return step, config


def counted_flops(fn) -> int:
    """The floating-point operations of fn() as torch's FlopCounterMode counts them: matrix
    products, convolutions and attention, 2 per multiply-add, not the elementwise work around
    them (activations, norms, the optimizer's update). Attention counts its whole square, its
    causal mask ignored, as torch counts it; the CPU's flash attention, which torch's table
    leaves out, is counted as the GPU kernels are."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

    def attention(query, key, value, *args, out_shape=None, **kwargs):
        return sdpa_flop_count(query, key, value)

    def attention_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs):
        return sdpa_backward_flop_count(grad_out, query, key, value)

    aten = torch.ops.aten
    cpu = {aten._scaled_dot_product_flash_attention_for_cpu: attention,
           aten._scaled_dot_product_flash_attention_for_cpu_backward: attention_backward}
    with FlopCounterMode(display=False, custom_mapping=cpu) as counter:
        fn()
    return counter.get_total_flops()


def utilisation(flops_per_step: float, steps_per_s: float, peak_flops_per_s: float) -> dict:
    """What a rate of steps achieves: {"flops_per_s": FLOPs per step x steps/s, "utilisation":
    that over the peak}."""
    achieved = flops_per_step * steps_per_s
    return {"flops_per_s": achieved, "utilisation": achieved / peak_flops_per_s}


def oracle_coverage(data: str | Path, episodes: int = 1000, prior_samples: int | None = None,
                    prior_seed: int | None = None) -> dict:
    """How often the posterior oracle (boxlcd/models/oracle.py) finds a starting pose for the
    first `episodes` episodes of `data`: the share with at least one matching pose, with the
    oracle's full count of matches, and the mean count. An episode with none is predicted by
    holding its last prompt frame, so the oracle bounds a model only where nearly all have one."""
    from boxlcd.dataset.store import Episodes
    from boxlcd.models.oracle import DEFAULTS, PosteriorOracle
    from boxlcd.models.spec import data_spec

    prior_samples = DEFAULTS["prior_samples"] if prior_samples is None else prior_samples
    prior_seed = DEFAULTS["prior_seed"] if prior_seed is None else prior_seed
    found_in = Episodes(data)
    n = min(episodes, len(found_in))
    first = np.stack([np.asarray(found_in.episode(i)["frames"][0]) for i in range(n)])
    oracle = PosteriorOracle(data_spec(found_in), prior_samples=prior_samples, prior_seed=prior_seed,
                             chunk=min(DEFAULTS["chunk"], prior_samples))
    found = np.array([len(poses) for poses in oracle.matching_poses(first)])
    return {"env": found_in.manifest["env"], "data": str(data), "episodes": n, "prior_samples": prior_samples,
            "matches": oracle.config["matches"], "with_a_match": float(np.mean(found > 0)),
            "with_all_matches": float(np.mean(found >= oracle.config["matches"])), "mean_matches": float(found.mean())}


def vector_fit(run: str | Path, data: str | Path, episodes: int = 256, batch: int = 32) -> dict:
    """A frame transformer's teacher-forced one-step error on each key of the vector it predicts
    (proprio, or full_state with predict_state), beside copying the last value (the error of
    predicting no motion), over the last `episodes` whole episodes of `data`. A ratio near 1 is
    a key the model has not learned to move."""
    import torch

    from boxlcd.dataset import Episodes
    from boxlcd.dataset.windows import Windows
    from boxlcd.models.checkpoint import load_model
    from boxlcd.models.spec import prepare

    model, ckpt = load_model(run)
    if not hasattr(model, "_teacher_forced") or not model.vector.width:
        raise ValueError(f"{run}: not a frame transformer that predicts proprio or full_state "
                         f"(it is {ckpt['model_name']})")
    found_in = Episodes(data)
    if found_in.manifest["env"] != ckpt["spec"]["env"]:
        raise ValueError(f"{data} holds {found_in.manifest['env']}, the model learned {ckpt['spec']['env']}")
    key = model.vector.key
    keys = list(found_in.manifest["state_keys" if key == "full_state" else "proprio_keys"])
    n = min(episodes, len(found_in))
    windows = Windows(found_in, window=found_in.ep_len + 1,
                      episodes=np.arange(len(found_in) - n, len(found_in)))
    model_sq, copy_sq, count = 0.0, 0.0, 0
    with torch.no_grad():
        for start in range(0, n, batch):
            b = prepare(windows.__getitems__(list(range(start, min(n, start + batch)))), "cpu")
            _, predicted = model._teacher_forced(b)
            truth = b[key]
            model_sq = model_sq + ((predicted[:, 1:] - truth[:, 1:]) ** 2).sum((0, 1))
            copy_sq = copy_sq + ((truth[:, :-1] - truth[:, 1:]) ** 2).sum((0, 1))
            count += truth.shape[0] * (truth.shape[1] - 1)
    model_rmse = (model_sq / count).sqrt().tolist()
    copy_rmse = (copy_sq / count).sqrt().tolist()
    per_key = {k: {"model_rmse": m, "copy_last_rmse": c, "ratio": m / c if c else None}
               for k, m, c in zip(keys, model_rmse, copy_rmse)}
    return {"run": str(run), "data": str(data), "env": ckpt["spec"]["env"], "episodes": n, "vector": key,
            "keys": per_key}


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _spread(values: list[float]) -> dict:
    return {"mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def seed_spread(runs: list[str | Path]) -> dict:
    """Several PPO runs of one setting (seeds), each evaluated by `boxlcd rl eval`: per run its
    seed, env steps, minutes and success (eval.json; eval_learned.json where present), and over
    the runs the mean, sample standard deviation, min and max of each success rate. One run's
    standard error covers its evaluation episodes, not PPO's seed-to-seed spread."""
    from boxlcd.rl.evaluate import EVAL_FILE, EVAL_LEARNED_FILE
    from boxlcd.rl.train import RUN_FILE, STATE_FILE

    rows = []
    for run in runs:
        folder = Path(run)
        evaluation = _read_json(folder / EVAL_FILE)
        if evaluation is None:
            raise ValueError(f"{run}: no {EVAL_FILE} (run `boxlcd rl eval {run} --episodes 1000` first)")
        state = _read_json(folder / STATE_FILE) or {}
        inside = _read_json(folder / EVAL_LEARNED_FILE)
        rows.append({"run": str(run), "seed": (_read_json(folder / RUN_FILE) or {}).get("seed"),
                     "env_steps": state.get("env_steps"), "minutes": round(state.get("elapsed_s", 0) / 60, 1),
                     "episodes": evaluation["episodes"], "success_rate": evaluation["success_rate"],
                     "success_rate_se": round(evaluation["success_rate_se"], 4),
                     "success_rate_deterministic": evaluation["success_rate_deterministic"],
                     "inside_success_rate": inside["success_rate"] if inside else None})
    result = {"runs": rows}
    for key in ("success_rate", "success_rate_deterministic", "inside_success_rate"):
        values = [r[key] for r in rows if r[key] is not None]
        if values:
            result[key] = _spread(values)
    return result


def episode_scores(pred, true, prompt: int, ep_len: int) -> np.ndarray:
    """(B, 2): each episode's SSIM and PSNR as `boxlcd eval`'s ssim_original and psnr_original
    score them (frames with 1 = background), means over its predicted frames among the first
    ep_len."""
    from boxlcd.models.evaluate import frame_psnr, frame_ssim

    frames = slice(prompt, ep_len)
    return np.array([[frame_ssim(1 - p[frames], 1 - t[frames]), frame_psnr(p[frames], t[frames])]
                     for p, t in zip(pred, true)])


def decoding_scores(model, windows, episodes: int, prompt: int, samples: int, thresholds=(0.5,),
                    fraction: bool = False, batch: int = 128, seed: int = 0) -> tuple[dict, float]:
    """{decoding: per-episode (episodes, 2) SSIM and PSNR} for one sampling setting, and the
    seconds its rollouts took. samples 1: the mode; n > 1: a pixel is lit when more than each
    threshold of n rollouts sampled at temperature 1 light it ("vote n >t"; 0.5 is eval's
    majority), and with `fraction` the fraction of votes itself ("fraction of n"). Batches and
    generator are evaluate's, so the mean over episodes equals eval's figure for the same seed
    and batch."""
    import torch

    from boxlcd.models.evaluate import rollouts, votes
    from boxlcd.models.spec import prepare

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    names = ["mode"] if samples == 1 else [f"vote {samples} >{t:g}" for t in thresholds] + (
        [f"fraction of {samples}"] if fraction else [])
    scores = {name: [] for name in names}
    seconds = 0.0
    for first in range(0, episodes, batch):
        b = prepare(windows.__getitems__(np.arange(first, min(episodes, first + batch))), "cpu")
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


def episode_stats(ckpt: str | Path, data: str | Path, episodes: int = 1000, prompt: int | None = None,
                  samples=(1, 32), thresholds=(0.5,), fraction: bool = False, batch: int = 128,
                  seed: int = 0) -> dict:
    """Every decoding's per-episode scores (decoding_scores) of one model on `data`, with the
    seconds each took: {"checkpoint", "data", "episodes", "prompt", "decodings": {name:
    {"ssim_original": [...], "psnr_original": [...], "seconds"}}}."""
    from boxlcd.dataset import Episodes
    from boxlcd.dataset.windows import Windows
    from boxlcd.models.checkpoint import default_prompt, load_model

    model, _ = load_model(ckpt, "cpu")
    found_in = Episodes(data)
    windows = Windows(found_in, window=found_in.ep_len + 1)
    n = min(episodes, len(found_in))
    prompt = default_prompt(found_in.manifest["env"]) if prompt is None else prompt
    rows = {}
    for count in samples:
        scores, seconds = decoding_scores(model, windows, n, prompt, count, thresholds, fraction, batch, seed)
        for name, s in scores.items():
            rows[name] = {"ssim_original": s[:, 0].tolist(), "psnr_original": s[:, 1].tolist(), "seconds": seconds}
    return {"checkpoint": str(ckpt), "data": str(data), "episodes": n, "prompt": prompt, "decodings": rows}
