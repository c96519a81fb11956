"""The `boxlcd` command: envs, datasets and world models.

    boxlcd list                          the built-in envs with their sizes
    boxlcd info Urchin                   spaces, key names and settings of one env
    boxlcd demo Urchin --out urchin.gif  an episode as a GIF (LCD beside a high-resolution render)
    boxlcd bench Urchin Bounce           env steps per second
    boxlcd play Urchin                   a window: ESC quit, SPACE pause, RIGHT step, 0 reset
    boxlcd collect Bounce --episodes 10000 --out data/bounce   a dataset (see docs/datasets.md)
    boxlcd dataset info data/bounce      what a dataset holds
    boxlcd dataset show data/bounce --episode 3 --out ep.gif
    boxlcd train frame_transformer --data data/bounce --out runs/bounce   a world model (docs/models.md)
    boxlcd eval runs/bounce --data data/bounce_test                       eval.json, eval.md, rollout.gif
    boxlcd results runs/bounce --test Bounce=data/bounce_test             a table with the baselines
    boxlcd rl train --env Luxo --task body --sim real --out runs/ppo-luxo PPO on a goal task (docs/learned-sims.md)
    boxlcd rl eval runs/ppo-luxo --episodes 1000                          its success in the real env

Every command that makes an env takes settings as --set KEY=VALUE (ep_len, walls, lcd_base, ...).
An error is one line on stderr and exit code 2; BOXLCD_TRACEBACK=1 adds the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from pathlib import Path

import numpy as np

import boxlcd
from boxlcd import demo, render
from boxlcd.options import key_value
from boxlcd.ranges import MAX_THREADS, check_ranges

# The world-model commands live in boxlcd.models, which needs torch: a module is imported, and
# its options added, only when its command runs, so the rest works without torch.
MODEL_COMMANDS = {
    "train": ("boxlcd.models.train", "train a world model on a dataset (docs/models.md)"),
    "eval": ("boxlcd.models.evaluate", "evaluate a model on held-out episodes: eval.json, eval.md, rollout.gif"),
    "results": ("boxlcd.models.results", "a results table over checkpoints, with the calibration baselines"),
    "rl": ("boxlcd.rl.cli", "PPO in the engine or a learned sim: train, eval, plot, pipeline (docs/learned-sims.md)"),
}
MODELS_EXTRA = "pip install torch==2.13.0 '.[models,rl]'"


def _env_name(text: str) -> str:
    if text not in boxlcd.envs():
        raise argparse.ArgumentTypeError(f"unknown env {text!r}; envs: {', '.join(boxlcd.envs())}")
    return text


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


MAX_SCALE = 32  # screen pixels per LCD pixel: a 32x64 frame at 32 is 1024x2048 already, per GIF frame


def _scale(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be in [1, {MAX_SCALE}], got {value}")
    return value


def _seconds(text: str) -> float:
    """A bench figure's time: finite and positive (NaN never ends the timing loop), an hour at most."""
    value = float(text)
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise argparse.ArgumentTypeError(f"must be a number of seconds in (0, 3600], got {text}")
    return value


def _fps(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and render.MIN_FPS <= value <= render.MAX_FPS):
        raise argparse.ArgumentTypeError(f"must be a number in [{render.MIN_FPS:g}, {render.MAX_FPS:g}], got {text}")
    return value


def cmd_list(args) -> None:
    print(f"{'env':<12} {'frame':>7} {'state':>5} {'proprio':>7} {'actions':>7} {'ep_len':>6} {'fps':>3}")
    for name in boxlcd.envs():
        e = boxlcd.make(name)
        rows, cols = e.frame_shape
        print(f"{name:<12} {f'{rows}x{cols}':>7} {len(e.state_keys):>5} {len(e.proprio_keys):>7} "
              f"{e.action_size:>7} {e.definition.ep_len:>6} {e.definition.fps:>3}")


