"""Train a world model on a boxlcd dataset.

  boxlcd train MODEL --data DIR [--preset NAME] [--steps N --batch B ... --set KEY=VALUE] [--nproc K]
  (or python -m boxlcd.models.train ..., or torchrun --nproc_per_node=K -m boxlcd.models.train ...)
  e.g. boxlcd train frame_transformer --preset learned-sim --data data/luxo --out runs/luxo

Every option below has its default; a preset (listed at the end) is a named recipe of options
and model settings, and options given explicitly override it. The run records its resolved
settings (TrainConfig) and the preset's name.

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
import textwrap
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

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
from boxlcd.models.presets import PRESETS, describe as describe_presets, preset_for
from boxlcd.models.spec import check_spec_fits, data_spec, prepare
from boxlcd.options import key_value
from boxlcd.ranges import MAX_THREADS, check_ranges



def option(default, help: str, range: tuple | None = None, **cli):
    """A TrainConfig field: its default, its help text, its range (boxlcd.ranges: lowest,
    highest or None, whether the lowest itself is allowed) and how the command line takes it."""
    return field(default=default, metadata={"help": help, "range": range, **cli})


@dataclass
class TrainConfig:
    """Every setting of `boxlcd train`: the command line is generated from these fields and a
    run records them (resolved: data as absolute paths, the window, prompt and device chosen)
    in its checkpoint and config.json."""
    model: str = option("", "the model to train", positional=True)
    data: str = option("", "dataset folder (boxlcd collect), or several of one env joined by ','", required=True)
    out: str | None = option(None, "run folder (default runs/MODEL-DATA)")
    init: str | None = option(None, "start from this run's weights (same model and settings; a fresh optimizer)")
    preset: str | None = option(None, "a named recipe (below); options given explicitly override it")
    steps: int = option(10_000, "optimizer steps", (1, None, True))
    # batch 32, lr 1e-3 (with frame_transformer's d_model 128): what worked on 30 CPU minutes
    # (docs/models.md); batch 64, lr 3e-4, d_model 256 were no better than the marginal in 150 s.
    batch: int = option(32, "windows per step (per process)", (1, None, True))
    lr: float = option(1e-3, "peak learning rate (linear warmup, then cosine decay to 10%)", (0.0, None, True))
    warmup: int = option(200, "steps of linear learning-rate warmup", (0, None, True))
    window: int = option(0, "frames per window (0: whole episodes; the arbiter's own 5)", (0, None, True))
    prompt: int | None = option(None, "real frames a rollout or learned env starts from (default 3, 1 for Dropbox)")
    time_limit: float = option(0.0, "stop after this many seconds of training (0: none)", (0.0, None, True))
    grad_clip: float = option(1.0, "clip the gradient norm to this (0: no clipping)", (0.0, None, True))
    weight_decay: float = option(0.01, "AdamW weight decay", (0.0, 1.0, True))
    seed: int = option(0, "seed of the weights, the windows drawn and the model's noise")
    device: str | None = option(None, "cpu or cuda (default: cuda when present)")
    ckpt_every: int = option(500, "steps between checkpoints", (1, None, True))
    log_every: int = option(50, "steps between log.csv rows", (1, None, True))
    threads: int = option(1, "torch CPU threads (per process)", (1, MAX_THREADS, True))
    nproc: int = option(1, "train on K local processes (torch.distributed; --batch is per process)")
    quiet: bool = option(False, "no progress bar", short="-q")
    settings: dict = option(None, "a model setting, e.g. --set d_model=128 --set layers=2; repeatable",
                            flag="--set", metavar="KEY=VALUE")

    def __post_init__(self):
        self.settings = dict(self.settings or {})


TRAIN_RANGES = {f.name: f.metadata["range"] for f in fields(TrainConfig) if f.metadata["range"]}
STOP_AFTER_RANGE = (0, None, True)
DEFAULT_RUN_COST = ("A default run (frame_transformer at its defaults, 10,000 steps of batch 32) takes about "
                    "24 minutes on 2 CPU cores; the presets' 100,000 steps take ten times as long unless "
                    "--time-limit stops them.")


def resolve(model: str, options: dict, robot: bool) -> TrainConfig:
    """The run's TrainConfig from the options given explicitly (TrainConfig fields, and model
    settings under "settings") over the preset's, if one is named, over the defaults. robot:
    whether the data's env has a robot (a preset may set other options for those)."""
    given = {k: v for k, v in options.items() if k != "settings"}
    settings = dict(options.get("settings") or {})
    name = options.get("preset")
    if name is not None:
        preset = preset_for(name, model)
        given = {**preset.options_for(robot), **given}
        settings = {**preset.settings, **settings}
    return TrainConfig(**{**given, "model": model, "settings": settings})


