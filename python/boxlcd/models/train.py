"""Train a world model on a boxlcd dataset.

  boxlcd train MODEL --data DIR [--steps N --batch B --device D --seed S --out DIR] [--nproc K]
  (or python -m boxlcd.models.train ..., or torchrun --nproc_per_node=K -m boxlcd.models.train ...)

Writes into --out: ckpt.pt (model, optimizer, step, sampler state, config; rewritten every
--ckpt-every steps and at the end), config.json, log.csv. Running the same command again
resumes from ckpt.pt. --data A,B reads several datasets of one env as one (random-action
episodes beside a policy's); --init RUN starts a new run from another's weights (fine-tuning,
with its own optimizer and lr schedule). On CPU a run is deterministic given its seed (unless
--time-limit stops it). Baselines (marginal, copy_last) are fit by counting in one pass over the data. Several
processes (torchrun, or --nproc K) train as one process with K times the batch: --batch is per
process (boxlcd/models/distributed.py has the contract).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from boxlcd.dataset import open_episodes
from boxlcd.dataset.windows import Windows
from boxlcd.files import open_append, write_text
from boxlcd.models import MODELS, SCORERS, TRAINABLE, build
from boxlcd.models import distributed
from boxlcd.models.checkpoint import (CKPT, CheckpointError, check_weights_fit, checkpoint_path,  # noqa: F401
                                     default_prompt, load_model, non_finite, read_checkpoint,
                                     restore_optimizer, save_checkpoint)
from boxlcd.models.precision import warn_if_bf16_is_slow
from boxlcd.models.spec import data_spec, prepare
from boxlcd.ranges import check_ranges

TRAIN_RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed)
    "steps": (1, None, True), "batch": (1, None, True), "lr": (0.0, None, True), "warmup": (0, None, True),
    "time_limit": (0.0, None, True), "ckpt_every": (1, None, True), "log_every": (1, None, True),
    "grad_clip": (0.0, None, True), "weight_decay": (0.0, 1.0, True), "stop_after": (0, None, True),
}


class TrainingDiverged(RuntimeError):
    """A loss or gradient went NaN or inf: training stops at that step rather than save it."""


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def learning_rate(run: dict, step: int, progress: float) -> float:
    """Linear warmup, then cosine decay to 10% of the peak over the run's progress (0..1)."""
    if step < run["warmup"]:
        return run["lr"] * (step + 1) / run["warmup"]
    return run["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train(model_name: str, data: str, out: str, steps: int = 10_000, batch: int = 32, device: str | None = None,
          seed: int = 0, lr: float = 1e-3, warmup: int = 200, window: int = 0, time_limit: float = 0.0,
          ckpt_every: int = 500, log_every: int = 50, grad_clip: float = 1.0, weight_decay: float = 0.01,
          progress: bool = True, stop_after: int = 0, prompt: int | None = None, init: str | None = None,
          **model_config) -> Path:
    """Trains (or resumes) a model; returns the checkpoint path. stop_after > 0 stops this call
    after that many steps (as an interrupted job would; the next call resumes). prompt: the real
    frames its rollouts (and a learned env made from it) start from (default: default_prompt).
    data: a dataset folder, or several read as one (a list, or joined by ','). init: a run
    folder or checkpoint of the same model on the same env whose weights a new run starts from
    (fine-tuning; the optimizer and the lr schedule start afresh). Under torchrun each process
    calls this; `batch` is per process."""
    from tqdm import tqdm

    check_ranges({"steps": steps, "batch": batch, "lr": lr, "warmup": warmup, "time_limit": time_limit,
                  "ckpt_every": ckpt_every, "log_every": log_every, "grad_clip": grad_clip,
                  "weight_decay": weight_decay, "stop_after": stop_after}, TRAIN_RANGES)
    ranks, device = distributed.setup(device or default_device())
    episodes = open_episodes(data)  # before making --out: a wrong --data leaves no empty run folder
    out_dir = Path(out)
    ckpt_path = out_dir / CKPT
    spec = data_spec(episodes)
    window = window or getattr(TRAINABLE.get(model_name), "window", 0) or episodes.ep_len + 1
    data = ",".join(str(Path(part.path).resolve()) for part in getattr(episodes, "parts", [episodes]))
    run = {"model": model_name, "data": data, "steps": steps, "batch": batch, "seed": seed,
           "lr": lr, "warmup": warmup, "window": window, "time_limit": time_limit, "grad_clip": grad_clip,
           "weight_decay": weight_decay, "device": device, "processes": ranks.world,
           "prompt": default_prompt(spec["env"]) if prompt is None else prompt}
    if init is not None:
        run["init"] = str(checkpoint_path(init).resolve())
    if not 1 <= run["prompt"] <= episodes.ep_len:
        raise ValueError(f"prompt must be in [1, {episodes.ep_len}] frames, got {run['prompt']}")
    torch.manual_seed(seed)
    model = build(model_name, spec, **model_config).to(device)
    if model.config.get("precision") == "bf16":
        warn_if_bf16_is_slow(device)
    if model.closed_form and ranks.world > 1:
        raise ValueError(f"{model_name} is fit by counting in one pass over the data: run it in one process")
    if ranks.world > 1:  # the noise inside a loss differs per rank; the weights stay rank 0's
        torch.manual_seed(seed + ranks.rank)
    windows = Windows(episodes, window=window)
    sampler = torch.Generator().manual_seed(seed)
    optimizer = None if model.closed_form else torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    step, elapsed = 0, 0.0
    if ckpt_path.exists():
        ckpt_path, ckpt = read_checkpoint(ckpt_path, device)
        if ckpt["model_name"] != model_name or ckpt["run"].get("data") != run["data"]:
            raise ValueError(f"{ckpt_path} is a {ckpt['model_name']} run on {ckpt['run'].get('data')}; "
                             "use another --out for a new run")
        resume(ckpt_path, ckpt, model, optimizer, sampler, seed, ranks)
        step, elapsed = ckpt["step"], ckpt.get("elapsed", 0.0)
        if not isinstance(elapsed, (int, float)) or not math.isfinite(elapsed) or elapsed < 0:
            raise CheckpointError(f"{ckpt_path}: its elapsed time must be a finite number >= 0, got {elapsed!r}")
    elif init is not None:
        start_from(model, model_name, run["init"], device)
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: refused settings leave no empty run folder
    if ranks.main:
        write_text(out_dir / "config.json", json.dumps({"run": run, "spec": spec, "model_config": model.config}, indent=1))

    if model.closed_form:  # one pass over every training window, without overlap
        if step == 0:
            full = Windows(episodes, window=episodes.ep_len + 1)
            order = np.arange(len(full))
            chunks = (prepare(full.__getitems__(order[i:i + 1024]), device) for i in range(0, len(order), 1024))
            model.fit(tqdm(chunks, total=-(-len(order) // 1024), disable=not progress, desc=f"fit {model_name}"))
            bad = non_finite(model.state_dict())
            if bad is not None:
                raise TrainingDiverged(f"fitting {model_name} gave NaN or inf in {bad[0]}: check the data")
            step = 1
            save_checkpoint(ckpt_path, model, optimizer, step, run, sampler, elapsed)
        return ckpt_path

    def checkpoint() -> None:  # every rank's generator state, so each resumes its own noise
        bad = non_finite(model.state_dict())
        if bad is not None:  # the last step's update itself overflowed: keep the checkpoint before it
            raise TrainingDiverged(f"step {step}: the update made {bad[0]} NaN or inf; stopped before saving it "
                                   f"({ckpt_path} keeps the last checkpoint): lower --lr or check the data")
        rng = distributed.gather_objects(torch.get_rng_state(), ranks)
        if ranks.main:
            save_checkpoint(ckpt_path, model, optimizer, step, run, sampler, time.perf_counter() - start,
                            torch_rng_ranks=rng if ranks.world > 1 else None)

    log_file = open_append(out_dir / "log.csv") if ranks.main else None
    writer = None
    model.train()
    compute_loss = distributed.loss_function(model, ranks, device)
    start = time.perf_counter() - elapsed
    bar = tqdm(total=steps, initial=step, disable=not (progress and ranks.main), desc=f"train {model_name}",
               unit="step")
    last = min(steps, step + stop_after) if stop_after else steps
    try:
        while step < last:
            elapsed = time.perf_counter() - start
            if distributed.rank0_says(bool(time_limit and elapsed >= time_limit), ranks, device):
                break
            progress_frac = max(step / steps, elapsed / time_limit if time_limit else 0.0)
            progress_frac = distributed.global_means({"p": progress_frac}, ranks, device)["p"]
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(run, step, progress_frac)
            idx = torch.randint(len(windows), (batch * ranks.world,), generator=sampler).numpy()
            loss, logs = compute_loss(prepare(windows.__getitems__(distributed.my_slice(idx, ranks)), device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # The norm is of the gradients all processes share, so every process stops together.
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or float("inf"))
            if not torch.isfinite(norm) or (ranks.world == 1 and not torch.isfinite(loss.detach())):
                raise TrainingDiverged(f"step {step + 1}: NaN or inf (loss {loss.item():.4g}, gradient norm "
                                       f"{norm.item():.4g}); stopped before the weights took it ({ckpt_path} "
                                       "keeps the last checkpoint): lower --lr or check the data")
            optimizer.step()
            step += 1
            bar.update(1)
            if step % log_every == 0 or step == steps:
                means = distributed.global_means({"loss": loss.item(), **logs}, ranks, device)
                row = {"step": step, "elapsed_s": round(time.perf_counter() - start, 2),
                       "lr": optimizer.param_groups[0]["lr"], **means}
                if log_file:
                    if writer is None:
                        writer = csv.DictWriter(log_file, fieldnames=list(row))
                        if log_file.tell() == 0:
                            writer.writeheader()
                    writer.writerow(row)
                    log_file.flush()
                    bar.set_postfix(loss=f"{means['loss']:.4f}")
            if step % ckpt_every == 0:
                checkpoint()
    finally:
        bar.close()
        if log_file:
            log_file.close()
    checkpoint()
    distributed.teardown()
    return ckpt_path


def resume(path, ckpt: dict, model, optimizer, sampler: torch.Generator, seed: int, ranks) -> None:
    """Puts the run's checkpoint (read as data by read_checkpoint) back into the model, the
    optimizer and the generators; one clear error when its parts do not fit them."""
    check_weights_fit(path, ckpt["model"], model.state_dict(), ckpt["model_name"])
    try:
        model.load_state_dict(ckpt["model"])
        if optimizer is not None:
            restore_optimizer(optimizer, ckpt["optimizer"], path)
        sampler.set_state(ckpt["sampler"])
        rng = ckpt.get("torch_rng_ranks") or [ckpt["torch_rng"]]
        if len(rng) == ranks.world:
            torch.set_rng_state(rng[ranks.rank])
        else:  # resumed on another number of processes
            torch.manual_seed(seed + ranks.rank + 7919 * ckpt["step"])
    except CheckpointError:
        raise
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
        raise CheckpointError(f"{path}: cannot resume from it ({' '.join(str(e).split())[:200]}); "
                              "use another --out for a new run") from None


def start_from(model, model_name: str, init: str, device) -> None:
    """Loads the weights of the checkpoint `init` into `model`, which must be the same model
    with the same settings on the same env."""
    init, ckpt = read_checkpoint(init, device)
    if ckpt["model_name"] != model_name:
        raise ValueError(f"--init {init} is a {ckpt['model_name']} run, not {model_name}")
    if ckpt["spec"]["env"] != model.spec["env"]:
        raise ValueError(f"--init {init} is a model of {ckpt['spec']['env']}, but the data is of {model.spec['env']}")
    differ = sorted(k for k in set(model.config) | set(ckpt["model_config"])
                    if model.config.get(k) != ckpt["model_config"].get(k))
    if differ:
        raise ValueError(f"--init {init} has other model settings ({', '.join(differ)}): pass the same --set")
    check_weights_fit(f"--init {init}", ckpt["model"], model.state_dict(), model_name)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise CheckpointError(f"--init {init}: its weights do not fit the model ({' '.join(str(e).split())[:200]})") from None


def key_value(text: str) -> tuple[str, str]:
    """KEY=VALUE, an argparse type."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `boxlcd train` and `python -m boxlcd.models.train`."""
    names = sorted(MODELS) + sorted(SCORERS)
    p.add_argument("model", choices=names, metavar="MODEL",
                   help=", ".join(names) + " (the arbiter scores generated video: models/arbiter.py)")
    p.add_argument("--data", required=True, help="dataset folder (boxlcd collect), or several joined by ','")
    p.add_argument("--init", default=None,
                   help="start from this run's weights (same model and settings; a fresh optimizer)")
    p.add_argument("--out", help="run folder (default runs/MODEL-ENV)")
    p.add_argument("--steps", type=int, default=10_000)
    # batch 32, lr 1e-3 (with frame_transformer's d_model 128): what worked on 30 CPU minutes
    # (docs/models.md); batch 64, lr 3e-4, d_model 256 were no better than the marginal in 150 s.
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--window", type=int, default=0,
                   help="frames per window (default: whole episodes; the arbiter's own 5)")
    p.add_argument("--prompt", type=int, default=None,
                   help="real frames a rollout or learned env starts from (default 3, 1 for Dropbox)")
    p.add_argument("--time-limit", type=float, default=0.0, help="stop after this many seconds of training")
    p.add_argument("--ckpt-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (per process)")
    p.add_argument("--nproc", type=int, default=1,
                   help="train on K local processes (torch.distributed; --batch is per process)")
    p.add_argument("--set", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="model setting, e.g. --set d_model=128 --set layers=2")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _train_with_threads(threads: int, args: tuple, kwargs: dict) -> str:
    torch.set_num_threads(threads)
    return str(train(*args, **kwargs))


def run(a: argparse.Namespace) -> None:
    if a.nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {a.nproc}")
    config = {k: parse_value(v) for k, v in a.set}
    out = a.out or f"runs/{a.model}-{Path(a.data).name}"
    args = (a.model, a.data, out)
    kwargs = dict(steps=a.steps, batch=a.batch, device=a.device, seed=a.seed, lr=a.lr, warmup=a.warmup,
                  window=a.window, time_limit=a.time_limit, ckpt_every=a.ckpt_every, log_every=a.log_every,
                  progress=not a.quiet, prompt=a.prompt, init=a.init, **config)
    if a.nproc > 1:
        if TRAINABLE[a.model].closed_form:
            raise ValueError(f"{a.model} is fit by counting in one pass: leave out --nproc")
        if distributed.launched():
            raise ValueError("--nproc starts its own processes; under torchrun leave it out")
        distributed.launch(a.nproc, _train_with_threads, a.threads, args, kwargs, device=a.device or default_device())
    else:
        _train_with_threads(a.threads, args, kwargs)
    print(Path(out) / CKPT)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m boxlcd.models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
