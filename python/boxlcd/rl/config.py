"""The settings of `boxlcd rl train`, one dataclass per concern.

Each field holds its default, its help and its range; `rl train`'s options are generated from
the fields, and a run's run.json is RunConfig's dict. A run.json written before a setting
existed lacks its key: RunConfig.from_json fills in the value the setting had then (`before`).

    config = RunConfig(env="Luxo", task="body", steps=60_000, lr=1e-3)
    boxlcd.rl.train.train(config, TrainOptions(out="runs/ppo-luxo"))
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import MISSING, dataclass, field, fields

from boxlcd.options import key_value
from boxlcd.ranges import MAX_THREADS, check_ranges
from boxlcd.tasks import NEAR_GAP, TASKS, THRESHOLD

MAX_EP_LEN = 100_000
OBS = ("state", "pixels")  # what a policy reads (boxlcd.rl.sb3.policy_keys)
MAX_LAYERS, MAX_WIDTH = 8, 4096  # the policy's net: larger is a typo (or a file built to exhaust memory)


def setting(default=MISSING, help: str = "", *, low=None, high=None, above: bool = False, option: str | None = "flag",
            before=MISSING, aid: bool = False, kind=None):
    """A field with its metadata. low/high: its range (boxlcd.ranges; an int low makes it a count;
    `above`: low itself is refused); the highs bound what a setting can build or run, as a
    run.json is a file a user may be sent. option: "flag" (its own --flag), "set" (--set
    KEY=VALUE) or None (not an option). before: its value in a run.json older than it. aid:
    only eases training (shaping, curriculum, a learned sim's noise): off when a policy is
    measured. kind: the flag's type where the default does not tell it."""
    meta = {"help": help, "option": option, "aid": aid, "kind": kind}
    if low is not None:
        meta["range"] = (low, high, not above)
    if before is not MISSING:
        meta["before"] = before
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class TaskConfig:
    """The goal task (boxlcd.tasks) and what eases learning it."""

    env: str = setting(help="a robot env: Urchin, Luxo, UrchinCube, LuxoCube, ...")
    task: str = setting("body", "body or cube", kind=TASKS)
    threshold: float = setting(THRESHOLD, "success when delta is below it", low=0.0, high=2.0, above=True)
    ep_len: int | None = setting(None, "steps before a timeout (none: the env's ep_len)", low=1, high=MAX_EP_LEN, kind=int)
    reach: float = setting(0.0, "cube task: reward reach x the step's approach of the robot to the object (0: none)",
                           low=0.0, high=1e6, before=0.0, aid=True)
    reach_behind: float = setting(0.0, "cube task: draw the robot to this far behind the object, seen from the goal "
                                  "(x units)", low=0.0, high=2.0, before=0.0, aid=True)
    start_near: float = setting(0.0, "cube task: the share of episodes that start with the robot behind the object "
                                "(curriculum)", low=0.0, high=1.0, before=0.0, aid=True)
    near_spread: float = setting(0.0, f"cube task: draw those starts' robot-object gap from [{NEAR_GAP}, {NEAR_GAP} + "
                                 f"this] (0: always {NEAR_GAP})", low=0.0, high=2.0, before=0.0, aid=True)
    near_ahead: float = setting(0.0, "cube task: the share of those starts with the robot on the goal's side of the "
                                "object", low=0.0, high=1.0, before=0.0, aid=True)


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """Where the task runs: the engine or a learned simulator, and on what."""

    sim: str = setting("real", "real (the engine), a world model's run folder, or several joined by ',' (an ensemble)")
    temperature: float = setting(0.0, "a learned sim's sampling temperature", low=0.0, high=10.0)
    sim_noise: float = setting(0.0, "std of noise on a learned sim's predicted proprio while training (LearnedEnv's "
                               "noise)", low=0.0, high=1.0, before=0.0, aid=True)
    device: str = setting("cpu", "torch device of the policy and a learned sim")
    env_threads: int = setting(1, "threads stepping a real env", low=0, high=MAX_THREADS)


@dataclass(frozen=True, kw_only=True)
class PPOConfig:
    """PPO (stable-baselines3) and the policy's net. The defaults trained both robots here."""

    steps: int = setting(5_000_000, "env steps in all", low=1, high=10**12)
    seed: int = setting(0, "seeds the envs, the goals and the policy", low=0, high=2**62)
    num_envs: int = setting(128, "envs stepped together", low=1, high=65536)
    n_steps: int = setting(64, "steps per env per rollout", low=1, high=100_000, option="set")
    batch_size: int = setting(2048, "minibatch size of an update", low=1, high=10**7, option="set")
    n_epochs: int = setting(5, "passes over a rollout per update", low=1, high=1000, option="set")
    lr: float = setting(3e-4, "Adam's learning rate", low=0.0, high=1.0, above=True, option="set")
    lr_end: float = setting(1.0, "the lr at --steps, as a fraction of lr: linear decay from lr (1.0: constant)",
                            low=0.0, high=1.0, option="set", before=1.0)
    gamma: float = setting(0.99, "discount", low=0.0, high=1.0, above=True, option="set")
    gae_lambda: float = setting(0.95, "GAE's lambda", low=0.0, high=1.0, option="set")
    ent_coef: float = setting(0.0, "entropy bonus", low=0.0, high=100.0, option="set")
    net: list = setting([256, 256, 256], f"hidden layer widths of the policy and value nets (1 to {MAX_LAYERS} "
                        f"layers of 1 to {MAX_WIDTH})", option="set")
    log_std_init: float = setting(-0.5, "the actions' initial log standard deviation", low=-20.0, high=2.0,
                                  option="set")
    history: int = setting(3, "steps of proprio the policy sees (boxlcd.rl.sb3.SB3VecEnv)", low=1, high=64,
                           option="set", before=1)
    precision: str = setting("fp32", "fp32, or bf16: the nets' hidden layers under autocast (boxlcd.rl.precision)",
                             option="set", before="fp32")
    obs: str = setting("state", "what the policy reads: state (proprio and goal vectors) or pixels (the frame and "
                       "the goal's frame only, boxlcd.rl.sb3.PolicyInput)", kind=OBS, before="state")
    encoder: str = setting("mlp", "pixels: how the nets read the frames: mlp (each net's first layer reads the bits) "
                           "or conv (a small conv net both share, boxlcd.rl.encoder)", option="set", before="mlp")
    init: str | None = setting(None, "a PPO run folder whose policy weights this run starts from (same env, task, "
                               "obs, history, net and encoder)", kind=str, before=None)


@dataclass(frozen=True, kw_only=True)
class RunConfig(PPOConfig, SimConfig, TaskConfig):
    """A PPO run's settings, what its run.json holds. In run.json `sim` is "real" or the run's
    own copies of its learned sim's models (sim/0,sim/1, ...) and `sim_from` where they came from."""

    sim_from: str | None = setting(None, "the learned sim's model folders the run copied", option=None, before=None)

    def check(self) -> None:
        """A clear error for settings that PPO, the task or the engine would fail on or that
        would build something absurd."""
        import boxlcd
        from boxlcd.rl.encoder import check_encoder
        from boxlcd.rl.precision import policy_class

        check_fields(self)
        if self.env not in boxlcd.envs():
            raise ValueError(f"env {self.env!r} is not a built-in env")
        if self.task not in TASKS:
            raise ValueError(f"task {self.task!r} is not a task ({', '.join(TASKS)})")
        for name in ("sim_from", "init"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string or null, got {getattr(self, name)!r}")
        if self.obs not in OBS:
            raise ValueError(f"obs must be one of {', '.join(OBS)}, got {self.obs!r}")
        policy_class(self.precision)
        check_encoder(self.encoder, self.obs)
        net = self.net
        if (not isinstance(net, list) or not 1 <= len(net) <= MAX_LAYERS
                or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= MAX_WIDTH for w in net)):
            raise ValueError(f"net must be a list of 1 to {MAX_LAYERS} layer widths in [1, {MAX_WIDTH}], got {net!r}")

    @classmethod
    def from_json(cls, data: dict) -> RunConfig:
        """The settings a run.json holds, checked. A key the file lacks takes the value its
        setting had before it existed; a file without one of the first settings, or with a key
        no setting has, is refused by name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown settings {', '.join(unknown)}")
        missing = [f.name for f in fields(cls) if f.name not in data and "before" not in f.metadata]
        if missing:
            raise ValueError(f"no {', '.join(missing)}")
        config = cls(**{f.name: data.get(f.name, f.metadata.get("before")) for f in fields(cls)})
        config.check()
        return config

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def the_task(self) -> RunConfig:
        """These settings with what only eases training turned off: the task a policy is measured on."""
        return dataclasses.replace(self, **{f.name: 0.0 for f in fields(self) if f.metadata["aid"]})


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How one `rl train` call runs: not part of the run, free to differ when it resumes."""

    out: str | os.PathLike = setting(help="the run folder", kind="path")
    time_limit: float = setting(0.0, "stop after this many seconds (0: none)", low=0.0)
    ckpt_every: float = setting(60.0, "seconds between checkpoints", low=0.0)
    threads: int = setting(1, "torch CPU threads", low=1, high=MAX_THREADS)
    keep: bool = setting(False, "keep every checkpoint too, as checkpoints/ENV_STEPS.zip (rl eval --checkpoints "
                         "scores them)")
    quiet: bool = setting(False, "no progress bar")

    def check(self) -> None:
        check_fields(self)


def check_fields(config) -> None:
    """Raises ValueError naming the first field out of its range or not of its kind."""
    for f in fields(config):
        value, meta = getattr(config, f.name), f.metadata
        if value is None and f.default is None:
            continue
        if "range" in meta:
            check_ranges({f.name: value}, {f.name: meta["range"]})
        elif meta["kind"] == "path":
            if not isinstance(value, (str, os.PathLike)):
                raise ValueError(f"{f.name} must be a path, got {value!r}")
        elif f.type in ("str", "bool") and type(value).__name__ != f.type:
            raise ValueError(f"{f.name} must be a {'string' if f.type == 'str' else 'true or false'}, got {value!r}")


# -- the command line ------------------------------------------------------------------------
def set_keys(cls) -> list[str]:
    """The settings `--set KEY=VALUE` takes."""
    return [f.name for f in fields(cls) if f.metadata["option"] == "set"]


def add_options(p: argparse.ArgumentParser, cls) -> None:
    """One option per field of `cls` whose option is "flag", `-q/--quiet` for quiet, and
    `--set KEY=VALUE` for the fields whose option is "set"; every help names its default."""
    for f in fields(cls):
        meta = f.metadata
        if meta["option"] != "flag":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.default is MISSING:
            p.add_argument(flag, required=True, help=meta["help"])
        elif isinstance(f.default, bool):
            p.add_argument(*(["-q"] if f.name == "quiet" else []), flag, action="store_true", help=meta["help"])
        elif isinstance(meta["kind"], tuple):
            p.add_argument(flag, choices=meta["kind"], default=f.default, help=f"{meta['help']} (default {f.default})")
        else:
            p.add_argument(flag, type=meta["kind"] or type(f.default), default=f.default,
                           help=f"{meta['help']} (default {shown(f.default)})")
    settings = [f for f in fields(cls) if f.metadata["option"] == "set"]
    if settings:
        listed = "; ".join(f"{f.name}: {f.metadata['help']} (default {shown(default(f))})" for f in settings)
        p.add_argument("--set", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                       help=f"a PPO setting, JSON where the text is JSON. {listed}")


def default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not MISSING else f.default


def shown(value) -> str:
    """A default as --help prints it: 5_000_000, not 5000000."""
    return "none" if value is None else f"{value:_}" if type(value) is int else str(value)


def from_options(cls, a: argparse.Namespace):
    """A `cls` of the parsed options: its flags' values and `--set`'s; an unknown --set key is
    refused by name."""
    values = {f.name: getattr(a, f.name) for f in fields(cls) if f.metadata["option"] == "flag"}
    keys = set_keys(cls)
    for key, value in getattr(a, "set", []) if keys else []:
        if key not in keys:
            raise ValueError(f"unknown PPO setting {key!r}; settings: {', '.join(keys)}")
        values[key] = value
    return cls(**values)
