"""The learned-simulator loop as one command: a world model and the policy it trains teach each
other, and no policy is ever trained in the engine.

  boxlcd rl pipeline ENV --task body|cube --out DIR [--budget MINUTES] [--rounds K] [--obs state|pixels]
                     [--split MODEL,FINETUNE,PPO] [--set KEY=VALUE ...] [--ppo-set KEY=VALUE ...]
                     [--episodes N] [--policy-episodes N] [--test-episodes N] [--eval-episodes N]
                     [--seed S] [--device D] [--threads T] [-q]

Round 1 trains a world model on random-action episodes of the engine and PPO inside it. Each
later round collects the last policy's own episodes in the engine (the states it drives into,
which random actions seldom show), fine-tunes the last model on all the data so far, and goes on
training the last policy inside the fine-tuned model (PPO from its weights). Each round ends with
the model scored on held-out episodes and the policy's success inside the model and in the
engine, and the checkpoints PPO kept along the way scored in both: the rank correlation of the
two says whether the model picks policies as the engine would. Episodes by default: 10,000
random, 5,000 of the policy per later round, 256 held out, 1,000 per success figure, 200 per
checkpoint.

--obs pixels: the policies read only the frames (the frame, the goal's frame and the previous
frames: boxlcd.rl.sb3.PolicyInput), never the proprio; inside the learned sim those frames are
the model's.

Stages, each a `boxlcd` command run in this process, and where they write (inside DIR):

  random-data      collect ENV --episodes N (random actions, seed 0)          data/random/
  test-data        collect ENV --episodes N (random actions, seed 1,000,000)  data/test/
  per round k = 1..K:
  policy-data-k    (k > 1) collect ENV --policy ppo:DIR/ppo-(k-1)
                   --episodes N --seed k x 1,000,000                          data/policy-k/
  model-k          train frame_transformer --preset learned-sim (k > 1: --init DIR/model-(k-1)
                   --lr 3e-4 on data/random and every data/policy-j so far)   model-k/
  model-k-eval     eval model-k --data data/test (all of it)                  model-k/eval.json
  ppo-k            rl train --sim DIR/model-k --obs OBS --keep (k > 1:
                   --init DIR/ppo-(k-1))                                      ppo-k/
  ppo-k-engine     rl eval ppo-k --episodes N                                 ppo-k/eval.json
  ppo-k-model      rl eval ppo-k --episodes N --sim learned                   ppo-k/eval_learned.json
  ppo-k-checkpoints rl eval ppo-k --checkpoints --episodes 200               ppo-k/eval_checkpoints.json

The cube task's models also predict the full state (`--set predict_state=true`): the task reads
the object's position from it. The pipeline's own --set KEY=VALUE gives every round's model a
frame transformer setting beyond the preset (e.g. context=16), recorded with the arguments;
--ppo-set KEY=VALUE gives every round's PPO one of `rl train`'s --set settings (e.g.
net=[128,128,128]), the same in every round as each goes on from the last one's weights.

Budget: --budget MINUTES (default 30: Luxo's body goal as a half-hour run) bounds the stages that
train, through their --time-limit. 15% of it is left to the stages sized by episode counts
(collections and evaluations: a few minutes at the defaults); the other 85% is split in fixed
weights (--split MODEL,FINETUNE,PPO): by default the first model 4, each fine-tune 2, each PPO
run 2. At the defaults (30 minutes, two rounds: weights 4 + 2 + 2 + 2) the model trains 10.2
minutes, PPO 5.1, the fine-tune 5.1 and PPO again 5.1. A PPO run also stops at 9M env steps,
and keeps a checkpoint every fifth of its time.

Resuming: DIR/pipeline.json records the arguments and each stage's state. The same command again
skips the finished stages and runs the rest; a stage that was stopped goes on where its command
left off (a training resumes from its checkpoint, a collection keeps its finished shards). Other
arguments than the first run's are refused (-q, --threads may differ), and so is a second
pipeline in a folder while one runs there. Ctrl-C stops the running stage, recorded as stopped.

Progress: one line per stage as it starts (its whole command) and ends (its time), and the
stages' own progress bars unless -q.

DIR/summary.json, rewritten (atomically) after every stage:
  env, task, obs, model_set (the --set settings), ppo_set (--ppo-set's), split, budget_s,
  rounds_planned, seconds (all stages so far),
  stages: [{name, round, status (finished, started, stopped, failed, not started), limit_s
           (its --time-limit; null: sized by episodes), seconds (used, over every run), output}],
  rounds: [{round, model, policy, trained_on (data folders),
            model_scores: {bits_per_dim, pixel_error, iou, ssim (boxlcd eval's on data/test, and
                           any proprio_* figure its eval.json holds), test_episodes,
                           model_steps, proprio_mse_train (the mean of the last 10
                           logged training batches': every 2nd step's)},
            ppo_env_steps,
            success_in_model: {sampled, sampled_se, mean_action, mean_action_se, episodes}
                              (success rates with sampled and with mean actions, rl eval's),
            success_in_engine: {the same},
            checkpoints: [{env_steps, in_engine, in_model}] (success, sampled actions)}],
  rank_correlation: {spearman (in_model against in_engine, over every round's checkpoints),
                     checkpoints, episodes}
A figure not measured yet is null.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from boxlcd.files import lock_folder
from boxlcd.options import key_value
from boxlcd.ranges import MAX_THREADS
from boxlcd.rl.evaluate import rank_correlation

PIPELINE_FILE, SUMMARY_FILE, LOCK_FILE = "pipeline.json", "summary.json", ".pipeline.lock"
UNTIMED_SHARE = 0.15  # of the budget: collections and evaluations, sized by episodes, not by a clock
SPLIT = (4.0, 2.0, 2.0)  # the rest of the budget's weights: the first model, each fine-tune, each PPO run
SPLIT_TEXT = ",".join(f"{w:g}" for w in SPLIT)  # as --split takes it
PPO_STEPS = 9_000_000  # a PPO run's cap: Luxo and Urchin's learned-trained policies were done by then
CHECKPOINTS_PER_RUN = 5  # kept along each PPO run (and its last), scored for the rank correlation
CHECKPOINT_EPISODES = 200
FINETUNE_LR = 3e-4
TEST_SEED = 1_000_000  # data seeds: held-out episodes, then each round's policy episodes, apart from training's
SEED_STRIDE = 1_000_000
LOG_EVERY, LOGGED_MEAN = 2, 10  # training steps per log.csv row; rows averaged for proprio_mse_train
MODEL_SCORES = ("bits_per_dim", "pixel_error", "iou", "ssim")  # eval.json's, on the held-out episodes
# What decides the results, and so must stay the same when the pipeline is run again.
RECORDED = ("env", "task", "obs", "budget", "rounds", "episodes", "policy_episodes", "test_episodes",
            "eval_episodes", "seed", "device", "model_set", "ppo_set", "split")
# A record written before an argument existed: the value it had then.
BEFORE = {"model_set": [], "ppo_set": [], "split": list(SPLIT)}
LIMITS = {"budget": (0.0, 100_000.0), "rounds": (1, 100), "episodes": (1, 10**8), "policy_episodes": (1, 10**8),
          "test_episodes": (1, 10**6), "eval_episodes": (1, 10**6), "seed": (0, 10**12), "threads": (1, MAX_THREADS)}


class PipelineError(RuntimeError):
    """A pipeline folder that cannot go on: other arguments, a stage that failed."""


@dataclass
class Stage:
    name: str
    round: int  # 0: the data every round shares
    output: Path
    argv: list[str]  # after `boxlcd`
    limit_s: float | None = None  # its --time-limit; None: sized by episodes


def round_dir(out: Path, kind: str, k: int) -> Path:
    return out / f"{kind}-{k}"


def time_limits(budget_s: float, rounds: int, split=SPLIT) -> dict[str, float]:
    """Seconds for the first model, each fine-tune and each PPO run (the split's weights)."""
    weights = dict(zip(("model", "finetune", "ppo"), split))
    total = weights["model"] + weights["ppo"] * rounds + weights["finetune"] * (rounds - 1)
    unit = budget_s * (1 - UNTIMED_SHARE) / total
    return {kind: round(weight * unit, 2) for kind, weight in weights.items()}


def plan(a: argparse.Namespace) -> list[Stage]:
    """Every stage of the pipeline, in order."""
    out = Path(a.out).resolve()
    limits = time_limits(a.budget * 60, a.rounds, a.split)
    common = ["--threads", str(a.threads)] + (["--device", a.device] if a.device else [])
    quiet = ["-q"] if a.quiet else []
    random_data, test_data = out / "data" / "random", out / "data" / "test"

    def collect(folder: Path, episodes: int, seed: int, policy: str = "random") -> list[str]:
        return ["collect", a.env, "--episodes", str(episodes), "--out", str(folder), "--policy", policy,
                "--seed", str(seed), "--threads", str(a.threads), "--resume", *quiet]

    stages = [Stage("random-data", 0, random_data, collect(random_data, a.episodes, 0)),
              Stage("test-data", 0, test_data, collect(test_data, a.test_episodes, TEST_SEED))]
    data = [random_data]
    recipe = ["--preset", "learned-sim"] + (["--set", "predict_state=true"] if a.task == "cube" else [])
    recipe += [part for setting in a.model_set for part in ("--set", setting)]
    for k in range(1, a.rounds + 1):
        model, ppo = round_dir(out, "model", k), round_dir(out, "ppo", k)
        train = ["train", "frame_transformer", "--out", str(model), *recipe, "--seed", str(a.seed),
                 "--log-every", str(LOG_EVERY), *common, *quiet]
        if k == 1:
            limit = limits["model"]
        else:
            policy_data = out / "data" / f"policy-{k}"
            policy = f"ppo:{round_dir(out, 'ppo', k - 1)}"
            stages.append(Stage(f"policy-data-{k}", k, policy_data,
                                collect(policy_data, a.policy_episodes, SEED_STRIDE * k, policy)))
            data.append(policy_data)
            train += ["--init", str(round_dir(out, "model", k - 1)), "--lr", str(FINETUNE_LR)]
            limit = limits["finetune"]
        train += ["--data", ",".join(map(str, data)), "--time-limit", str(limit)]
        ppo_argv = ["rl", "train", "--env", a.env, "--task", a.task, "--sim", str(model), "--out", str(ppo),
                    "--obs", a.obs, "--steps", str(PPO_STEPS), "--time-limit", str(limits["ppo"]),
                    "--keep", "--ckpt-every", str(round(limits["ppo"] / CHECKPOINTS_PER_RUN, 2)),
                    "--seed", str(a.seed), *common, *quiet]
        ppo_argv += [part for setting in a.ppo_set for part in ("--set", setting)]
        if k > 1:
            ppo_argv += ["--init", str(round_dir(out, "ppo", k - 1))]
        evaluate = ["rl", "eval", str(ppo), "--episodes"]
        device = ["--device", a.device] if a.device else []
        stages += [
            Stage(f"model-{k}", k, model, train, limit),
            Stage(f"model-{k}-eval", k, model / "eval.json",
                  ["eval", str(model), "--data", str(test_data), "--episodes", "0", *common]),
            Stage(f"ppo-{k}", k, ppo, ppo_argv, limits["ppo"]),
            Stage(f"ppo-{k}-engine", k, ppo / "eval.json", [*evaluate, str(a.eval_episodes), *device]),
            Stage(f"ppo-{k}-model", k, ppo / "eval_learned.json",
                  [*evaluate, str(a.eval_episodes), "--sim", "learned", *device]),
            Stage(f"ppo-{k}-checkpoints", k, ppo / "eval_checkpoints.json",
                  [*evaluate, str(min(CHECKPOINT_EPISODES, a.eval_episodes)), "--checkpoints", *device]),
        ]
    return stages


def read_json(path: Path) -> dict | None:
    from boxlcd.files import read_bytes

    try:
        value = json.loads(read_bytes(path))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def number(value) -> float | None:
    """A finite number as float, else None (a figure not measured, or not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def logged_mean(path: Path, key: str, rows: int = LOGGED_MEAN) -> float | None:
    """The mean of the last `rows` finite values of `key` in a training's log.csv."""
    try:
        with open(path, newline="") as f:
            values = [number(float(row.get(key) or "nan")) for row in csv.DictReader(f)]
    except (OSError, ValueError):
        return None
    values = [v for v in values if v is not None][-rows:]
    return sum(values) / len(values) if values else None


def success(path: Path) -> dict:
    e = read_json(path) or {}
    return {"sampled": number(e.get("success_rate")), "sampled_se": number(e.get("success_rate_se")),
            "mean_action": number(e.get("success_rate_deterministic")),
            "mean_action_se": number(e.get("success_rate_se_deterministic")),
            "episodes": e.get("episodes")}


def checkpoint_scores(path: Path) -> list[dict]:
    """The checkpoints rl eval --checkpoints scored, with both figures finite."""
    rows = (read_json(path) or {}).get("checkpoints")
    keep = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and number(row.get("in_engine")) is not None and number(row.get("in_model")) is not None:
            keep.append({"env_steps": row.get("env_steps"), "in_engine": row["in_engine"], "in_model": row["in_model"]})
    return keep


def summary(a: argparse.Namespace, stages: list[Stage], records: dict) -> dict:
    """summary.json's content: what each stage's files hold now (the module docstring has the schema)."""
    out = Path(a.out).resolve()
    rows = []
    for s in stages:
        r = records.get(s.name, {})
        rows.append({"name": s.name, "round": s.round, "status": r.get("status", "not started"),
                     "limit_s": s.limit_s, "seconds": r.get("seconds", 0.0), "output": str(s.output.relative_to(out))})
    rounds = []
    for k in range(1, a.rounds + 1):
        model, ppo = round_dir(out, "model", k), round_dir(out, "ppo", k)
        scores = read_json(model / "eval.json") or {}
        state = read_json(ppo / "state.json") or {}
        trained_on = ["data/random"] + [f"data/policy-{j}" for j in range(2, k + 1)]
        rounds.append({
            "round": k, "model": model.name, "policy": ppo.name, "trained_on": trained_on,
            "model_scores": {**{key: number(scores.get(key)) for key in MODEL_SCORES},
                             **{key: number(v) for key, v in scores.items() if key.startswith("proprio")},
                             "test_episodes": scores.get("episodes"), "model_steps": scores.get("steps"),
                             "proprio_mse_train": logged_mean(model / "log.csv", "proprio_mse")},
            "ppo_env_steps": state.get("env_steps"),
            "success_in_model": success(ppo / "eval_learned.json"),
            "success_in_engine": success(ppo / "eval.json"),
            "checkpoints": checkpoint_scores(ppo / "eval_checkpoints.json"),
        })
    scored = [c for r in rounds for c in r["checkpoints"]]
    spearman = rank_correlation([c["in_engine"] for c in scored], [c["in_model"] for c in scored])
    return {"env": a.env, "task": a.task, "obs": a.obs, "model_set": a.model_set,
            "ppo_set": a.ppo_set, "split": a.split, "budget_s": a.budget * 60,
            "rounds_planned": a.rounds,
            "seconds": round(sum(r["seconds"] for r in rows), 2), "stages": rows, "rounds": rounds,
            "rank_correlation": {"spearman": spearman, "checkpoints": len(scored),
                                 "episodes": min(CHECKPOINT_EPISODES, a.eval_episodes)}}


class Record:
    """DIR/pipeline.json: the arguments of the first run and each stage's state, kept on disk."""

    def __init__(self, out: Path, arguments: dict):
        from boxlcd.files import make_folder

        self.path = out / PIPELINE_FILE
        saved = read_json(self.path) if self.path.exists() else None
        if self.path.exists() and saved is None:
            raise PipelineError(f"{self.path} is not a pipeline's record (not a JSON object): use another --out")
        if saved is not None:
            old = saved.get("arguments", {})
            changed = [k for k in RECORDED if old.get(k, BEFORE.get(k)) != arguments[k]]
            if changed:
                what = ", ".join(f"{k} {old.get(k, BEFORE.get(k))!r} -> {arguments[k]!r}" for k in changed)
                raise PipelineError(f"{out} was started with other arguments ({what}): run it with the first "
                                    "ones to go on, or use another --out")
        elif out.exists() and any(out.iterdir()):
            raise PipelineError(f"{out} exists and holds no {PIPELINE_FILE}: use an empty or new --out")
        make_folder(out)
        self.lock = lock_folder(out, LOCK_FILE, "pipeline", "pipeline", PipelineError)
        self.arguments = arguments
        self.stages = saved.get("stages", {}) if saved else {}
        self.save()

    def save(self) -> None:
        from boxlcd.files import write_text

        write_text(self.path, json.dumps({"arguments": self.arguments, "stages": self.stages}, indent=1))

    def finished(self, stage: Stage) -> bool:
        return self.stages.get(stage.name, {}).get("status") == "finished" and stage.output.exists()

    def update(self, stage: Stage, status: str, seconds: float) -> None:
        self.stages[stage.name] = {"status": status, "seconds": round(seconds, 2), "limit_s": stage.limit_s}
        self.save()


def clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def check_arguments(a: argparse.Namespace) -> None:
    """One clear error for arguments the pipeline cannot run, before anything is written."""
    import boxlcd
    from boxlcd.tasks import delta_keys

    if a.env not in boxlcd.envs():
        raise ValueError(f"unknown env {a.env!r}; envs: {', '.join(boxlcd.envs())}")
    e = boxlcd.make(a.env, num_envs=1, frames=False)
    delta_keys(a.task, list(e.proprio_keys), list(e.state_keys))  # a robot, and an object for the cube
    for key, (low, high) in LIMITS.items():
        value = getattr(a, key)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high) or (
                key == "budget" and value <= low):
            bound = f"in ({low:g}, {high:g}]" if key == "budget" else f"in [{low}, {high}]"
            raise ValueError(f"--{key.replace('_', '-')} must be {bound}, got {value}")
    if a.device is not None:
        from boxlcd.learned import check_device

        check_device(a.device)
    from boxlcd.models.frame_transformer import DEFAULTS

    for key, value in a.model_set:
        if key not in DEFAULTS:
            raise ValueError(f"--set {key}: the frame transformer has no such setting; settings: {', '.join(DEFAULTS)}")
    from boxlcd.rl.config import RunConfig, set_keys

    keys = set_keys(RunConfig)
    for key, _ in a.ppo_set:
        if key not in keys:
            raise ValueError(f"--ppo-set {key}: rl train has no such --set setting; settings: {', '.join(keys)}")
    RunConfig(env=a.env, task=a.task, obs=a.obs, **dict(a.ppo_set)).check()
    a.split = split_weights(a.split)
    # As text, the form the stages pass on and pipeline.json records (JSON has no tuples).
    a.model_set = [f"{key}={json.dumps(value)}" for key, value in a.model_set]
    a.ppo_set = [f"{key}={json.dumps(value)}" for key, value in a.ppo_set]