def cmd_info(args) -> None:
    overrides = dict(args.set)
    e = boxlcd.make(args.env, **overrides)
    d = e.definition
    print(f"{d.name}: {len(d.robots)} robot(s) {[r.type for r in d.robots]}, {len(d.objects)} object(s)")
    print(f"  world {d.width:g} x {d.height:g} m, walls={d.walls}, fps={d.fps}, ep_len={d.ep_len}, "
          f"lcd_base={d.lcd_base}, raster={d.raster.name.lower()}")
    try:
        from boxlcd.gym_env import GymEnv

        g = GymEnv(args.env, **overrides)
        print(f"  gymnasium id: boxlcd/{args.env}-v0")
        print(f"  observation_space: {g.observation_space}")
        print(f"  action_space: {g.action_space}")
    except ImportError:
        print(f"  frame {e.frame_shape} packed to {tuple(e.batch.frames.shape[1:])} bytes")
    for title, keys in (("full_state", e.state_keys), ("proprio", e.proprio_keys), ("actions", e.action_keys)):
        print(f"  {title} ({len(keys)}): {', '.join(keys)}")


def cmd_demo(args) -> None:
    overrides = dict(args.set)
    to_folder = len(args.envs) > 1 or not args.out.lower().endswith(".gif")
    if to_folder:
        os.makedirs(args.out, exist_ok=True)
    for name in args.envs:
        path = os.path.join(args.out, f"{name}.gif") if to_folder else args.out
        pictures = demo.episode_pictures(name, seed=args.seed, scale=args.scale, actions=args.actions,
                                         progress=not args.quiet, **overrides)
        fps = args.fps if args.fps is not None else boxlcd.make(name, **overrides).definition.fps
        render.write_gif(path, pictures, fps)
        print(f"wrote {path} ({len(pictures)} frames, {os.path.getsize(path) / 1024:.0f} KiB)")


def cmd_bench(args) -> None:
    from tqdm import tqdm

    overrides = dict(args.set)
    runs = [(name, n, t) for name in args.envs for n in args.num_envs for t in args.threads]
    results = []
    for name, n, t in tqdm(runs, desc="bench", unit="run", disable=args.quiet):
        results.append(demo.steps_per_second(name, n, t, args.seconds, frames=not args.no_frames, **overrides))
    what = "state only" if args.no_frames else "frames + state"
    print(f"env steps/s (random actions, {what}), {os.cpu_count()} cores")
    print(f"{'env':<12} {'num_envs':>8} {'threads':>7} {'steps/s':>12}")
    for (name, n, t), sps in zip(runs, results):
        print(f"{name:<12} {n:>8} {t:>7} {sps:>12,.0f}")


def cmd_play(args) -> int:
    if not render.has_display():
        print("boxlcd play needs a display (DISPLAY or WAYLAND_DISPLAY is unset); "
              "`boxlcd demo ENV --out env.gif` writes a GIF instead", file=sys.stderr)
        return 1
    steps = demo.play(args.env, seed=args.seed, scale=args.scale, actions=args.actions,
                      max_steps=args.max_steps, **dict(args.set))
    print(f"played {steps} steps")
    return 0


def cmd_collect(args) -> None:
    from boxlcd.dataset import collect

    ray = None if args.ray is None else (True if args.ray == "local" else args.ray)
    policy = args.policy
    if policy.startswith("ppo:"):  # a PPO run's policy: loading it is boxlcd.rl's, not the dataset's
        from boxlcd.rl.actor import ppo_policy

        policy = ppo_policy(policy)
    path = collect(args.env, args.episodes, args.out, policy=policy, seed=args.seed,
                   shard_size=args.shard_size, resume=args.resume, num_threads=args.threads, ray=ray,
                   progress=not args.quiet, **dict(args.set))
    print(f"wrote {path}")


def cmd_dataset_info(args) -> None:
    from boxlcd.dataset import Episodes

    data = Episodes(args.path, verify=not args.no_verify)
    m = data.manifest
    size = sum((data.path / entry["name"] / f"{name}.npy").stat().st_size
               for entry in m["shards"] for name in entry["files"])  # the listed files only
    env = m["env"] + (" with " + ", ".join(f"{k}={v}" for k, v in m["overrides"].items()) if m["overrides"] else "")
    shards = f"{data.num_shards} shard{'s' if data.num_shards != 1 else ''}"
    print(f"{data.path}: {env}, {len(data)} episodes of {data.ep_len} steps in {shards}, {size / 2**20:.1f} MiB, "
          f"checksums {'not checked' if args.no_verify else 'ok'}")
    print(f"  policy {m['policy']}, seed {m['seed']}, boxlcd {m['boxlcd_version']}")
    ep = data.episode(0)
    for name in ("frames", "actions", "full_state", "proprio"):
        print(f"  {name}: ({len(data)}, {', '.join(map(str, ep[name].shape))}) {ep[name].dtype}")
    print(f"  frame {data.frame_shape[0]}x{data.frame_shape[1]}, packed {ep['frames'].shape[-1]} bytes per row")


