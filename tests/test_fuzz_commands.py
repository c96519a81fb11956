"""Bounded fuzz of what a user types and what a user is sent: bad values for every flag of
every command, tampered files of every kind (dataset manifests and shards, VoE suites, PPO run
folders, checkpoints) loaded by the commands that read them, and bad LearnedEnv and goal-task
settings over a learned env.

A command case passes when it exits 0, or exits non-zero with exactly one line on stderr and no
traceback; a Python case when it raises a clean exception or its observations stay finite and
inside their space. The cases are drawn with a fixed seed and count (tests/fuzzing.py runs
them, a chunk per child interpreter), over good files the fixture makes once.
"""
from __future__ import annotations

import argparse
import os
import random

import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from fuzzing import CHECK, check_results, run_cases  # noqa: E402

SEED = 36
CHUNK = 40
TIMEOUT = int(os.environ.get("BOXLCD_FUZZ_TIMEOUT", "240"))

CHILD = r'''
import contextlib, io, json, math, os, random, shutil, tempfile, warnings, zipfile
from pathlib import Path
import numpy as np
import torch

warnings.simplefilter("ignore")
FIX = Path(os.environ["BOXLCD_FUZZ_FILES"])
WORK = Path(tempfile.mkdtemp(dir=os.environ["BOXLCD_FUZZ_WORK"]))
os.chdir(WORK)  # a flag's bad value used as a path lands here
nan, inf = float("nan"), float("inf")
''' + CHECK + r'''

class CommandError(ValueError):
    """A command that refused its input cleanly: non-zero exit, one line, no traceback."""


CLEAN = (ValueError, TypeError, RuntimeError, MemoryError, OverflowError, FileNotFoundError, CommandError)
_count = [0]


def out(name="out"):
    _count[0] += 1
    return WORK / f"{name}{_count[0]}"


def cli(*argv):
    from boxlcd.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
    text = err.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    if "Traceback" in text:
        raise Unfit(f"a traceback: {text[-1500:]}")
    if code:
        if len(lines) != 1:
            raise Unfit(f"exit {code} with {len(lines)} lines on stderr: {text[-1200:]}")
        raise CommandError(lines[0])


def copy(kind):
    dst = out(kind)
    shutil.copytree(FIX / kind, dst)
    return dst


# -- tampering: each picks what it changes with random.Random(seed), over the good files ----------
BAD_JSON = [None, -1, 0, 1.5, 1e308, nan, -inf, "", "../../x", "/etc/passwd", [], {}, True, "Bounce", 2**70,
            [1e9], {"a": 1}, "zero", [-1, 0]]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield from _paths(v, path + (i,))


def _set(value, path, new):
    if not path:
        return new
    value[path[0]] = _set(value[path[0]], path[1:], new)
    return value


def json_file(path, seed):
    """Replaces one value (or key) of a JSON file, drawn with the seed."""
    rng = random.Random(seed)
    data = json.loads(Path(path).read_text())
    where = rng.choice(list(_paths(data)))
    if rng.random() < 0.15 and where:
        parent = _set(data, (), data)
        for k in where[:-1]:
            parent = parent[k]
        if isinstance(parent, dict):
            del parent[where[-1]]
    else:
        data = _set(data, where, rng.choice(BAD_JSON))
    Path(path).write_text(json.dumps(data))
    return where


def ckpt_file(path, seed):
    """Replaces one value of a checkpoint that is not a tensor, drawn with the seed."""
    rng = random.Random(seed)
    ckpt = torch.load(path, weights_only=True)
    plain = {k: v for k, v in ckpt.items() if k in ("model_name", "spec", "model_config", "run", "step", "elapsed")}
    where = rng.choice([p for p in _paths(plain) if p])
    _set(ckpt, where, rng.choice(BAD_JSON))
    torch.save(ckpt, path)
    return where


def truncate(path, seed):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:random.Random(seed).randrange(len(data))])


def flip(path, seed):
    """Flips one byte, drawn with the seed."""
    data = bytearray(Path(path).read_bytes())
    i = random.Random(seed).randrange(len(data))
    data[i] ^= 0xFF
    Path(path).write_bytes(bytes(data))


def learned(env, steps=4):
    """Resets and steps a learned env or goal task with random actions; checks every observation."""
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=1)
    check(obs, env.single_observation_space, "reset")
    for t in range(steps):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
        check(obs, env.single_observation_space, f"step {t}")


from boxlcd.learned import LearnedEnv  # noqa: E402
from boxlcd.tasks import make_task  # noqa: E402
'''