def split_weights(text: str) -> list[float]:
    """--split's MODEL,FINETUNE,PPO: three positive weights."""
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        weights = []
    if len(weights) != 3 or not all(0 < w <= 1000 for w in weights):
        raise ValueError(f"--split: three weights in (0, 1000] as MODEL,FINETUNE,PPO (e.g. 4,2,2), got {text!r}")
    return weights


def run_pipeline(a: argparse.Namespace) -> dict:
    """Runs (or goes on with) the pipeline; returns summary.json's content."""
    check_arguments(a)
    record = Record(Path(a.out), {k: getattr(a, k) for k in RECORDED})
    try:
        return run_stages(a, record, plan(a))
    finally:
        os.close(record.lock)


def run_stages(a: argparse.Namespace, record: Record, stages: list[Stage]) -> dict:
    """Each stage not finished before, in order, recorded as it starts and ends."""
    from boxlcd.cli import main
    from boxlcd.files import write_text

    out = Path(a.out)
    start = time.perf_counter()

    def say(text: str) -> None:
        print(f"[pipeline {clock(time.perf_counter() - start)}] {text}", flush=True)

    def write_summary() -> dict:
        content = summary(a, stages, record.stages)
        write_text(out / SUMMARY_FILE, json.dumps(content, indent=1))
        return content

    write_summary()
    for stage in stages:
        done = record.stages.get(stage.name, {})
        if record.finished(stage):
            say(f"{stage.name}: finished before ({clock(done.get('seconds', 0))})")
            continue
        before = done.get("seconds", 0.0)
        limit = f", time limit {clock(stage.limit_s)}" if stage.limit_s else ""
        say(f"{stage.name} started{' again' if done else ''}: boxlcd {' '.join(stage.argv)}{limit}")
        record.update(stage, "started", before)
        began = time.perf_counter()
        try:
            code = main(stage.argv)  # its errors are one line on stderr and a code
        except SystemExit as e:  # argparse refused the stage's options (and said why)
            code = e.code if isinstance(e.code, int) else 2
        except KeyboardInterrupt:
            code = 130
        record.update(stage, {0: "finished", 130: "stopped"}.get(code, "failed"),
                      before + time.perf_counter() - began)
        write_summary()
        if code == 130:
            say(f"{stage.name} stopped: run the same command again to go on from it")
            raise KeyboardInterrupt
        if code != 0:
            raise PipelineError(f"stage {stage.name} failed (boxlcd {' '.join(stage.argv[:2])} said why, above); "
                                "run the same command again to go on from it")
        say(f"{stage.name} finished in {clock(time.perf_counter() - began)}")
    content = write_summary()
    say(f"done: {out / SUMMARY_FILE}")
    return content


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("env", help="a robot env: Luxo, Urchin (body), LuxoCube, UrchinCube (cube), ...")
    p.add_argument("--task", choices=["body", "cube"], default="body", help="the goal (default body)")
    p.add_argument("--out", required=True, help="the pipeline's folder: data, models, policies, summary.json")
    p.add_argument("--budget", type=float, default=30.0,
                   help="minutes the training stages share (default 30; the split is in the description)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of model and PPO (default 2: one fine-tune)")
    p.add_argument("--obs", choices=["state", "pixels"], default="state",
                   help="what the policies read: state (the proprio, default) or pixels (the frames only)")
    p.add_argument("--episodes", type=int, default=10_000, help="random-action episodes (default 10000)")
    p.add_argument("--policy-episodes", type=int, default=5_000,
                   help="the policy's own episodes per later round (default 5000)")
    p.add_argument("--test-episodes", type=int, default=256, help="held-out episodes scoring the models (default 256)")
    p.add_argument("--eval-episodes", type=int, default=1000,
                   help="episodes per success measurement, in the engine and in the model (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="the models' and PPO's seed (default 0)")
    p.add_argument("--device", default=None, help="torch device of every stage (default: each command's own)")
    p.add_argument("--threads", type=int, default=1, help="torch and env threads per stage (default 1)")
    p.add_argument("--set", dest="model_set", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="a frame transformer setting of every round's model beyond the learned-sim preset, "
                        "e.g. context=16 (repeatable)")
    p.add_argument("--split", default=SPLIT_TEXT, metavar="MODEL,FINETUNE,PPO",
                   help="the training stages' weights in the budget: the first model, each fine-tune, each PPO run "
                        f"(default {SPLIT_TEXT})")
    p.add_argument("--ppo-set", dest="ppo_set", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                   help="an rl train --set setting of every round's PPO, e.g. net=[128,128,128] (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="only the stage lines, no progress bars")


def run(a: argparse.Namespace) -> None:
    run_pipeline(a)
