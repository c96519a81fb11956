"""PPO (stable-baselines3) on a goal task, in the engine or in a learned simulator.

  boxlcd rl train --env Urchin --task body --sim real|RUN_DIR --out runs/ppo-urchin
                  [--obs state|pixels] [--init PPO_RUN] [--keep]
                  [--steps N] [--time-limit S] [--num-envs N] [--seed S] [--set KEY=VALUE ...]

  train(RunConfig(env="Urchin", steps=100_000), TrainOptions(out="runs/ppo-urchin"))

The settings are boxlcd.rl.config's dataclasses: RunConfig (the task, the sim, PPO: what
run.json holds) and TrainOptions (this call's folder, time limit, checkpoints, threads); the
options above are generated from their fields.

The policy sees the task's proprio and goal (boxlcd.rl.sb3.POLICY_KEYS), as the original's did,
and (history, default 3) the two proprio values before the current one: proprio has no
velocities. With --obs pixels it sees only the frame, the goal's frame and (history) the
previous frames, as unpacked bits (boxlcd.rl.sb3.PolicyInput). --init starts the policy from
another run's weights (the same env, task, obs, history, net and encoder), e.g. the last
round's policy when a learned sim is fine-tuned.
The run folder gets run.json (the settings), model.zip (policy, optimizer; rewritten every
--ckpt-every seconds and at the end; with --keep each one is also kept as
checkpoints/ENV_STEPS.zip), state.json (env steps and wall clock reached) and
log.csv (after every rollout: env steps, wall clock, episodes ended, success rate, mean return
and length). A run in a learned sim also keeps its models' weights in sim/ (sim/0/ckpt.pt,
...), so that it evaluates in its sim wherever it is copied. The same command again resumes
from model.zip; --steps is the run's total.

Loading a run reads data only: run.json's settings are checked by name and range, and the
policy is rebuilt from them with the weights of model.zip's policy.pth (torch's weights_only
reader); the pickled entries SB3 also writes into model.zip are never read.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import os
import pickle
import time
import zipfile
from pathlib import Path

from boxlcd.files import read_bytes
from boxlcd.rl.config import RunConfig, TrainOptions, add_options, from_options
from boxlcd.rl.sb3 import CollectionThreads

RUN_FILE, MODEL_FILE, STATE_FILE, LOG_FILE = "run.json", "model.zip", "state.json", "log.csv"
CHECKPOINTS_DIR = "checkpoints"  # --keep: every checkpoint as CHECKPOINTS_DIR/ENV_STEPS.zip
INIT_MATCH = ("env", "task", "obs", "history", "net", "encoder")  # what shapes a policy: --init's run must share them
SIM_DIR = "sim"  # a learned sim's models inside the run: SIM_DIR/0/ckpt.pt, ...
POLICY_WEIGHTS, OPTIMIZER_WEIGHTS = "policy.pth", "policy.optimizer.pth"  # model.zip's entries boxlcd reads
MAX_WEIGHTS_BYTES = 1 << 30


class RunError(ValueError):
    """A PPO run folder boxlcd will not load: a run.json, state.json or model.zip that is
    malformed, out of range, disagrees with itself, or holds non-finite weights."""


def the_task(run: RunConfig) -> RunConfig:
    """The run's settings with what only eases training (a learned sim's noise, shaping, the
    curriculum) turned off: the task a policy is measured on."""
    return run.the_task()


def make_env(run: RunConfig, num_envs: int | None = None, sim: str | None = None, seed_offset: int = 0):
    """The run's task as an SB3 VecEnv, seeded: in the engine, or in the learned sim `sim` (a
    run's own: run_sim(run, run_dir))."""
    from boxlcd.rl.sb3 import SB3VecEnv
    from boxlcd.tasks import make_task

    sim = sim or run.sim
    if sim != "real" and sim == run.sim and not Path(sim.split(",")[0]).is_absolute():
        raise ValueError("a run's learned sim is inside its folder: pass sim=run_sim(run, run_dir)")
    task = make_task(run.env, run.task, num_envs=num_envs or run.num_envs, sim=sim, threshold=run.threshold,
                     ep_len=run.ep_len, num_threads=run.env_threads, device=run.device,
                     temperature=run.temperature, noise=run.sim_noise, reach=run.reach,
                     reach_behind=run.reach_behind, start_near=run.start_near, near_spread=run.near_spread,
                     near_ahead=run.near_ahead)
    env = SB3VecEnv(task, history=run.history, obs=run.obs)
    env.seed(run.seed + seed_offset)
    return env