def cmd_dataset_show(args) -> None:
    from boxlcd.dataset import Episodes

    data = Episodes(args.path)
    rows, cols = data.frame_shape
    render.check_pictures_fit(data.ep_len + 1, rows * cols * args.scale ** 2 * 3, f"an episode at scale {args.scale}")
    frames = data.episode(args.episode)["frames"]
    pictures = [render.lcd_picture(np.asarray(f), data.frame_shape[1], args.scale) for f in frames]
    render.write_gif(args.out, pictures, data.manifest["fps"])
    print(f"wrote {args.out} (episode {args.episode}, {len(pictures)} frames)")


def _env_folder(text: str) -> tuple[str, str]:
    env, sep, folder = text.partition("=")
    if not sep or not folder:
        raise argparse.ArgumentTypeError(f"expected ENV=FOLDER, got {text!r}")
    return _env_name(env), folder


def cmd_voe_make(args) -> None:
    from boxlcd import voe

    envs = list(dict.fromkeys(e.strip() for e in args.envs.split(",") if e.strip()))  # each once
    if not envs:
        raise ValueError(f"--envs names no env, got {args.envs!r}: give comma-separated envs with an object or a "
                         "robot, e.g. Dropbox,Bounce,Luxo")
    for e in envs:
        if e not in boxlcd.envs():
            raise ValueError(f"unknown env {e!r}; envs: {', '.join(boxlcd.envs())}")
    violations = args.violations.split(",") if args.violations else None
    voe.check_violations(violations)
    for env in envs:
        content = voe.make_suite(env, Path(args.out) / env, pairs=args.pairs, seed=args.seed, violations=violations)
        counts = {k: sum(v[k] for v in content["summary"].values()) for k in ("kept", "dropped_invisible", "no_moment")}
        print(f"{env}: {counts['kept']} pairs kept, {counts['dropped_invisible']} dropped (difference not visible), "
              f"{counts['no_moment']} without a moment for their violation -> {Path(args.out) / env}")


def cmd_voe_show(args) -> None:
    from boxlcd import voe

    pictures, pair = voe.pair_pictures(args.suite, args.violation, args.scale)
    fps = voe.load_suite(args.suite)[1]["possible"].manifest["fps"]
    render.write_gif(args.out, pictures, fps)
    print(f"wrote {args.out} (pair {pair['pair']}, {args.violation} at frame {pair['t_star']})")


def cmd_voe_eval(args) -> None:
    try:
        from boxlcd import voe
        import torch  # noqa: F401
    except ModuleNotFoundError as e:
        raise ImportError(f"needs torch and the models extra ({e}): {MODELS_EXTRA}") from e
    if not (args.runs or args.fit or args.untrained or args.engine):
        raise ValueError("nothing to score: give runs, --fit, --untrained or --engine")
    try:
        rows = voe.evaluate_suite(args.runs, args.suite, args.out, fit=dict(args.fit), untrained=args.untrained,
                                  engine=args.engine, device=args.device)
    except ModuleNotFoundError as e:  # scipy, matplotlib, ignite: imported where used
        raise ImportError(f"{e}: install the models extra ({MODELS_EXTRA})") from e
    print(voe.markdown(rows))
    print(f"wrote {Path(args.out) / 'voe.json'}, voe.md and voe.png")


def models_module(command: str):
    try:
        return importlib.import_module(MODEL_COMMANDS[command][0])
    except ModuleNotFoundError as e:
        raise ImportError(f"needs torch and the models extra ({e}): {MODELS_EXTRA}") from e


