"""A results table over several checkpoints, with the two calibration baselines always in it.

  boxlcd results RUN_OR_CKPT ... --test Bounce=data/bounce_test [--out results]
  (or python -m boxlcd.models.results ...)

For every env among the checkpoints, the marginal and copy-last baselines are fit on that
env's training data (the dataset the first checkpoint of the env was trained on) unless a
baseline checkpoint is given. Each checkpoint is evaluated on its env's test data (see
evaluate.py); results.md, results.json and one folder per row (eval.json, rollout.gif) are
written into --out.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

from boxlcd.dataset import Episodes
from boxlcd.files import make_folder, read_bytes, write_text
from boxlcd.models.settings import changed_settings
from boxlcd.models.checkpoint import load_model, non_finite, prompt_frames
from boxlcd.models.evaluate import (check_decoding, check_device, check_settings, decoding, default_temperature,
                                    evaluate_checkpoint, markdown_rows, set_threads,
                                    upgrade_row)
from boxlcd.models.arbiter import SCORES, WINDOW, load_arbiter
from boxlcd.models.train import train
from boxlcd.options import key_text

BASELINES = ("marginal", "copy_last")


def results(checkpoints: list[str], tests: dict[str, str], out: str | Path, device: str | None = None,
            reuse: bool = False, oracle: dict | None = None, samples: tuple[int, ...] = (1,),
            arbiters: dict[str, str] | None = None, **eval_kwargs) -> list[dict]:
    """Evaluates every checkpoint (and the baselines) and writes the table; reuse=True keeps a
    row's earlier eval.json when it was made from the same checkpoint step, data and settings;
    oracle (its settings, {} for the defaults) adds the posterior oracle's row (oracle.py) for every
    env without a robot. Learned models get a row per entry of `samples`: 1 for mode decoding,
    n > 1 for each pixel's majority over n rollouts sampled at temperature 1 (evaluate.rollouts);
    the baselines and the oracle, references, are decoded by their mode (the oracle's is its own
    majority over the simulated futures). arbiters: an arbiter run per env, for the realism
    columns (evaluate.py), on each run's first row: they score a sampled rollout, whatever the
    row's decoding."""
    if not samples:
        raise ValueError("samples: give at least one decoding (1: mode decoding)")
    check_settings(eval_kwargs)  # before any baseline is fit
    if device is not None:
        check_device(device)
    for n in samples:  # before any baseline is fit
        check_decoding(default_temperature(None, n), n)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [describe(c) for c in checkpoints]
    arbiters = dict(arbiters or {})
    unknown = sorted(set(arbiters) - {r.env for r in runs})
    if unknown:
        raise ValueError(f"--arbiter for {', '.join(unknown)}, but no checkpoint is of that env")
    arbiter_steps = {env: load_arbiter(path)[1]["arbiter_step"] for env, path in arbiters.items()}  # and a bad one fails now
    for env in sorted({r.env for r in runs}):
        mine = [r for r in runs if r.env == env]
        have = {r.name for r in mine}
        for name in BASELINES + (("oracle",) if oracle is not None and not mine[0].robot else ()):
            if name not in have:
                settings = oracle if name == "oracle" else {}
                runs.append(describe(train(name, mine[0].data, out / "baselines" / f"{env}-{name}", device="cpu",
                                           progress=False, **settings)))
    rows = []
    order = {name: i for i, name in enumerate(BASELINES + ("oracle",))}
    used = set()
    available = {}  # test episodes per env, for reuse checks
    jobs = [(run, n) for run in sorted(runs, key=lambda r: (r.env, order.get(r.name, 9), str(r.ckpt)))
            for n in (sorted(set(samples)) if run.name not in order else (1,))]
    for run, n in jobs:
        env = run.env
        if env not in tests:
            raise ValueError(f"no test data for {env}: pass --test {env}=DIR")
        folder = out / (f"{env}-{run.name}" + (f"-vote{n}" if n > 1 else ""))
        while folder.name in used:
            folder = folder.with_name(folder.name + "+")
        used.add(folder.name)
        make_folder(folder)  # a link planted in --out is refused, not written through
        decode = {**eval_kwargs, "samples": n, "temperature": default_temperature(None, n),
                  "arbiter": arbiters.get(env) if n == min(samples) or run.name in order else None}
        if reuse and env not in available:
            available[env] = len(Episodes(tests[env]))
        row = reusable(folder, run, tests[env], available[env], decode,
                       arbiter_steps.get(env) if decode["arbiter"] else None) if reuse else None
        if row is None:
            row = evaluate_checkpoint(run.ckpt, tests[env], folder, device=device, **decode)
        row["settings"] = run.changed  # also on rows reused from before eval.json kept it
        row["folder"] = str(folder)
        rows.append(row)
    write_text(out / "results.json", json.dumps(rows, indent=1))
    notes = ("\nbits/dim: teacher-forced, frames after the prompt; ≤ marks an upper bound (ELBO or code bound). "
             "SSIM/PSNR: ignite's definitions (data_range 1), per predicted frame of rollouts from the prompt, "
             "decoded as the decode column says (mode: each pixel's mode, frame by frame; vote n: each "
             "pixel's majority over n rollouts sampled at temperature T), averaged over frames; SSIM original / "
             "PSNR original: the same rollouts scored as the original testbed's evaluator did (background = 1, "
             "the predicted frames among the first ep_len), the columns to set beside "
             "the paper's. paper: the original testbed's workshop paper, best model per env.\n")
    if arbiters:
        notes += (f"FID, prec, rec, dens, cov, act err: the arbiter's realism scores of {WINDOW}-frame windows of one rollout per "
                  "episode sampled at temperature 1 (first row of each run), against the real windows of other "
                  "test episodes; the 'real' columns score real windows the same way: the floor.\n")
    write_text(out / "results.md", markdown_rows([{k: v for k, v in r.items() if k != "per_horizon"} for r in rows])
               + notes)
    return rows