class BarPosition(NamedTuple):
    n: float  # done: steps, or seconds
    total: float
    initial: float  # where this call started, in the same unit (tqdm's rate counts from it)
    unit: str


def bar_position(step: int, steps: int, elapsed: float, time_limit: float, first_step: int,
                 first_elapsed: float) -> BarPosition:
    """What the progress bar counts: steps toward `steps`, or, when the time limit will end the
    run first at the pace since this call began (first_step at first_elapsed seconds), seconds
    toward the limit, so its ETA is the time left rather than the steps' (hours for a 2-minute
    run). Before a step has run the pace is unknown and a time limit counts."""
    if time_limit:
        done, spent = step - first_step, elapsed - first_elapsed
        if done <= 0 or elapsed + (steps - step) * spent / done > time_limit:
            return BarPosition(round(min(elapsed, time_limit), 1), time_limit, round(first_elapsed, 1), "s")
    return BarPosition(step, steps, first_step, "step")


class TrainBar:
    """The training progress bar (tqdm), counting what bar_position says."""

    def __init__(self, steps: int, time_limit: float, step: int, elapsed: float, enabled: bool, desc: str):
        from tqdm import tqdm

        self.steps, self.time_limit, self.first = steps, time_limit, (step, elapsed)
        # smoothing 0: tqdm's rate is the average since `initial`, in whichever unit it counts
        self.bar = tqdm(total=steps, initial=step, disable=not enabled, desc=desc, unit="step", smoothing=0,
                        miniters=0)
        self.show(step, elapsed)

    def show(self, step: int, elapsed: float) -> None:
        b = self.bar
        b.n, b.total, b.initial, b.unit = bar_position(step, self.steps, elapsed, self.time_limit, *self.first)
        b.update(0)  # redraws at most every mininterval

    def set_postfix(self, **kwargs) -> None:
        self.bar.set_postfix(**kwargs)

    def close(self) -> None:
        self.bar.close()