def new_ppo(run: RunConfig, vec):
    """An untrained SB3 PPO with the run's settings on `vec`."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import LinearSchedule

    from boxlcd.rl.encoder import policy_kwargs
    from boxlcd.rl.precision import policy_class

    lr = run.lr if run.lr_end == 1.0 else LinearSchedule(run.lr, run.lr * run.lr_end, 1.0)
    return PPO(policy_class(run.precision), vec, learning_rate=lr, n_steps=run.n_steps, batch_size=run.batch_size,
               n_epochs=run.n_epochs, gamma=run.gamma, gae_lambda=run.gae_lambda, ent_coef=run.ent_coef,
               seed=run.seed, device=run.device, verbose=0,
               policy_kwargs={"net_arch": list(run.net), "activation_fn": torch.nn.Tanh,
                              "log_std_init": run.log_std_init, **policy_kwargs(run.encoder, vec)})


def write_json(path: Path, data: dict) -> None:
    from boxlcd.files import write_text

    write_text(path, json.dumps(data, indent=1))


def read_run(out: str | os.PathLike) -> RunConfig:
    """The settings in a PPO run folder's run.json, checked, with the settings it predates
    filled in (RunConfig.from_json)."""
    path = run_file(out, RUN_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a PPO run folder (no {RUN_FILE})")
    try:
        data = json.loads(read_bytes(path))
    except (ValueError, UnicodeDecodeError, OSError, RecursionError) as e:
        raise RunError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: not a PPO run's settings (a JSON {type(data).__name__}, not an object)")
    try:
        return RunConfig.from_json(data)
    except (ValueError, TypeError) as e:
        raise RunError(f"{path}: {e}") from None


def run_file(out: str | os.PathLike, name: str) -> Path:
    """The run folder's file `name`, refused when a link leads it outside the folder: a run
    folder a user was sent is read as itself, never as files elsewhere."""
    path = Path(out) / name
    if (path.exists() or path.is_symlink()) and not path.resolve().is_relative_to(Path(out).resolve()):
        raise RunError(f"{path} is a link leading outside the run folder: boxlcd reads a run's own files only")
    return path


def run_sim(run: RunConfig, run_dir: str | os.PathLike) -> str:
    """'real', or the run's learned sim: its models' folders inside run_dir/sim, joined by ','.
    A path read from run.json never leads outside the run's folder."""
    from boxlcd.models.checkpoint import CKPT

    if run.sim == "real":
        return "real"
    root = Path(run_dir).resolve()
    paths = []
    for part in run.sim.split(","):
        path = (root / part).resolve()
        if (Path(part).is_absolute() or not path.is_relative_to(root / SIM_DIR)
                or not (path / CKPT).resolve().is_relative_to(root / SIM_DIR)):
            raise RunError(f"{Path(run_dir) / RUN_FILE}: sim {part!r} is not a folder in the run's {SIM_DIR}/ "
                           "(a run made before runs kept their sim): pass the model itself, --sim MODEL_RUN")
        paths.append(str(path))
    return ",".join(paths)


