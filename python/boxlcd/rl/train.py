"""PPO (stable-baselines3) on a goal task, in the engine or in a learned simulator.

  boxlcd rl train --env Urchin --task body --sim real|RUN_DIR --out runs/ppo-urchin
                  [--steps N] [--time-limit S] [--num-envs N] [--seed S]

The policy sees the task's proprio and goal (boxlcd.rl.sb3.POLICY_KEYS), as the original's did,
and (history, default 3) the two proprio values before the current one: proprio has no
velocities.
The run folder gets run.json (the settings), model.zip (policy, optimizer; rewritten every
--ckpt-every seconds and at the end), state.json (env steps and wall clock reached) and
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
import io
import json
import math
import os
import pickle
import time
import zipfile
from pathlib import Path

from boxlcd.files import read_bytes

PPO_DEFAULTS = {  # what trained both robots here; see docs/rl.md
    "num_envs": 128, "n_steps": 64, "batch_size": 2048, "n_epochs": 5, "lr": 3e-4, "gamma": 0.99,
    "gae_lambda": 0.95, "ent_coef": 0.0, "net": [256, 256, 256], "log_std_init": -0.5,
    "history": 3,  # steps of proprio the policy sees (boxlcd.rl.sb3.SB3VecEnv)
    "lr_end": 1.0,  # the lr at --steps, as a fraction of lr: linear decay from lr (1.0: constant)
    "precision": "fp32",  # or bf16: the nets' hidden layers under autocast (boxlcd.rl.precision)
}
TRAINING_ONLY = {"sim_noise": 0.0, "reach": 0.0, "reach_behind": 0.0, "start_near": 0.0,
                 "near_spread": 0.0, "near_ahead": 0.0}  # all off: the task itself
BEFORE_THE_SETTING = {"history": 1, "lr_end": 1.0, "precision": "fp32",
                      **TRAINING_ONLY}  # what a run.json written before a setting existed meant
# The highs bound what a setting can build or run (a run.json is a file a user may be sent):
# deltas live in [0, 2], a learned sim's temperature is at most 10, the rest is ample.
SETTING_RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed)
    "steps": (1, 10**12, True), "num_envs": (1, 65536, True), "n_steps": (1, 100_000, True),
    "batch_size": (1, 10**7, True), "n_epochs": (1, 1000, True), "history": (1, 64, True),
    "lr": (0.0, 1.0, False), "lr_end": (0.0, 1.0, True), "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, True), "ent_coef": (0.0, 100.0, True), "time_limit": (0.0, None, True),
    "seed": (0, 2**62, True), "threshold": (0.0, 2.0, False), "temperature": (0.0, 10.0, True),
    "sim_noise": (0.0, 1.0, True), "reach": (0.0, 1e6, True), "reach_behind": (0.0, 2.0, True),
    "start_near": (0.0, 1.0, True), "near_spread": (0.0, 2.0, True), "near_ahead": (0.0, 1.0, True),
    "env_threads": (0, 1024, True), "log_std_init": (-20.0, 2.0, True),
}
MAX_EP_LEN = 100_000
MAX_LAYERS, MAX_WIDTH = 8, 4096  # the policy's net: larger is a typo (or a file built to exhaust memory)
RUN_FILE, MODEL_FILE, STATE_FILE, LOG_FILE = "run.json", "model.zip", "state.json", "log.csv"
SIM_DIR = "sim"  # a learned sim's models inside the run: SIM_DIR/0/ckpt.pt, ...
POLICY_WEIGHTS, OPTIMIZER_WEIGHTS = "policy.pth", "policy.optimizer.pth"  # model.zip's entries boxlcd reads
MAX_WEIGHTS_BYTES = 1 << 30


class RunError(ValueError):
    """A PPO run folder boxlcd will not load: a run.json, state.json or model.zip that is
    malformed, out of range, disagrees with itself, or holds non-finite weights."""


def the_task(run: dict) -> dict:
    """The run's settings with what only eases training (a learned sim's noise, shaping, the
    curriculum) turned off: the task a policy is measured on."""
    return {**run, **TRAINING_ONLY}


def make_env(run: dict, num_envs: int | None = None, sim: str | None = None, seed_offset: int = 0):
    """The run's task as an SB3 VecEnv, seeded: in the engine, or in the learned sim `sim` (a
    run's own: run_sim(run, run_dir))."""
    from boxlcd.rl.sb3 import SB3VecEnv
    from boxlcd.tasks import make_task

    sim = sim or run["sim"]
    if sim != "real" and sim == run["sim"] and not Path(sim.split(",")[0]).is_absolute():
        raise ValueError("a run's learned sim is inside its folder: pass sim=run_sim(run, run_dir)")
    aids = {k: run.get(k, off) for k, off in TRAINING_ONLY.items()}  # off in a run.json older than them
    task = make_task(run["env"], run["task"], num_envs=num_envs or run["num_envs"], sim=sim,
                     threshold=run["threshold"], ep_len=run["ep_len"], num_threads=run["env_threads"],
                     device=run["device"], temperature=run["temperature"], noise=aids.pop("sim_noise"), **aids)
    env = SB3VecEnv(task, history=run.get("history", BEFORE_THE_SETTING["history"]))
    env.seed(run["seed"] + seed_offset)
    return env


