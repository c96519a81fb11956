"""Solver presets against the original testbed's solver: behaviour statistics.

    python experiments/solver_stats.py --configs original fast 360/120 240/80 120/40 60/20 30/10 \\
        --episodes 1000 --out experiments/results/solver_stats.json

A config is a preset name (`boxlcd.solver_presets()`: "original", "fast", ...) or V/P[/S]: V
velocity and P position iterations (S Box2D steps per env step; default the env's own). Their
speed: bench/solver_speed.py.

--episodes episodes per env and config, started from the same seeds and driven by the same
random actions. Per episode:
  rest_height    mean object y in the last frame (envs with objects)
  bounce_height  highest object y after its first bounce (first rise after falling), mean over
                 objects that bounced (envs without a robot)
  root_height    mean robot root y over the episode (robot envs)
  lit_ratio      mean fraction of lit pixels per frame
Heights are the full_state's normalised y. Each statistic's 95% bootstrap interval of the mean
(scipy.stats.bootstrap, BCa) is computed for the first config; a config passes a statistic when
its mean lies inside that interval. The row "CONFIG (other seeds)" reruns the first config on
disjoint seeds: how often an identical solver lands inside the interval by chance alone.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.stats import bootstrap

import boxlcd
from boxlcd.analysis import solver_overrides
from boxlcd.files import write_json

ENVS = ["Dropbox", "Bounce", "Bounce2", "Object2", "Urchin", "Luxo", "UrchinCube", "LuxoCube"]
ROBOT_ENVS = {"Urchin", "Luxo", "UrchinCube", "LuxoCube"}
OTHER_SEEDS = 1_000_000  # where the "(other seeds)" row starts


def random_actions(env: boxlcd.Env, steps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (steps, env.num_envs, max(env.action_size, 1))).astype(np.float32)


def episode_stats(name: str, config: str, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Per-episode statistics (see the module doc) of `episodes` episodes from seeds seed, seed+1, ..."""
    env = boxlcd.make(name, num_envs=episodes, num_threads=1, **solver_overrides(config))
    ep_len = env.definition.ep_len
    keys = env.state_keys
    objects = [i for i, k in enumerate(keys) if k.startswith("object") and k.endswith(":y:p")]
    roots = [i for i, k in enumerate(keys) if k.endswith(":root:y:p")]
    obs = env.reset(seed=seed)
    ys, lit = [obs["full_state"].copy()], [env.unpacked_frames().mean(axis=(1, 2))]
    for a in random_actions(env, ep_len, seed):
        obs = env.step(a)[0]
        ys.append(obs["full_state"].copy())
        lit.append(env.unpacked_frames().mean(axis=(1, 2)))
    env.close()
    state = np.stack(ys, 1)  # (episodes, ep_len + 1, state)
    out = {"lit_ratio": np.stack(lit, 1).mean(1)}
    if objects:
        out["rest_height"] = state[:, -1, objects].mean(1)
    if objects and name not in ROBOT_ENVS:
        out["bounce_height"] = bounce_heights(state[:, :, objects])
    if roots:
        out["root_height"] = state[:, :, roots].mean((1, 2))
    return out


def bounce_heights(y: np.ndarray) -> np.ndarray:
    """(episodes,): per object the highest y after its first rise that follows a fall, mean over
    the objects that bounced (NaN when none did)."""
    dy = np.diff(y, axis=1)  # (episodes, ep_len, objects)
    heights = np.full(y.shape[::2], np.nan)
    for e in range(y.shape[0]):
        for o in range(y.shape[2]):
            fell = np.flatnonzero(dy[e, :, o] < -1e-4)
            if fell.size == 0:
                continue
            rises = np.flatnonzero(dy[e, fell[0]:, o] > 1e-4)
            if rises.size:
                heights[e, o] = y[e, fell[0] + rises[0]:, o].max()
    with np.errstate(all="ignore"):
        return np.nanmean(heights, axis=1)


def interval(values: np.ndarray, seed: int) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    res = bootstrap((values,), np.mean, confidence_level=0.95, n_resamples=2000, method="BCa",
                    random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=ENVS)
    p.add_argument("--configs", nargs="+", default=None,
                   help="presets or V/P[/S]; the first is the reference (default: every preset, original first)")
    p.add_argument("--episodes", type=int, default=1000, help="episodes per env and config")
    p.add_argument("--out", help="JSON file")
    args = p.parse_args()
    if args.episodes < 2:
        p.error("--episodes must be >= 2 (a bootstrap interval needs two)")
    configs = args.configs or list(boxlcd.solver_presets())  # "original" comes first

    rows = []
    for name in args.envs:
        ref = episode_stats(name, configs[0], args.episodes, 0)
        bounds = {k: interval(v, 0) for k, v in ref.items()}
        runs = [(c, c, 0) for c in configs] + [(f"{configs[0]} (other seeds)", configs[0], OTHER_SEEDS)]
        for label, c, seed in runs:
            stats = ref if (c == configs[0] and seed == 0) else episode_stats(name, c, args.episodes, seed)
            row = {"env": name, "config": label, "overrides": solver_overrides(c), "stats": {}}
            for k, v in stats.items():
                mean = float(np.nanmean(v))
                lo, hi = bounds[k]
                row["stats"][k] = {"mean": mean, "reference_interval": [lo, hi], "inside": bool(lo <= mean <= hi)}
            row["all_inside"] = all(s["inside"] for s in row["stats"].values())
            rows.append(row)
            print(json.dumps(row), flush=True)

    if args.out:
        write_json(args.out, {"episodes": args.episodes, "rows": rows})


if __name__ == "__main__":
    main()