# -- what the fixture makes, and commands that read each kind ------------------------------------
# Sources are Python in the child: FIX is the folder of good files, out() a fresh folder.
DATA = "FIX / 'data'"
BASE = {  # each command with tiny budgets, valid as it is
    "list": "'list'",
    "info": "'info', 'Urchin'",
    "demo": "'demo', 'Dropbox', '--out', out() / 'd.gif', '--set', 'ep_len=3', '-q'",
    "bench": "'bench', 'Dropbox', '--num-envs', '2', '--threads', '1', '--seconds', '0.01', '-q'",
    "collect": "'collect', 'Urchin', '--episodes', '2', '--out', out(), '--set', 'ep_len=4', '-q'",
    "dataset info": f"'dataset', 'info', {DATA}",
    "dataset show": f"'dataset', 'show', {DATA}, '--out', out() / 'e.gif'",
    "voe make": "'voe', 'make', '--envs', 'Dropbox', '--out', out(), '--pairs', '1', '--violations', 'teleport'",
    "voe show": "'voe', 'show', FIX / 'suite', '--violation', 'teleport', '--out', out() / 'v.gif'",
    "voe eval": "'voe', 'eval', '--suite', FIX / 'suite', '--out', out(), '--fit', f'Dropbox={FIX / \"dropbox\"}'",
    "train": f"'train', 'marginal', '--data', {DATA}, '--out', out(), '-q'",
    "eval": f"'eval', FIX / 'ft', '--data', {DATA}, '--episodes', '2', '--out', out()",
    "results": f"'results', FIX / 'ft', '--test', 'Urchin=' + str({DATA}), '--episodes', '2', '--out', out()",
    "rl train": "'rl', 'train', '--env', 'Urchin', '--out', out(), '--steps', '16', '--num-envs', '4', '--ep-len', "
                "'4', '--set', 'n_steps=4', '--set', 'batch_size=16', '--set', 'net=[8]', '-q'",
    "rl eval": "'rl', 'eval', copy('ppo'), '--episodes', '2'",
    "rl plot": "'rl', 'plot', FIX / 'ppo', '--out', out() / 'c.png'",
}
BAD_FLAG_VALUES = ["nan", "inf", "-inf", "-1", "-5", "0", "1e309", "1e-300", "", ",", "x", "../../x", "[]", "{}",
                   "99999999999999999999", "1e30", "Bounce", "ppo:/nonexistent"]
# Flags whose valid values start work that the budgets above bound only with their own value.
UNBOUNDED = {"--episodes", "--steps", "--pairs", "--seconds", "--num-envs", "--time-limit", "--shard-size",
             "--max-steps", "--threads", "--nproc", "--ckpt-every", "--samples", "--env-threads"}


def flags(command: str) -> list[str]:
    """The optional flags of a command, read from its parser."""
    from boxlcd.cli import MODEL_COMMANDS, parser

    words = command.split()
    p = parser(words[0] if words[0] in MODEL_COMMANDS else None)
    for word in words:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        p = sub.choices[word]
    return sorted({a.option_strings[-1] for a in p._actions if a.option_strings and a.nargs != 0
                   and not isinstance(a, argparse._HelpAction)})


def flag_cases(rng: random.Random, count: int) -> list[str]:
    # One flag of every command first (so each is reached however many flags the others have),
    # then the rest at random from the remaining pairs.
    cases = []
    pool = [(command, flag) for command in BASE for flag in flags(command)]
    chosen = [rng.choice([pair for pair in pool if pair[0] == command]) for command in BASE if flags(command)]
    rest = [pair for pair in pool if pair not in chosen]
    chosen += rng.sample(rest, max(0, min(count - len(chosen), len(rest))))
    for command, flag in chosen:
        values = [v for v in BAD_FLAG_VALUES if not (flag in UNBOUNDED and v in ("99999999999999999999", "1e30"))]
        cases.append(f"cli({BASE[command]}, {flag!r}, {rng.choice(values)!r})")
    return cases


# (kind, file in it, tamperings, commands that load it)
FILES = [
    ("data", "manifest.json", ("json_file",), ["'dataset', 'info', d", "'dataset', 'show', d, '--out', out() / 'e.gif'",
                                               "'train', 'marginal', '--data', d, '--out', out(), '-q'",
                                               "'eval', FIX / 'ft', '--data', d, '--episodes', '2', '--out', out()"]),
    ("data", "shard-00000/shard.json", ("json_file",), ["'dataset', 'info', d",
                                                        "'train', 'marginal', '--data', d, '--out', out(), '-q'"]),
    ("data", "shard-00000/full_state.npy", ("truncate", "flip"), ["'dataset', 'info', d",
                                                                  "'dataset', 'info', d, '--no-verify'"]),
    ("suite", "Dropbox/pairs.json", ("json_file",), ["'voe', 'show', d, '--violation', 'teleport', '--out', out() / 'v.gif'",
                                                     "'voe', 'eval', '--suite', d, '--out', out(), '--fit', "
                                                     "f'Dropbox={FIX / \"dropbox\"}'"]),
    ("suite", "Dropbox/possible/manifest.json", ("json_file",),
     ["'voe', 'show', d, '--violation', 'teleport', '--out', out() / 'v.gif'"]),
    ("ppo", "run.json", ("json_file",), ["'rl', 'eval', d, '--episodes', '2'",
                                         "'collect', 'Urchin', '--episodes', '1', '--out', out(), '--policy', f'ppo:{d}', "
                                         "'--set', 'ep_len=4', '-q'", "'rl', 'plot', d, '--out', out() / 'c.png'"]),
    ("ppo", "state.json", ("json_file",), ["'rl', 'train', '--env', 'Urchin', '--out', d, '--steps', '64', '--num-envs', "
                                           "'4', '--ep-len', '4', '--set', 'n_steps=4', '--set', 'batch_size=16', "
                                           "'--set', 'net=[8]', '-q'"]),
    ("ppo", "model.zip", ("truncate", "flip"), ["'rl', 'eval', d, '--episodes', '2'"]),
    ("ft", "ckpt.pt", ("ckpt_file", "truncate", "flip"),
     [f"'eval', d, '--data', {DATA}, '--episodes', '2', '--out', out()",
      "'rl', 'train', '--env', 'Urchin', '--sim', d, '--out', out(), '--steps', '8', '--num-envs', '2', '-q'"]),
]