def new_ppo(run: dict, vec):
    """An untrained SB3 PPO with the run's settings on `vec`."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import LinearSchedule

    from boxlcd.rl.precision import policy_class

    lr_end = run.get("lr_end", BEFORE_THE_SETTING["lr_end"])
    lr = run["lr"] if lr_end == 1.0 else LinearSchedule(run["lr"], run["lr"] * lr_end, 1.0)
    policy = policy_class(run.get("precision", BEFORE_THE_SETTING["precision"]))
    return PPO(policy, vec, learning_rate=lr, n_steps=run["n_steps"], batch_size=run["batch_size"],
               n_epochs=run["n_epochs"], gamma=run["gamma"], gae_lambda=run["gae_lambda"], ent_coef=run["ent_coef"],
               seed=run["seed"], device=run["device"], verbose=0,
               policy_kwargs={"net_arch": list(run["net"]), "activation_fn": torch.nn.Tanh,
                              "log_std_init": run["log_std_init"]})


def write_json(path: Path, data: dict) -> None:
    from boxlcd.files import write_text

    write_text(path, json.dumps(data, indent=1))


def read_run(out: str | os.PathLike) -> dict:
    """run.json of a PPO run folder, checked (check_run), with the settings it predates filled in."""
    path = run_file(out, RUN_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a PPO run folder (no {RUN_FILE})")
    try:
        run = json.loads(read_bytes(path))
    except (ValueError, UnicodeDecodeError, OSError, RecursionError) as e:
        raise RunError(f"{path}: not JSON ({e})") from None
    if not isinstance(run, dict):
        raise RunError(f"{path}: not a PPO run's settings (a JSON {type(run).__name__}, not an object)")
    run = {**BEFORE_THE_SETTING, **run}
    try:
        check_run(run)
    except (ValueError, TypeError) as e:
        raise RunError(f"{path}: {e}") from None
    return run


def run_file(out: str | os.PathLike, name: str) -> Path:
    """The run folder's file `name`, refused when a link leads it outside the folder: a run
    folder a user was sent is read as itself, never as files elsewhere."""
    path = Path(out) / name
    if (path.exists() or path.is_symlink()) and not path.resolve().is_relative_to(Path(out).resolve()):
        raise RunError(f"{path} is a link leading outside the run folder: boxlcd reads a run's own files only")
    return path


# What every run.json holds; BEFORE_THE_SETTING's keys are filled in when missing.
RUN_KEYS = ("env", "task", "sim", "steps", "seed", "threshold", "ep_len", "device", "temperature",
            "env_threads", *PPO_DEFAULTS)


def check_run(run: dict) -> None:
    """A clear error for settings that PPO, the task or the engine would fail on or that
    would build something absurd: train() checks what it is given, read_run what it reads."""
    import boxlcd
    from boxlcd.ranges import check_ranges
    from boxlcd.rl.precision import policy_class
    from boxlcd.tasks import TASKS

    missing = [k for k in RUN_KEYS if k not in run]
    if missing:
        raise ValueError(f"no {', '.join(missing)}")
    if run["env"] not in boxlcd.envs():
        raise ValueError(f"env {run['env']!r} is not a built-in env")
    if run["task"] not in TASKS:
        raise ValueError(f"task {run['task']!r} is not a task ({', '.join(TASKS)})")
    for key in ("sim", "device", "precision"):
        if not isinstance(run[key], str):
            raise ValueError(f"{key} must be a string, got {run[key]!r}")
    policy_class(run["precision"])
    check_ranges(run, {k: v for k, v in SETTING_RANGES.items() if k in run})
    ep_len = run["ep_len"]
    if ep_len is not None and (isinstance(ep_len, bool) or not isinstance(ep_len, int)
                               or not 1 <= ep_len <= MAX_EP_LEN):
        raise ValueError(f"ep_len must be null or a whole number in [1, {MAX_EP_LEN}], got {ep_len!r}")
    net = run["net"]
    if (not isinstance(net, list) or not 1 <= len(net) <= MAX_LAYERS
            or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= MAX_WIDTH for w in net)):
        raise ValueError(f"net must be a list of 1 to {MAX_LAYERS} layer widths in [1, {MAX_WIDTH}], got {net!r}")


def run_sim(run: dict, run_dir: str | os.PathLike) -> str:
    from boxlcd.models.checkpoint import CKPT

    """'real', or the run's learned sim: its models' folders inside run_dir/sim, joined by ','.
    A path read from run.json never leads outside the run's folder."""
    if run["sim"] == "real":
        return "real"
    root = Path(run_dir).resolve()
    paths = []
    for part in run["sim"].split(","):
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


