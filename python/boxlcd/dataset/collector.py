"""collect(): episodes from the engine into a sharded dataset, locally or on a Ray cluster.

Episode e of a dataset starts from env seed `seed + e`, and shard i's actions come from a
generator seeded (seed, i), so the files depend only on the arguments: the same call gives
the same bytes, and so does a resumed run or a Ray run.
"""
from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

import boxlcd
from boxlcd.dataset.store import (FORMAT, FORMAT_VERSION, MANIFEST, DatasetError, no_constant, read_shard_entry,
                                  resume_error, shard_name, write_json_atomically, write_shard)
from boxlcd.files import lock_folder, read_bytes
from boxlcd.worlds import definition_summary

LOCK = ".collect.lock"

Policy = Callable[[dict, np.random.Generator, int], np.ndarray]


def random_policy(obs: dict, rng: np.random.Generator, action_size: int) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, (len(obs["full_state"]), action_size)).astype(np.float32)


def zero_policy(obs: dict, rng: np.random.Generator, action_size: int) -> np.ndarray:
    return np.zeros((len(obs["full_state"]), action_size), np.float32)


NAMED = {"random": random_policy, "zero": zero_policy}


def named_policy(name: str) -> Policy:
    """The policy `name` stands for: 'random', 'zero' or 'module:callable'. A PPO run's policy
    ('ppo:RUN') is boxlcd.rl's to load: boxlcd.rl.actor.ppo_policy."""
    if name in NAMED:
        return NAMED[name]
    if name.startswith("ppo:"):
        raise ValueError(f"policy {name!r} is a PPO run's: pass boxlcd.rl.actor.ppo_policy({name!r}) "
                         "(`boxlcd collect --policy ppo:RUN` does)")
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"policy {name!r} cannot be loaded: {e}") from e
        if not callable(fn):
            raise ValueError(f"policy {name!r} is not callable")
        return fn
    raise ValueError(f"policy must be 'random', 'zero', 'module:callable' or a callable, got {name!r}")


def collect_shard(plan: dict, index: int, policy: Policy = random_policy) -> dict[str, np.ndarray]:
    """The arrays of shard `index` of a plan (see collect) under `policy`, a callable
    (obs, rng, action_size) -> actions; one with a start(env, obs, rng) method has it called
    after the shard's reset. Runs anywhere boxlcd is installed."""
    first = index * plan["shard_size"]
    n = min(plan["shard_size"], plan["episodes"] - first)
    seed = plan["seed"]
    env = boxlcd.make(plan["env"], num_envs=n, num_threads=plan["num_threads"], seed=seed + first,
                      autoreset_mode="disabled", **plan["overrides"])
    rng = np.random.default_rng([seed, index])
    T = env.definition.ep_len
    frames = np.empty((n, T + 1) + env.batch.frames.shape[1:], np.uint8)
    full_state = np.empty((n, T + 1, len(env.state_keys)), np.float32)
    proprio = np.empty((n, T + 1, len(env.proprio_keys)), np.float32)
    actions = np.empty((n, T, env.action_size), np.float32)
    obs = env.reset(seed=seed + first)
    if hasattr(policy, "start"):
        policy.start(env, obs, rng)
    for t in range(T + 1):
        frames[:, t], full_state[:, t], proprio[:, t] = obs["lcd"], obs["full_state"], obs["proprio"]
        if t == T:
            break
        actions[:, t] = applied_action(policy(obs, rng, env.action_size), (n, env.action_size), plan["policy"])
        obs, *_ = env.step(actions[:, t])
    seeds = seed + first + np.arange(n, dtype=np.int64)
    return {"frames": frames, "actions": actions, "full_state": full_state, "proprio": proprio, "seeds": seeds}


def policy_label(policy: str | Policy) -> str:
    """How the manifest and error messages name a policy: its name, its `name` attribute (a
    PPO run's: ppo:RUN), or module:qualname."""
    if isinstance(policy, str):
        return policy
    if isinstance(getattr(policy, "name", None), str):
        return policy.name
    return f"{getattr(policy, '__module__', '?')}:{getattr(policy, '__qualname__', type(policy).__name__)}"


