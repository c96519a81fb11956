"""`boxlcd rl train|eval|plot|pipeline`: the subcommands, each module's own options."""
from __future__ import annotations

import argparse
import importlib

import stable_baselines3  # noqa: F401 (imported first: without it or torch, `boxlcd rl` says what to install)

COMMANDS = {
    "train": ("boxlcd.rl.train", "PPO on a goal task, in the real env or a learned one"),
    "eval": ("boxlcd.rl.evaluate", "a policy's success over episodes of the real env: eval.json, eval.gif"),
    "plot": ("boxlcd.rl.plot", "success against env steps and wall clock for runs, as a PNG"),
    "pipeline": ("boxlcd.rl.pipeline", "the learned-simulator loop: a model and PPO in it, in rounds"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="rl_command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        m = importlib.import_module(module)
        c = sub.add_parser(name, help=help_text, description=m.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        m.add_arguments(c)
        c.set_defaults(rl_run=m.run)


def run(a: argparse.Namespace) -> None:
    a.rl_run(a)