def load_ppo(out: str | os.PathLike, run: dict, vec, device: str = "cpu", optimizer: bool = False):
    """An SB3 PPO built from the run's (checked) settings on `vec`, with model.zip's policy
    weights (and its optimizer's state when `optimizer`)."""
    path = run_file(out, MODEL_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the run has no policy yet")
    names = (POLICY_WEIGHTS, OPTIMIZER_WEIGHTS) if optimizer else (POLICY_WEIGHTS,)
    weights = read_weights(path, names, device)
    from boxlcd.models.checkpoint import CheckpointError, check_weights_fit, restore_optimizer

    model = new_ppo({**run, "device": device}, vec)
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


def load_policy(out: str | os.PathLike, env=None, device: str = "cpu"):
    """The run's policy (an SB3 PPO, its optimizer's state too) rebuilt from run.json with
    model.zip's weights; `env` (an SB3VecEnv of the run's task) gives the spaces, else an
    engine env does."""
    run = read_run(out)
    vec = env if env is not None else make_env({**the_task(run), "sim": "real"}, sim="real")
    return load_ppo(out, run, vec, device, optimizer=True)


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


def train(env: str, task: str, out: str, sim: str = "real", steps: int = 5_000_000, time_limit: float = 0.0,
          seed: int = 0, threshold: float = 0.05, ep_len: int | None = None, device: str = "cpu",
          temperature: float = 0.0, sim_noise: float = 0.0, reach: float = 0.0, reach_behind: float = 0.0,
          start_near: float = 0.0, near_spread: float = 0.0, near_ahead: float = 0.0, env_threads: int = 1,
          ckpt_every: float = 60.0, progress: bool = True, **ppo) -> Path:
    """Trains (or resumes) PPO on the task; returns the run folder."""
    import torch
    from tqdm import tqdm

    from boxlcd.files import open_append, replace_with
    from boxlcd.rl.sb3 import CollectionThreads

    unknown = sorted(set(ppo) - set(PPO_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown PPO settings {unknown}; settings: {', '.join(PPO_DEFAULTS)}")
    from boxlcd.learned import check_device

    check_device(device)
    sources = [] if sim == "real" else [str(Path(part).resolve()) for part in sim.split(",")]
    out_dir = Path(out)
    run = {"env": env, "task": task, "sim": ",".join(f"{SIM_DIR}/{i}" for i in range(len(sources))) or "real",
           "sim_from": ",".join(sources) or None, "steps": steps, "seed": seed, "threshold": threshold,
           "ep_len": ep_len, "device": device, "temperature": temperature, "sim_noise": sim_noise,
           "reach": reach, "reach_behind": reach_behind, "start_near": start_near, "near_spread": near_spread,
           "near_ahead": near_ahead, "env_threads": env_threads, **PPO_DEFAULTS, **ppo}
    check_run({**run, "time_limit": time_limit})  # a bad value fails before anything is made
    if run["precision"] == "bf16":
        from boxlcd.models.precision import warn_if_bf16_is_slow

        warn_if_bf16_is_slow(device)
    resuming = (out_dir / MODEL_FILE).is_file()
    if resuming:
        saved = read_run(out_dir)
        changed = {k for k in run if k != "steps" and saved.get(k, BEFORE_THE_SETTING.get(k)) != run[k]}
        if changed:
            raise ValueError(f"{out_dir} is a run with other settings ({', '.join(sorted(changed))}); "
                             "use another --out for a new run")
    # Before making --out: a wrong env, task or sim leaves no empty run folder. A resumed run
    # goes on in the models it kept, whatever became of their sources since.
    vec = make_env(run, sim=run_sim(run, out_dir) if resuming else ",".join(sources) or "real")
    out_dir.mkdir(parents=True, exist_ok=True)
    if sources and not resuming:
        keep_sim(sources, out_dir)
    write_json(out_dir / RUN_FILE, run)
    if resuming:
        state = read_state(out_dir)
        model = load_ppo(out_dir, run, vec, device, optimizer=True)
        model.num_timesteps = state["env_steps"]
    else:
        state = {"env_steps": 0, "elapsed_s": 0.0}
        torch.manual_seed(seed)
        model = new_ppo(run, vec)
    start = time.perf_counter() - state["elapsed_s"]

    def save() -> None:
        from boxlcd.models.checkpoint import non_finite

        bad = non_finite(model.policy.state_dict())
        if bad is not None:  # kept from the file: model.zip holds the last finite policy
            raise RuntimeError(f"the policy's {bad[0]} went NaN or inf after {model.num_timesteps} env steps; "
                               f"{out_dir / MODEL_FILE} keeps the last checkpoint: lower lr")
        replace_with(out_dir / MODEL_FILE, model.save)
        write_json(out_dir / STATE_FILE, {"env_steps": int(model.num_timesteps),
                                          "elapsed_s": round(time.perf_counter() - start, 2)})

    log_path = out_dir / LOG_FILE
    fields = ["env_steps", "elapsed_s", "episodes", "success_rate", "mean_return", "mean_length"]

    class Log(CollectionThreads):
        def _on_training_start(self) -> None:
            super()._on_training_start()
            self.bar = tqdm(total=steps, initial=model.num_timesteps, unit="step", disable=not progress,
                            desc=f"ppo {env} {task} ({'real' if sim == 'real' else 'learned'})")
            self.file = open_append(log_path)
            self.writer = csv.DictWriter(self.file, fieldnames=fields)
            if self.file.tell() == 0:
                self.writer.writeheader()
            self.last_save = time.perf_counter()

        def _on_step(self) -> bool:
            self.bar.update(vec.num_envs)
            elapsed = time.perf_counter() - start
            return not (time_limit and elapsed >= time_limit)

        def _on_rollout_end(self) -> None:
            super()._on_rollout_end()
            c = vec.take_counts()
            n = max(1, c["episodes"])
            row = {"env_steps": model.num_timesteps, "elapsed_s": round(time.perf_counter() - start, 2),
                   "episodes": c["episodes"], "success_rate": round(c["successes"] / n, 4),
                   "mean_return": round(c["return_sum"] / n, 4), "mean_length": round(c["length_sum"] / n, 2)}
            self.writer.writerow(row)
            self.file.flush()
            self.bar.set_postfix(success=f"{row['success_rate']:.3f}")
            if time.perf_counter() - self.last_save >= ckpt_every:
                save()
                self.last_save = time.perf_counter()

        def _on_training_end(self) -> None:
            self.bar.close()
            self.file.close()

    remaining = steps - model.num_timesteps
    if remaining > 0 and not (time_limit and time.perf_counter() - start >= time_limit):
        model.learn(total_timesteps=remaining, callback=Log(), reset_num_timesteps=False)
    save()
    vec.close()
    return out_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    from boxlcd.tasks import NEAR_GAP

    p.add_argument("--env", required=True, help="a robot env: Urchin, Luxo, UrchinCube, LuxoCube, ...")
    p.add_argument("--task", choices=["body", "cube"], default="body")
    p.add_argument("--sim", default="real", help="real (the engine), a world model's run folder, or several joined by ',' (an ensemble)")
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--steps", type=int, default=5_000_000, help="env steps in all (default 5M)")
    p.add_argument("--time-limit", type=float, default=0.0, help="stop after this many seconds (0: none)")
    p.add_argument("--num-envs", type=int, default=PPO_DEFAULTS["num_envs"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.05, help="success when delta is below it")
    p.add_argument("--reach", type=float, default=0.0,
                   help="cube task: reward reach x the step's approach of the robot to the object (0: none)")
    p.add_argument("--reach-behind", type=float, default=0.0,
                   help="cube task: draw the robot to this far behind the object, seen from the goal (x units)")
    p.add_argument("--start-near", type=float, default=0.0,
                   help="cube task: the share of episodes that start with the robot behind the object (curriculum)")
    p.add_argument("--near-spread", type=float, default=0.0,
                   help=f"cube task: draw those starts' robot-object gap from [{NEAR_GAP}, {NEAR_GAP} + this] (0: always {NEAR_GAP})")
    p.add_argument("--near-ahead", type=float, default=0.0,
                   help="cube task: the share of those starts with the robot on the goal's side of the object")
    p.add_argument("--ep-len", type=int, default=None, help="steps before a timeout (default: the env's)")
    p.add_argument("--device", default="cpu", help="torch device of the policy and a learned sim")
    p.add_argument("--temperature", type=float, default=0.0, help="a learned sim's sampling temperature")
    p.add_argument("--sim-noise", type=float, default=0.0,
                   help="std of noise on a learned sim's predicted proprio while training (LearnedEnv's noise)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--env-threads", type=int, default=1, help="threads stepping a real env (default 1)")
    p.add_argument("--ckpt-every", type=float, default=60.0, help="seconds between checkpoints")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help=f"a PPO setting ({', '.join(k for k in PPO_DEFAULTS if k != 'num_envs')})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(a: argparse.Namespace) -> None:
    import torch

    from boxlcd.models.train import key_value, parse_value

    torch.set_num_threads(a.threads)
    ppo = {k: parse_value(v) for k, v in (key_value(s) for s in a.set)}
    out = train(a.env, a.task, a.out, sim=a.sim, steps=a.steps, time_limit=a.time_limit, seed=a.seed,
                threshold=a.threshold, ep_len=a.ep_len, device=a.device, temperature=a.temperature,
                sim_noise=a.sim_noise, reach=a.reach, reach_behind=a.reach_behind, start_near=a.start_near,
                near_spread=a.near_spread, near_ahead=a.near_ahead,
                env_threads=a.env_threads, ckpt_every=a.ckpt_every, progress=not a.quiet,
                num_envs=a.num_envs, **ppo)
    print(out)