def applied_action(raw, shape: tuple[int, int], name: str) -> np.ndarray:
    """The actions the engine applies for a policy's output: clipped to [-1, 1] as the engine
    clips them, so that the dataset stores what moved the world. A policy output that is not
    (n, A) finite numbers raises ValueError naming the policy: the engine would turn NaN into
    NaN bodies."""
    try:
        a = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"policy {name} returned no array of numbers: {e}") from None
    if a.shape != shape:
        raise ValueError(f"policy {name} returned shape {a.shape}, expected {shape}")
    if not np.isfinite(a).all():
        bad = a[~np.isfinite(a)][0]
        raise ValueError(f"policy {name} returned {bad} among its actions: actions must be finite numbers")
    return np.clip(a, -1.0, 1.0).astype(np.float32)


def new_manifest(probe: "boxlcd.Env", env: str, overrides: dict, episodes: int, shard_size: int, seed: int,
                 policy: str) -> dict:
    """The manifest of a dataset of `probe`'s env before any shard is written (complete: False)."""
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "boxlcd_version": boxlcd.__version__,
        "env": env, "overrides": overrides, "episodes": episodes, "shard_size": shard_size,
        "seed": seed, "policy": policy, "ep_len": probe.definition.ep_len,
        "fps": probe.definition.fps, "frame_shape": list(probe.frame_shape),
        "frame_row_bytes": int(probe.batch.frames.shape[-1]), "state_keys": probe.state_keys,
        "proprio_keys": probe.proprio_keys, "action_keys": probe.action_keys,
        "definition": definition_summary(probe.definition), "complete": False, "shards": [],
    }