def file_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for _ in range(count):
        kind, name, tamperings, commands = rng.choice(FILES)
        tamper, seed = rng.choice(tamperings), rng.randrange(10**6)
        cases.append(f"d = copy({kind!r}); {tamper}(d / {name!r}, {seed}); cli({rng.choice(commands)})")
    return cases


LEARNED_SETTINGS = {"num_envs": ["0", "-1", "2.5", "True", "10**9", "'4'", "None", "2"],
                    "temperature": ["nan", "inf", "-1", "1e300", "'0'", "0.5", "None"],
                    "noise": ["nan", "inf", "-0.1", "1e300", "2.0", "0.1", "None"],
                    "device": ["'gpu'", "'cuda:9'", "''", "None", "'cpu'", "0"],
                    "seed": ["-1", "nan", "2**70", "'x'", "None", "3"],
                    "autoreset_mode": ["'sometimes'", "None", "0", "'same_step'"],
                    "num_threads": ["-1", "0", "2**40", "'x'", "1"]}
TASK_SETTINGS = {"threshold": ["nan", "-1", "0", "inf", "0.1"], "ep_len": ["0", "-1", "2.5", "10**6", "3", "4"],
                 "temperature": ["nan", "inf", "-1", "1.0"], "noise": ["nan", "1e300", "-1", "0.05"],
                 "task": ["'cube'", "'x'", "None", "'body'"], "num_envs": ["0", "-3", "True", "3"],
                 "env": ["'Luxo'", "'../x'", "None", "'Urchin'"]}


def learned_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for i in range(count):
        table = LEARNED_SETTINGS if i % 2 else TASK_SETTINGS
        keys = rng.sample(sorted(table), rng.randint(1, 2))
        settings = ", ".join(f"{k}={rng.choice(table[k])}" for k in keys)
        if i % 2:
            cases.append(f"learned(LearnedEnv(str(FIX / 'ft'), **dict({settings})))")
        else:
            defaults = {"env": "'Urchin'", "task": "'body'", "num_envs": "2"}
            given = {**defaults, **dict(part.split("=", 1) for part in settings.split(", "))}
            args = ", ".join(f"{k}={v}" for k, v in given.items())
            cases.append(f"learned(make_task(sim=str(FIX / 'ft'), **dict({args})))")
    return cases


def all_cases() -> list[tuple[str, str]]:
    """(category, source) of every case: the same list on every run."""
    rng = random.Random(SEED)
    categories = {"flag": flag_cases(rng, 70), "file": file_cases(rng, 45), "learned": learned_cases(rng, 20)}
    return [(category, source) for category, sources in categories.items() for source in sources]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good files of every kind, small: what each case copies and tampers with."""
    from boxlcd import voe
    from boxlcd.dataset import collect
    from boxlcd.models.train import train
    from boxlcd.rl.config import RunConfig, TrainOptions
    from boxlcd.rl.train import train as train_ppo

    root = tmp_path_factory.mktemp("fuzz-files")
    collect("Urchin", 4, root / "data", seed=0, progress=False, ep_len=4)
    collect("Dropbox", 4, root / "dropbox", seed=0, progress=False, ep_len=20)
    train("frame_transformer", str(root / "data"), str(root / "ft"), steps=2, batch=2, progress=False, prompt=1,
          d_model=16, layers=1, heads=2, predict_state=True)
    train_ppo(RunConfig(env="Urchin", steps=32, ep_len=4, num_envs=8, n_steps=4, batch_size=32, net=[8]),
              TrainOptions(out=root / "ppo", quiet=True))
    voe.make_suite("Dropbox", root / "suite" / "Dropbox", pairs=1, seed=0, violations=["teleport"])
    return root


def test_fuzz_commands_files_and_learned_envs(files, tmp_path):
    cases = all_cases()
    env = {"BOXLCD_FUZZ_FILES": str(files), "BOXLCD_FUZZ_WORK": str(tmp_path)}
    results = run_cases(CHILD, cases, CHUNK, TIMEOUT, env)
    check_results(cases, results)


def test_cases_are_fixed_and_reach_every_command():
    a, b = all_cases(), all_cases()
    assert a == b
    sources = "\n".join(source for _, source in a)
    for command, base in BASE.items():
        assert base in sources or not flags(command), command
    for kind, name, _, _ in FILES:
        assert f"copy({kind!r}); " in sources and repr(name) in sources, name
