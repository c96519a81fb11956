"""PPO (stable-baselines3) on a goal task, in the engine or in a learned simulator.

  boxlcd rl train --env Urchin --task body --sim real|RUN_DIR --out runs/ppo-urchin
                  [--steps N] [--time-limit S] [--num-envs N] [--seed S]

The policy sees the task's proprio and goal (boxlcd.rl.sb3.POLICY_KEYS), as the original's did,
and (history, default 3) the two proprio values before the current one: proprio has no
velocities.
The run folder gets run.json (the settings), model.zip (policy, optimizer; rewritten every
--ckpt-every seconds and at the end), state.json (env steps and wall clock reached) and
log.csv (after every rollout: env steps, wall clock, episodes ended, success rate, mean return
and length). The same command again resumes from model.zip; --steps is the run's total.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

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
SETTING_RANGES = {  # boxlcd.ranges: (lowest, highest, whether the lowest itself is allowed)
    "steps": (1, None, True), "num_envs": (1, None, True), "n_steps": (1, None, True),
    "batch_size": (1, None, True), "n_epochs": (1, None, True), "history": (1, None, True),
    "lr": (0.0, None, False), "lr_end": (0.0, None, True), "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, True), "ent_coef": (0.0, None, True), "time_limit": (0.0, None, True),
}
RUN_FILE, MODEL_FILE, STATE_FILE, LOG_FILE = "run.json", "model.zip", "state.json", "log.csv"


def the_task(run: dict) -> dict:
    """The run's settings with what only eases training (a learned sim's noise, shaping, the
    curriculum) turned off: the task a policy is measured on."""
    return {**run, **TRAINING_ONLY}


def make_env(run: dict, num_envs: int | None = None, sim: str | None = None, seed_offset: int = 0):
    """The run's task as an SB3 VecEnv (its sim unless another is given), seeded."""
    from boxlcd.rl.sb3 import SB3VecEnv
    from boxlcd.tasks import make_task

    aids = {k: run.get(k, off) for k, off in TRAINING_ONLY.items()}  # off in a run.json older than them
    task = make_task(run["env"], run["task"], num_envs=num_envs or run["num_envs"], sim=sim or run["sim"],
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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def read_run(out: str | os.PathLike) -> dict:
    path = Path(out) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not a PPO run folder (no {RUN_FILE})")
    return json.loads(path.read_text())


def load_policy(out: str | os.PathLike, env=None, device: str = "cpu"):
    from stable_baselines3 import PPO

    path = Path(out) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the run has no policy yet")
    return PPO.load(path, env=env, device=device)


def train(env: str, task: str, out: str, sim: str = "real", steps: int = 5_000_000, time_limit: float = 0.0,
          seed: int = 0, threshold: float = 0.05, ep_len: int | None = None, device: str = "cpu",
          temperature: float = 0.0, sim_noise: float = 0.0, reach: float = 0.0, reach_behind: float = 0.0,
          start_near: float = 0.0, near_spread: float = 0.0, near_ahead: float = 0.0, env_threads: int = 1,
          ckpt_every: float = 60.0, progress: bool = True, **ppo) -> Path:
    """Trains (or resumes) PPO on the task; returns the run folder."""
    import torch
    from stable_baselines3 import PPO
    from tqdm import tqdm

    from boxlcd.rl.sb3 import CollectionThreads

    unknown = sorted(set(ppo) - set(PPO_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown PPO settings {unknown}; settings: {', '.join(PPO_DEFAULTS)}")
    from boxlcd.learned import check_device

    check_device(device)
    if sim != "real":  # a world model's run, or an ensemble's runs joined by ","
        sim = ",".join(str(Path(part).resolve()) for part in sim.split(","))
    out_dir = Path(out)
    run = {"env": env, "task": task, "sim": sim, "steps": steps, "seed": seed, "threshold": threshold,
           "ep_len": ep_len, "device": device, "temperature": temperature, "sim_noise": sim_noise,
           "reach": reach, "reach_behind": reach_behind, "start_near": start_near, "near_spread": near_spread,
           "near_ahead": near_ahead, "env_threads": env_threads, **PPO_DEFAULTS, **ppo}
    from boxlcd.ranges import check_ranges
    from boxlcd.rl.precision import policy_class

    policy_class(run["precision"])  # a bad value fails before anything is made
    check_ranges({**run, "time_limit": time_limit}, SETTING_RANGES)
    if run["precision"] == "bf16":
        from boxlcd.models.common import warn_if_bf16_is_slow

        warn_if_bf16_is_slow(device)
    resuming = (out_dir / MODEL_FILE).is_file()
    if resuming:
        saved = read_run(out_dir)
        changed = {k for k in run if k != "steps" and saved.get(k, BEFORE_THE_SETTING.get(k)) != run[k]}
        if changed:
            raise ValueError(f"{out_dir} is a run with other settings ({', '.join(sorted(changed))}); "
                             "use another --out for a new run")
    vec = make_env(run)  # before making --out: a wrong env, task or sim leaves no empty run folder
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / RUN_FILE, run)
    state = json.loads((out_dir / STATE_FILE).read_text()) if resuming else {"env_steps": 0, "elapsed_s": 0.0}
    if resuming:
        model = PPO.load(out_dir / MODEL_FILE, env=vec, device=device)
    else:
        torch.manual_seed(seed)
        model = new_ppo(run, vec)
    start = time.perf_counter() - state["elapsed_s"]

    def save() -> None:
        model.save(out_dir / MODEL_FILE)
        write_json(out_dir / STATE_FILE, {"env_steps": int(model.num_timesteps),
                                          "elapsed_s": round(time.perf_counter() - start, 2)})

    log_path = out_dir / LOG_FILE
    fields = ["env_steps", "elapsed_s", "episodes", "success_rate", "mean_return", "mean_length"]

    class Log(CollectionThreads):
        def _on_training_start(self) -> None:
            super()._on_training_start()
            self.bar = tqdm(total=steps, initial=model.num_timesteps, unit="step", disable=not progress,
                            desc=f"ppo {env} {task} ({'real' if sim == 'real' else 'learned'})")
            self.file = open(log_path, "a", newline="")
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