def collect(
    env: str,
    episodes: int,
    out: str | os.PathLike,
    policy: str | Policy = "random",
    seed: int = 0,
    shard_size: int = 1000,
    resume: bool = False,
    num_threads: int = 0,
    ray: str | bool | None = None,
    progress: bool = True,
    policy_name: str | None = None,
    **overrides,
) -> Path:
    """Collects `episodes` episodes of `env` into the folder `out`; returns the manifest path.

    Episodes last the env's ep_len (override it like any setting) under the policy: 'random'
    (uniform in [-1, 1], as the original datasets), 'zero', 'module:callable' or a callable
    (obs, rng, action_size) -> actions, such as a PPO run's (boxlcd.rl.actor.ppo_policy). A
    policy with a start(env, obs, rng) method has it called after each shard's reset, and one
    with an `env` attribute is refused on another env. The manifest records policy_name
    (default: policy_label's). The dataset stores the actions the engine applied (clipped to
    [-1, 1]), and a policy returning NaN or infinity is refused. resume=True
    continues an interrupted run, keeping its finished shards; a second collection into a folder in use fails at once. ray=True (or an
    address) spreads shards over a Ray cluster; the files are the same as a local run's.
    """
    if not isinstance(env, str) or env not in boxlcd.envs():
        raise ValueError(f"env must be a built-in env name ({', '.join(boxlcd.envs())}), got {env!r}")
    for name, value in (("episodes", episodes), ("shard_size", shard_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    policy_name = policy_label(policy) if policy_name is None else policy_name
    act = named_policy(policy) if isinstance(policy, str) else policy
    if not callable(act):
        raise ValueError(f"policy must be a name or a callable (obs, rng, action_size) -> actions, got {policy!r}")
    unknown = sorted(set(overrides) - set(boxlcd.override_names()))
    if unknown:  # not make()'s own arguments (frames, autoreset_mode, ...): only world settings
        raise ValueError(f"unknown option {unknown[0]!r}; options: {', '.join(boxlcd.override_names())}")
    made_for = getattr(act, "env", env)
    if made_for != env:
        raise ValueError(f"policy {policy_name} was trained on {made_for}, not on {env}")
    probe = boxlcd.make(env, num_envs=1, **overrides)  # checks the overrides before any writing
    root = Path(out)
    plan = {"env": env, "overrides": overrides, "episodes": int(episodes), "shard_size": int(shard_size),
            "seed": int(seed), "policy": policy_name, "num_threads": num_threads}
    num_shards = -(-plan["episodes"] // plan["shard_size"])
    manifest = new_manifest(probe, env, overrides, plan["episodes"], plan["shard_size"], plan["seed"], policy_name)
    check_folder(root, manifest, resume)  # before creating anything in a folder that is not ours
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = lock_folder(root, LOCK, "dataset", "collection", DatasetError)
    except PermissionError as e:
        raise PermissionError(f"cannot write the dataset folder {root}: {e.strerror}") from e
    try:
        check_folder(root, manifest, resume)  # again: another collection may have finished meanwhile
        prepare_folder(root, manifest, num_shards)
        todo = [i for i in range(num_shards) if read_shard_entry(root, i) is None]
        bar = make_bar(progress, plan, num_shards - len(todo), probe.definition.ep_len + 1)
        try:
            for index, arrays in shard_results(plan, todo, act, ray):
                write_shard(root, index, arrays)
                bar.update(arrays["frames"].shape[0] * arrays["frames"].shape[1])
        except OSError as e:
            raise resume_error(OSError, f"writing the dataset in {root} failed ({e.strerror}); finished shards "
                               "are kept", e.errno) from e
        finally:
            bar.close()
        manifest["shards"] = [read_shard_entry(root, i) for i in range(num_shards)]
        manifest["complete"] = True
        write_json_atomically(root / MANIFEST, manifest)
    finally:
        os.close(lock)  # releases the lock; the file stays, as deleting it would race a new locker
    return root / MANIFEST


def check_folder(root: Path, manifest: dict, resume: bool) -> None:
    """Refuses a folder that holds something else, or another collection unless resuming it with
    the same settings. Changes nothing."""
    path = root / MANIFEST
    if path.exists():
        problem = f"{root} already holds a dataset"
        if not resume:
            raise resume_error(FileExistsError, problem)
        try:
            old = json.loads(read_bytes(path), parse_constant=no_constant)
        except ValueError as e:
            raise DatasetError(f"{path} is not valid JSON ({e}): resume cannot tell what was collected") from e
        old = old if isinstance(old, dict) else {}
        same = ("env", "overrides", "episodes", "shard_size", "seed", "policy", "format_version")
        changed = [k for k in same if old.get(k) != manifest[k]]
        if changed:
            raise DatasetError(f"{root} was collected with other settings ({', '.join(changed)}); "
                               "resume needs the same arguments")
    elif root.exists() and any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise FileExistsError(f"{root} exists and is not an empty folder")


def prepare_folder(root: Path, manifest: dict, num_shards: int) -> None:
    """Clears what an interrupted run left unfinished and writes the (incomplete) manifest; the
    caller holds the folder's lock."""
    for stale in root.glob(".shard-*.tmp-*"):  # temporary shard folders of an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    for index in range(num_shards):
        folder = root / shard_name(index)
        if read_shard_entry(root, index) is not None or not (folder.exists() or folder.is_symlink()):
            continue
        # A shard folder without a valid shard.json was never finished: it is collected again.
        if folder.is_dir() and not folder.is_symlink():
            # Renamed first so that a crash while deleting leaves a temporary name, cleared next time.
            doomed = root / f".{folder.name}.tmp-unfinished-{os.getpid()}"
            os.replace(folder, doomed)
            shutil.rmtree(doomed)
        else:
            folder.unlink()  # a file or a link: never follow it out of the dataset
    write_json_atomically(root / MANIFEST, manifest)


def shard_results(plan: dict, todo: list[int], policy: Policy, ray):
    """Yields (index, arrays) for each shard to do, from this process or from Ray tasks."""
    if not ray:
        for index in todo:
            yield index, collect_shard(plan, index, policy)
        return
    import ray as ray_lib  # optional extra: pip install boxlcd[ray]

    if not ray_lib.is_initialized():
        ray_lib.init(address=None if ray is True else ray)
    remote = ray_lib.remote(collect_shard)
    pending = {remote.remote(plan, index, policy): index for index in todo}
    while pending:
        done, _ = ray_lib.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray_lib.get(ref)


def make_bar(progress: bool, plan: dict, shards_done: int, frames_per_episode: int):
    """A progress bar counting frames, so its rate reads in frames/s."""
    from tqdm import tqdm

    done = min(plan["episodes"], shards_done * plan["shard_size"]) * frames_per_episode
    return tqdm(total=plan["episodes"] * frames_per_episode, initial=done, unit="frame", unit_scale=True,
                disable=not progress, desc=f"collect {plan['env']}")