class Run(NamedTuple):
    env: str
    name: str  # the model's
    ckpt: Path
    data: str  # what it was trained on
    robot: bool
    step: int
    changed: dict  # its settings that differ from the model's defaults
    prompt: int  # the frames its rollouts start from unless --prompt says otherwise


def describe(ckpt: str | Path) -> Run:
    """What the table needs to know of a checkpoint, from one load of it."""
    model, state = load_model(ckpt, "cpu")
    return Run(state["spec"]["env"], state["model_name"], Path(ckpt), state["run"]["data"],
               bool(state["spec"]["robot"]), state["step"], changed_settings(model), prompt_frames(state))


def reusable(folder: Path, run: Run, test: str, test_episodes: int, eval_kwargs: dict,
             arbiter_step: int | None = None) -> dict | None:
    """A row's earlier result, if it was computed from this checkpoint's step with these settings
    (test_episodes: how many `test` holds) and, when an arbiter is asked for, by that arbiter at
    `arbiter_step` (a retrained arbiter makes its scores stale). A file that is not a JSON
    object, or holds NaN or an infinity (eval.json files written before evaluate refused them),
    is evaluated anew: results.json holds finite numbers only."""
    try:
        old = json.loads(read_bytes(folder / "eval.json"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict) or non_finite(old) is not None:
        return None
    old = upgrade_row(old)
    same = old.get("checkpoint") == str(run.ckpt) and old.get("steps") == run.step and old.get("test_data") == str(test)
    old.setdefault("samples", 1)  # rows from before majority decoding: mode decoded
    old.setdefault("decode", decoding(old.get("temperature", 0.0), old["samples"]))
    asked = dict(eval_kwargs)
    if "episodes" in asked:  # evaluate() takes all of them when fewer are there, or with 0
        asked["episodes"] = min(asked["episodes"], test_episodes) if asked["episodes"] else test_episodes
    same = same and all(old.get(k) == v for k, v in asked.items()
                        if k in ("episodes", "prompt", "temperature", "samples") and v is not None)
    same = same and old.get("prompt") == (asked.get("prompt") or run.prompt)
    same = same and old.get("arbiter") == (str(asked["arbiter"]) if asked.get("arbiter") else None)
    same = same and old.get("arbiter_step") == arbiter_step
    same = same and (not asked.get("arbiter") or all(k in old for k in SCORES))  # else scored before a column was added
    return old if same else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `boxlcd results` and `python -m boxlcd.models.results`."""
    p.add_argument("checkpoints", nargs="+", help="ckpt.pt files or run folders")
    p.add_argument("--test", type=key_text, action="append", required=True, metavar="ENV=DIR",
                   help="held-out data per env")
    p.add_argument("--out", default="results")
    p.add_argument("--episodes", type=int, default=512)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reuse", action="store_true", help="keep rows already evaluated with the same settings")
    p.add_argument("--oracle", action="store_true",
                   help="add the posterior oracle's row (what the prompt leaves open) for envs without a robot")
    p.add_argument("--samples", type=int, nargs="+", default=[1],
                   help="decodings of the learned models, a row each: 1 = mode, n > 1 = each pixel's majority "
                        "over n rollouts sampled at temperature 1 (e.g. --samples 1 32)")
    p.add_argument("--arbiter", type=key_text, action="append", default=[], metavar="ENV=RUN",
                   help="an arbiter run per env (boxlcd train arbiter) for the realism columns")


def run(a: argparse.Namespace) -> None:
    set_threads(a.threads)
    results(a.checkpoints, dict(a.test), a.out, device=a.device, reuse=a.reuse, oracle={} if a.oracle else None,
            episodes=a.episodes, samples=tuple(a.samples), arbiters=dict(a.arbiter))
    print((Path(a.out) / "results.md").read_text(), end="")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m boxlcd.models.results", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