def keep_sim(sources: list[str], out_dir: Path) -> None:
    """Copies the weights of the learned sim's models (not their optimizers) into out_dir/sim."""
    import torch

    from boxlcd.files import make_folder, replace_with
    from boxlcd.models.checkpoint import CKPT, read_checkpoint

    for i, source in enumerate(sources):
        _, ckpt = read_checkpoint(source)
        make_folder(out_dir / SIM_DIR)
        folder = make_folder(out_dir / SIM_DIR / str(i))
        kept = {k: ckpt[k] for k in ("model_name", "spec", "model_config", "model", "run", "step")}
        replace_with(folder / CKPT, lambda tmp: torch.save(kept, tmp))


def read_weights(path: Path, names: tuple[str, ...], device: str = "cpu") -> dict:
    """The torch files `names` inside the SB3 zip `path`, read as data only (weights_only),
    each checked to hold only finite numbers; a missing optional entry is left out."""
    from boxlcd.models.checkpoint import load_data, non_finite

    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            entries = set(z.namelist())
            if names[0] not in entries:
                raise RunError(f"{path}: no {names[0]} in it: not a policy of `boxlcd rl train`")
            for name in names:
                if name not in entries:
                    continue
                if z.getinfo(name).file_size > MAX_WEIGHTS_BYTES:
                    raise RunError(f"{path}: its {name} is larger than a policy's weights can be")
                out[name] = load_data(io.BytesIO(z.read(name)), device)
    except pickle.UnpicklingError:
        raise RunError(f"{path}: holds objects other than tensors, numbers, strings, lists and dicts; "
                       "boxlcd loads policies as data and never runs what a file holds") from None
    except RunError:
        raise
    except Exception as e:  # zipfile's and torch's readers raise many kinds on bytes not theirs
        raise RunError(f"{path}: not a readable policy (truncated or not SB3's zip: {' '.join(str(e).split())[:160]})") from None
    for name, value in out.items():
        bad = non_finite(value)
        if bad is not None:
            raise RunError(f"{path}: {name} {bad[0]} holds NaN, inf or complex numbers: the run diverged "
                           "(or the file was changed)")
    return out