class TrainingDiverged(RuntimeError):
    """A loss or gradient went NaN or inf: training stops at that step rather than save it."""


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def learning_rate(run: dict, step: int, progress: float) -> float:
    """Linear warmup, then cosine decay to 10% of the peak over the run's progress (0..1)."""
    if step < run["warmup"]:
        return run["lr"] * (step + 1) / run["warmup"]
    return run["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def window_length(model_name: str, window: int, episodes) -> int:
    """Frames per training window: `window` when given (> 0), else the model's own (the
    arbiter's 5), else whole episodes of `episodes`."""
    return window or getattr(TRAINABLE.get(model_name), "window", 0) or episodes.ep_len + 1


def new_optimizer(model, config: TrainConfig):
    """The run's AdamW at the config's lr and weight decay; None for a model fit by counting."""
    if model.closed_form:
        return None
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def gradients(compute_loss, optimizer, model, batch: dict, grad_clip: float):
    """The first half of a training step: the loss of `batch`, its gradients, clipped to a norm
    of grad_clip (0: not clipped). Returns (loss, logs, the norm before clipping); the caller
    checks them before optimizer.step() lets the weights take the update."""
    loss, logs = compute_loss(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or float("inf"))
    return loss, logs, norm


def train(model_name: str, data: str, out: str, progress: bool = True, stop_after: int = 0, **options) -> Path:
    """Trains (or resumes) a model; returns the checkpoint path. options: TrainConfig fields
    (preset="learned-sim" among them); any other keyword is a model setting. Options given here
    override the preset's; the rest take TrainConfig's defaults. stop_after > 0 stops this call
    after that many steps (as an interrupted job would; the next call resumes). prompt: the real
    frames its rollouts (and a learned env made from it) start from (default: default_prompt).
    data: a dataset folder, or several read as one (a list, or joined by ','). init: a run
    folder or checkpoint of the same model on the same env whose weights a new run starts from
    (fine-tuning; the optimizer and the lr schedule start afresh). Under torchrun each process
    calls this; `batch` is per process."""
    from tqdm import tqdm

    names = {f.name for f in fields(TrainConfig)}
    settings = {**{k: v for k, v in options.items() if k not in names}, **(options.get("settings") or {})}
    options = {k: v for k, v in options.items() if k in names and k != "settings"}
    check_ranges({"stop_after": stop_after, **options}, {"stop_after": STOP_AFTER_RANGE,
                                                        **{k: TRAIN_RANGES[k] for k in options if k in TRAIN_RANGES}})
    episodes = open_episodes(data)  # before making --out: a wrong --data leaves no empty run folder
    spec = data_spec(episodes)
    config = resolve(model_name, {**options, "data": data, "out": str(out), "settings": settings}, spec["robot"])
    check_ranges(asdict(config), TRAIN_RANGES)  # a preset's options too
    ranks, device = distributed.setup(config.device or default_device())
    out_dir = Path(out)
    ckpt_path = out_dir / CKPT
    steps, batch, seed, time_limit = config.steps, config.batch, config.seed, config.time_limit
    config.window = window_length(model_name, config.window, episodes)
    config.data = ",".join(str(Path(part.path).resolve()) for part in getattr(episodes, "parts", [episodes]))
    config.device = device
    config.prompt = default_prompt(spec["env"]) if config.prompt is None else config.prompt
    if config.init is not None:
        config.init = str(checkpoint_path(config.init).resolve())
    run = {**asdict(config), "processes": ranks.world}
    if not 1 <= run["prompt"] <= episodes.ep_len:
        raise ValueError(f"prompt must be in [1, {episodes.ep_len}] frames, got {run['prompt']}")
    torch.manual_seed(seed)
    model = build(model_name, spec, **config.settings).to(device)
    if model.config.get("precision") == "bf16":
        warn_if_bf16_is_slow(device)
    if model.closed_form and ranks.world > 1:
        raise ValueError(f"{model_name} is fit by counting in one pass over the data: run it in one process")
    if ranks.world > 1:  # the noise inside a loss differs per rank; the weights stay rank 0's
        torch.manual_seed(seed + ranks.rank)
    windows = Windows(episodes, window=config.window)
    sampler = torch.Generator().manual_seed(seed)
    optimizer = new_optimizer(model, config)
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
    elif config.init is not None:
        start_from(model, model_name, config.init, episodes, device)
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: refused settings leave no empty run folder
    if ranks.main:
        write_text(out_dir / "config.json", json.dumps({"run": run, "spec": spec, "model_config": model.config}, indent=1))

    if model.closed_form:  # one pass over every training window, without overlap
        if step == 0:
            full = Windows(episodes, window=episodes.ep_len + 1)
            order = np.arange(len(full))
            chunks = (prepare(full.__getitems__(order[i:i + 1024]), device) for i in range(0, len(order), 1024))
            model.fit(tqdm(chunks, total=-(-len(order) // 1024), disable=not progress or config.quiet,
                           desc=f"fit {model_name}"))
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
    bar = TrainBar(steps, time_limit, step, elapsed, progress and not config.quiet and ranks.main,
                   f"train {model_name}")
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
            drawn = prepare(windows.__getitems__(distributed.my_slice(idx, ranks)), device)
            # The norm is of the gradients all processes share, so every process stops together.
            loss, logs, norm = gradients(compute_loss, optimizer, model, drawn, config.grad_clip)
            if not torch.isfinite(norm) or (ranks.world == 1 and not torch.isfinite(loss.detach())):
                raise TrainingDiverged(f"step {step + 1}: NaN or inf (loss {loss.item():.4g}, gradient norm "
                                       f"{norm.item():.4g}); stopped before the weights took it ({ckpt_path} "
                                       "keeps the last checkpoint): lower --lr or check the data")
            optimizer.step()
            step += 1
            bar.show(step, time.perf_counter() - start)
            if step % config.log_every == 0 or step == steps:
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
            if step % config.ckpt_every == 0:
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


def start_from(model, model_name: str, init: str, episodes, device) -> None:
    """Loads the weights of the checkpoint `init` into `model`, which must be the same model
    with the same settings on data of the same env (`episodes`, the run's data)."""
    init, ckpt = read_checkpoint(init, device)
    if ckpt["model_name"] != model_name:
        raise ValueError(f"--init {init} is a {ckpt['model_name']} run, not {model_name}")
    check_spec_fits(ckpt["spec"], episodes, "start from a run on data of the same env and settings",
                    f"--init {init}", getattr(getattr(model, "vector", None), "key", "proprio"))
    differ = sorted(k for k in set(model.config) | set(ckpt["model_config"])
                    if model.config.get(k) != ckpt["model_config"].get(k))
    if differ:
        raise ValueError(f"--init {init} has other model settings ({', '.join(differ)}): pass the same --set")
    check_weights_fit(f"--init {init}", ckpt["model"], model.state_dict(), model_name)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise CheckpointError(f"--init {init}: its weights do not fit the model ({' '.join(str(e).split())[:200]})") from None


class Given(argparse.Action):
    """Stores an option's value and notes that it was given: a preset yields to it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


def model_defaults(name: str) -> dict:
    """The settings (--set) of the model `name` with their defaults: its module's DEFAULTS."""
    import sys

    return dict(getattr(sys.modules[TRAINABLE[name].__module__], "DEFAULTS", {}))


def model_settings_help() -> str:
    """Every model's settings with their defaults, in words, for `boxlcd train --help`."""
    lines = []
    for name in TRAINABLE:
        words = " ".join(f"{k}={json.dumps(v)}" for k, v in model_defaults(name).items()) or "(none)"
        lines.append(textwrap.fill(f"{name}: {words}", 100, initial_indent="  ", subsequent_indent="    "))
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `boxlcd train` and `python -m boxlcd.models.train`: one per TrainConfig
    field, with its default."""
    names = sorted(MODELS) + sorted(SCORERS)
    p.epilog = (f"model settings (--set KEY=VALUE) and their defaults:\n{model_settings_help()}\n\n"
                f"presets (--preset NAME):\n{describe_presets()}\n\n{textwrap.fill(DEFAULT_RUN_COST, 100)}")
    for f in fields(TrainConfig):
        m, default = f.metadata, f.default
        text = m["help"].replace("%", "%%")  # argparse formats help with %
        shown = "" if default is None or m.get("required") else f" (default: {default})"
        if m.get("positional"):
            p.add_argument(f.name, choices=names, metavar="MODEL",
                           help=", ".join(names) + " (the arbiter scores generated video: models/arbiter.py)")
        elif f.name == "settings":
            p.add_argument(m["flag"], dest=f.name, type=key_value, action="append", default=[],
                           metavar=m["metavar"], help=text + " (each model's are listed below)")
        elif isinstance(default, bool):
            p.add_argument(m["short"], "--" + f.name, dest=f.name, action=Given, nargs=0, const=True, default=default,
                           help=text)
        else:
            kind = {"int": int, "float": float}.get(f.type.split(" |")[0], str)
            p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=default, action=Given,
                           required=m.get("required", False), help=text + shown,
                           choices=list(PRESETS) if f.name == "preset" else None)


def _train_with_threads(threads: int, args: tuple, kwargs: dict) -> str:
    torch.set_num_threads(threads)
    return str(train(*args, **kwargs))


def run(a: argparse.Namespace) -> None:
    given = {k: getattr(a, k) for k in getattr(a, "given", ())}
    # threads and nproc act before the data is read; no preset sets them per env
    config = resolve(a.model, {**given, "data": a.data, "settings": dict(a.settings)}, robot=False)
    if config.nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {config.nproc}")
    out = config.out or f"runs/{a.model}-{Path(a.data).name}"
    args = (a.model, a.data, out)
    kwargs = {**{k: v for k, v in given.items() if k not in ("data", "out")}, "settings": dict(a.settings)}
    if config.nproc > 1:
        if TRAINABLE[a.model].closed_form:
            raise ValueError(f"{a.model} is fit by counting in one pass: leave out --nproc")
        if distributed.launched():
            raise ValueError("--nproc starts its own processes; under torchrun leave it out")
        distributed.launch(config.nproc, _train_with_threads, config.threads, args, kwargs,
                           device=config.device or default_device())
    else:
        _train_with_threads(config.threads, args, kwargs)
    print(Path(out) / CKPT)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m boxlcd.models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