def cmd_models(args) -> None:
    if args.command == "train":  # refused before any process starts
        check_ranges({"threads": args.threads}, {"threads": (1, MAX_THREADS, True)})
        if args.nproc > 1:
            from boxlcd.models import distributed
            from boxlcd.models.train import default_device

            distributed.check_nproc(args.nproc, args.device or default_device(), name="--nproc")
    try:
        models_module(args.command).run(args)
    except ModuleNotFoundError as e:  # ignite or pillow, imported where used
        raise ImportError(f"{e}: install the models extra ({MODELS_EXTRA})") from e


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line, as every other error of the command."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def parser(model_command: str | None = None) -> argparse.ArgumentParser:
    """The command line, with the options of `model_command` (one of MODEL_COMMANDS) when given."""
    p = Parser(prog="boxlcd", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"boxlcd {boxlcd.__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help_text, fn):
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.set_defaults(fn=fn)
        return c

    def settings(c):
        c.add_argument("-s", "--set", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                       help="an env setting (ep_len, walls, lcd_base, wh_ratio, ...); repeatable")

    command("list", "the built-in envs with their sizes", cmd_list)
    c = command("info", "spaces, key names and settings of one env", cmd_info)
    c.add_argument("env", type=_env_name)
    settings(c)
    c = command("demo", "episodes as GIFs: the LCD upscaled beside a high-resolution render", cmd_demo)
    c.add_argument("envs", nargs="+", type=_env_name, metavar="ENV")
    c.add_argument("--out", default="demo", help="a .gif file for one env, else a folder (default: demo)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--scale", type=_scale, default=8,
                   help=f"screen pixels per LCD pixel (default 8, at most {MAX_SCALE})")
    c.add_argument("--actions", choices=demo.ACTIONS, default="random")
    c.add_argument("--fps", type=_fps, default=None, help="GIF frame rate (default: the env's)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    settings(c)
    c = command("bench", "env steps per second under random actions", cmd_bench)
    c.add_argument("envs", nargs="+", type=_env_name, metavar="ENV")
    c.add_argument("--num-envs", type=_positive_int, nargs="+", default=[1, 256])
    c.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="0: all cores")
    c.add_argument("--seconds", type=_seconds, default=1.0, help="time per figure (default 1, at most 3600)")
    c.add_argument("--no-frames", action="store_true", help="state only, no rasterizing")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    settings(c)
    c = command("play", "a window stepping one env: ESC quit, SPACE pause, RIGHT step, 0 reset", cmd_play)
    c.add_argument("env", type=_env_name)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--scale", type=_scale, default=16)
    c.add_argument("--actions", choices=demo.ACTIONS, default="random")
    c.add_argument("--max-steps", type=_positive_int, default=None, help="stop after this many steps")
    settings(c)
    c = command("collect", "a dataset of episodes: packed frames, actions, states (docs/datasets.md)", cmd_collect)
    c.add_argument("env", type=_env_name)
    c.add_argument("--episodes", type=_positive_int, required=True)
    c.add_argument("--out", required=True, help="the dataset folder")
    c.add_argument("--policy", default="random",
                   help="random, zero, ppo:RUN (a PPO run's policy chasing its task's goals) or module:callable "
                        "(default random)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--shard-size", type=_positive_int, default=1000, help="episodes per shard (default 1000)")
    c.add_argument("--threads", type=int, default=0, help="threads stepping the envs (0: all cores)")
    c.add_argument("--resume", action="store_true", help="continue an interrupted collection")
    c.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="spread shards over a Ray cluster (a local one without ADDRESS)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    settings(c)
    data = sub.add_parser("dataset", help="look at a dataset", description="look at a dataset")
    data_sub = data.add_subparsers(dest="dataset_command", required=True, metavar="COMMAND")
    c = data_sub.add_parser("info", help="what a dataset holds")
    c.set_defaults(fn=cmd_dataset_info)
    c.add_argument("path")
    c.add_argument("--no-verify", action="store_true", help="skip the checksums")
    c = data_sub.add_parser("show", help="one episode as a GIF")
    c.set_defaults(fn=cmd_dataset_show)
    c.add_argument("path")
    c.add_argument("--episode", type=int, default=0)
    c.add_argument("--out", default="episode.gif")
    c.add_argument("--scale", type=_scale, default=8)
    voe = sub.add_parser("voe", help="violation-of-expectation suites: make them, score models on them",
                         description="violation-of-expectation suites (boxlcd/voe.py, docs/voe.md)")
    voe_sub = voe.add_subparsers(dest="voe_command", required=True, metavar="COMMAND")
    c = voe_sub.add_parser("make", help="matched possible/impossible pairs per env and violation type")
    c.set_defaults(fn=cmd_voe_make)
    c.add_argument("--envs", required=True,
                   help="comma-separated envs with an object or a robot, e.g. Dropbox,Bounce,UrchinCube,Luxo")
    c.add_argument("--out", required=True, help="folder; one suite per env in OUT/ENV")
    c.add_argument("--pairs", type=_positive_int, default=64, help="pairs per env and violation type (default 64)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--violations", default=None, help="comma-separated types (default: all)")
    c.add_argument("-q", "--quiet", action="store_true", help="taken as by the other commands (voe make draws no bar)")
    c = voe_sub.add_parser("show", help="one pair of a violation as a GIF: possible left, impossible right")
    c.set_defaults(fn=cmd_voe_show)
    c.add_argument("suite", help="one env's suite (OUT/ENV of voe make)")
    c.add_argument("--violation", required=True)
    c.add_argument("--out", required=True, help="a .gif file")
    c.add_argument("--scale", type=_scale, default=8)
    c = voe_sub.add_parser("eval", help="surprise of models on a suite: pairwise accuracy and ROC-AUC")
    c.set_defaults(fn=cmd_voe_eval)
    c.add_argument("runs", nargs="*", metavar="RUN", help="trained runs (boxlcd train) of the suite's envs")
    c.add_argument("--suite", required=True, help="a folder of `boxlcd voe make`, or one env's suite in it")
    c.add_argument("--out", required=True, help="folder for voe.json, voe.md and voe.png")
    c.add_argument("--fit", action="append", default=[], type=_env_folder, metavar="ENV=DATA",
                   help="add the marginal, copy-last and constant-velocity controls of ENV, fit on dataset DATA")
    c.add_argument("--untrained", action="store_true", help="add an untrained frame transformer per env")
    c.add_argument("--engine", action="store_true", help="add the engine itself (the posterior oracle) per env")
    c.add_argument("--device", default="cpu")
    for name, (_, help_text) in MODEL_COMMANDS.items():
        c = command(name, help_text, cmd_models)
        if name == model_command:
            module = models_module(name)
            c.description, c.formatter_class = module.__doc__, argparse.RawDescriptionHelpFormatter
            module.add_arguments(c)
    return p


# Errors that carry a message written for the user: printed as they are. Any other exception
# (KeyError, AssertionError, zipfile.BadZipFile, ...) is a bug or an unforeseen input, printed
# with its type so that it can be told apart and reported.
USER_ERRORS = (ValueError, TypeError, ImportError, RuntimeError, OSError, IndexError)
MAX_LINE = 2000  # characters: torch's messages can list every key of a model


def wants_traceback() -> bool:
    """Whether BOXLCD_TRACEBACK asks for tracebacks (for debugging) beside the one-line errors."""
    return os.environ.get("BOXLCD_TRACEBACK", "") not in ("", "0")


def error_line(e: BaseException) -> str:
    """An error as one line; advice to resume names this interface's flag, not the Python API's."""
    problem = getattr(e, "resume_problem", None)
    text = f"{problem}; continue it with `boxlcd collect` and the same arguments plus --resume" if problem else str(e)
    if not isinstance(e, USER_ERRORS) or not text.strip():
        text = f"{type(e).__name__}: {text}" if text.strip() else type(e).__name__
        if not wants_traceback():
            text += " (BOXLCD_TRACEBACK=1 shows where)"
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns its exit code: 0, 2 for an error (one line on stderr), 130 for
    Ctrl-C. argparse's own errors exit through SystemExit(2), also with one line."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        p = parser(command if command in MODEL_COMMANDS else None)
        args = p.parse_args(argv)
        command = args.command
        return args.fn(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError as e:
        if not stdout_is_gone():
            return report(e, command)
        return 1  # the reader went away (`boxlcd info X | head -1`): nobody to tell
    except Exception as e:
        return report(e, command)


def report(e: Exception, command: str | None) -> int:
    """The error as one line on stderr (with BOXLCD_TRACEBACK=1, the traceback first); returns 2."""
    if wants_traceback():
        import traceback

        traceback.print_exc()
    print(f"{' '.join(['boxlcd'] + ([command] if command else []))}: {error_line(e)}", file=sys.stderr)
    return 2


def stdout_is_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone; if so stdout is pointed at nothing, or
    Python would report the pipe again when it flushes stdout at exit."""
    import select

    try:
        fd = sys.stdout.fileno()
        poll = select.poll()  # a pipe with no reader polls as an error (POSIX)
        poll.register(fd, select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or stdout is no file
        return False
    if gone:
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return gone


if __name__ == "__main__":
    sys.exit(main())