def load_ppo(out: str | os.PathLike, run: RunConfig, vec, device: str = "cpu", optimizer: bool = False,
             name: str = MODEL_FILE):
    """An SB3 PPO built from the run's (checked) settings on `vec`, with the policy weights of
    model.zip (or of `name`, a kept checkpoint) and its optimizer's state when `optimizer`."""
    path = run_file(out, name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the run has no policy yet")
    names = (POLICY_WEIGHTS, OPTIMIZER_WEIGHTS) if optimizer else (POLICY_WEIGHTS,)
    weights = read_weights(path, names, device)
    from boxlcd.models.checkpoint import CheckpointError, check_weights_fit, restore_optimizer

    model = new_ppo(dataclasses.replace(run, device=device), vec)
    try:
        check_weights_fit(path, weights[POLICY_WEIGHTS], model.policy.state_dict(), "policy")
        model.policy.load_state_dict(weights[POLICY_WEIGHTS])
        if optimizer and OPTIMIZER_WEIGHTS in weights:
            restore_optimizer(model.policy.optimizer, weights[OPTIMIZER_WEIGHTS], f"{path} ({OPTIMIZER_WEIGHTS})")
    except CheckpointError as e:
        raise RunError(str(e)) from None
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise RunError(f"{path}: its weights do not fit the policy {RUN_FILE} describes (net, history, task): "
                       f"{' '.join(str(e).split())[:200]}") from None
    return model


def load_policy(out: str | os.PathLike, env=None, device: str = "cpu", name: str = MODEL_FILE):
    """The run's policy (an SB3 PPO, its optimizer's state too) rebuilt from run.json with
    model.zip's weights (or a kept checkpoint's: `name`, from checkpoints()); `env` (an
    SB3VecEnv of the run's task) gives the spaces, else an engine env does."""
    run = read_run(out)
    vec = env if env is not None else make_env(dataclasses.replace(the_task(run), sim="real"), sim="real")
    return load_ppo(out, run, vec, device, optimizer=True, name=name)


def checkpoints(out: str | os.PathLike) -> list[tuple[int, str]]:
    """The checkpoints a run kept (rl train --keep): (env steps, name for load_policy), in order."""
    folder = Path(out) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return []
    kept = [(int(p.stem), f"{CHECKPOINTS_DIR}/{p.name}") for p in folder.iterdir()
            if p.suffix == ".zip" and p.stem.isdigit() and p.stem.isascii()]
    return sorted(kept)


def init_weights(run: RunConfig) -> dict:
    """The policy weights of the run `run.init` names, checked to fit this run's policy."""
    source = read_run(run.init)
    differ = [k for k in INIT_MATCH if getattr(source, k) != getattr(run, k)]
    if differ:
        theirs, ours = (", ".join(f"{k} {getattr(r, k)!r}" for k in differ) for r in (source, run))
        raise ValueError(f"--init {run.init}: its policy has another {', '.join(differ)} than this run's "
                         f"({theirs}; this run: {ours})")
    return read_weights(run_file(run.init, MODEL_FILE), (POLICY_WEIGHTS,))[POLICY_WEIGHTS]


def read_state(out_dir: Path) -> dict:
    """state.json: env steps and wall clock a run had reached."""
    path = run_file(out_dir, STATE_FILE)
    try:
        state = json.loads(read_bytes(path))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as e:
        raise RunError(f"{path}: unreadable ({e}): the run cannot resume") from None
    steps, elapsed = (state.get("env_steps"), state.get("elapsed_s")) if isinstance(state, dict) else (None, None)
    if (isinstance(steps, bool) or not isinstance(steps, int) or steps < 0
            or not isinstance(elapsed, (int, float)) or not math.isfinite(elapsed) or elapsed < 0):
        raise RunError(f"{path}: env_steps must be a whole number >= 0 and elapsed_s a finite number >= 0")
    return state


class TrainingLog(CollectionThreads):
    """After every rollout: a row of log.csv, the progress bar's success, and a checkpoint
    when `ckpt_every` seconds have passed; stops the run at the time limit."""

    FIELDS = ["env_steps", "elapsed_s", "episodes", "success_rate", "mean_return", "mean_length"]

    def __init__(self, vec, log_path: Path, bar, start: float, options: TrainOptions, save):
        super().__init__()
        self.vec, self.log_path, self.bar, self.start, self.options, self.save = vec, log_path, bar, start, options, save

    def _on_training_start(self) -> None:
        from boxlcd.files import open_append

        super()._on_training_start()
        self.file = open_append(self.log_path)
        self.writer = csv.DictWriter(self.file, fieldnames=self.FIELDS)
        if self.file.tell() == 0:
            self.writer.writeheader()
        self.last_save = time.perf_counter()

    def _on_step(self) -> bool:
        self.bar.update(self.vec.num_envs)
        limit = self.options.time_limit
        return not (limit and time.perf_counter() - self.start >= limit)

    def _on_rollout_end(self) -> None:
        super()._on_rollout_end()
        c = self.vec.take_counts()
        n = max(1, c["episodes"])
        row = {"env_steps": self.model.num_timesteps, "elapsed_s": round(time.perf_counter() - self.start, 2),
               "episodes": c["episodes"], "success_rate": round(c["successes"] / n, 4),
               "mean_return": round(c["return_sum"] / n, 4), "mean_length": round(c["length_sum"] / n, 2)}
        self.writer.writerow(row)
        self.file.flush()
        self.bar.set_postfix(success=f"{row['success_rate']:.3f}")
        if time.perf_counter() - self.last_save >= self.options.ckpt_every:
            self.save()
            self.last_save = time.perf_counter()

    def _on_training_end(self) -> None:
        self.file.close()


def train(config: RunConfig, options: TrainOptions) -> Path:
    """Trains (or resumes) PPO on config's task in options.out; returns the run folder. Sets
    torch's CPU threads to options.threads."""
    import torch
    from tqdm import tqdm

    from boxlcd.files import replace_with
    from boxlcd.learned import check_device

    config.check()  # a bad value fails before anything is made
    options.check()
    check_device(config.device)
    if config.precision == "bf16":
        from boxlcd.models.precision import warn_if_bf16_is_slow

        warn_if_bf16_is_slow(config.device)
    torch.set_num_threads(options.threads)
    sources = [] if config.sim == "real" else [str(Path(part).resolve()) for part in config.sim.split(",")]
    out_dir = Path(options.out)
    run = dataclasses.replace(config, sim=",".join(f"{SIM_DIR}/{i}" for i in range(len(sources))) or "real",
                              sim_from=",".join(sources) or None,
                              init=None if config.init is None else str(Path(config.init).resolve()))
    resuming = (out_dir / MODEL_FILE).is_file()
    if resuming:
        saved = read_run(out_dir).to_json()
        changed = {k for k, v in run.to_json().items() if k != "steps" and saved[k] != v}
        if changed:
            raise ValueError(f"{out_dir} is a run with other settings ({', '.join(sorted(changed))}); "
                             "use another --out for a new run")
    # Before making --out: a wrong env, task or sim leaves no empty run folder. A resumed run
    # goes on in the models it kept, whatever became of their sources since.
    vec = make_env(run, sim=run_sim(run, out_dir) if resuming else ",".join(sources) or "real")
    weights = init_weights(run) if run.init and not resuming else None
    out_dir.mkdir(parents=True, exist_ok=True)
    if sources and not resuming:
        keep_sim(sources, out_dir)
    write_json(out_dir / RUN_FILE, run.to_json())
    if resuming:
        state = read_state(out_dir)
        model = load_ppo(out_dir, run, vec, run.device, optimizer=True)
        model.num_timesteps = state["env_steps"]
    else:
        state = {"env_steps": 0, "elapsed_s": 0.0}
        torch.manual_seed(run.seed)
        model = new_ppo(run, vec)
        if weights is not None:
            from boxlcd.models.checkpoint import CheckpointError, check_weights_fit

            try:
                check_weights_fit(run.init, weights, model.policy.state_dict(), "policy")
            except CheckpointError as e:
                raise RunError(str(e)) from None
            model.policy.load_state_dict(weights)
    start = time.perf_counter() - state["elapsed_s"]

    def save() -> None:
        from boxlcd.models.checkpoint import non_finite

        bad = non_finite(model.policy.state_dict())
        if bad is not None:  # kept from the file: model.zip holds the last finite policy
            raise RuntimeError(f"the policy's {bad[0]} went NaN or inf after {model.num_timesteps} env steps; "
                               f"{out_dir / MODEL_FILE} keeps the last checkpoint: lower lr")
        replace_with(out_dir / MODEL_FILE, model.save)
        if options.keep:
            from boxlcd.files import make_folder

            make_folder(out_dir / CHECKPOINTS_DIR)
            replace_with(out_dir / CHECKPOINTS_DIR / f"{int(model.num_timesteps)}.zip", model.save)
        write_json(out_dir / STATE_FILE, {"env_steps": int(model.num_timesteps),
                                          "elapsed_s": round(time.perf_counter() - start, 2)})

    remaining = run.steps - model.num_timesteps
    limit = options.time_limit
    if remaining > 0 and not (limit and time.perf_counter() - start >= limit):
        with tqdm(total=run.steps, initial=model.num_timesteps, unit="step", disable=options.quiet,
                  desc=f"ppo {run.env} {run.task} ({'real' if run.sim == 'real' else 'learned'})") as bar:
            log = TrainingLog(vec, out_dir / LOG_FILE, bar, start, options, save)
            model.learn(total_timesteps=remaining, callback=log, reset_num_timesteps=False)
    save()
    vec.close()
    return out_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_options(p, RunConfig)
    add_options(p, TrainOptions)


def run(a: argparse.Namespace) -> None:
    print(train(from_options(RunConfig, a), from_options(TrainOptions, a)))
