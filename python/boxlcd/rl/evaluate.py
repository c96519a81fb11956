"""Success of a PPO run's policy, always measured in the real engine unless told otherwise.

  boxlcd rl eval RUN [--episodes 1000] [--sim real|learned|RUN_DIR]
  boxlcd rl eval RUN --checkpoints [--episodes 200]

Each of `episodes` envs runs its first episode of the run's task (seeded apart from training),
once with actions sampled from the policy (as the original evaluated) and once with its mean
action. Writes RUN/eval.json (real engine) with success_rate and success_rate_deterministic,
their standard errors, mean return and steps; with --sim learned (the run's own learned sim)
or another world model, RUN/eval_<name>.json instead: the gap to the real figures is what
the learned simulator still gets wrong. Also writes RUN/eval.gif: a few episodes, the frame
beside the goal's frame, the border green once the goal is reached.

--checkpoints scores every checkpoint the run kept (rl train --keep) with sampled actions on
the same `episodes` episodes, in the engine and, for a run trained in a learned sim, inside
that sim; RUN/eval_checkpoints.json holds each one's success in both and the Spearman rank
correlation between them: whether the learned sim ranks policies as the engine does.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import numpy as np

from boxlcd.rl.train import checkpoints, load_policy, make_env, read_run, run_sim, the_task, write_json

EVAL_SEED_OFFSET = 1 << 40  # episodes no training seed reaches
EVAL_FILE, EVAL_LEARNED_FILE = "eval.json", "eval_learned.json"  # rl eval, in the engine and in the run's own sim
CHECKPOINTS_FILE = "eval_checkpoints.json"


def first_episodes(policy, vec, deterministic: bool, frames: int = 0) -> dict:
    """Runs until every env has ended its first episode: success, return and length per env,
    and the first `frames` envs' frames and goal frames, step by step."""
    n = vec.num_envs
    obs = vec.reset()
    done = np.zeros(n, bool)
    success, returns, lengths = np.zeros(n, bool), np.zeros(n), np.zeros(n, np.int64)
    shown = []
    while not done.all():
        if frames:
            o = vec.last_obs
            shown.append((o["lcd"][:frames].copy(), o["goal:lcd"][:frames].copy(), done[:frames].copy()))
        actions, _ = policy.predict(obs, deterministic=deterministic)
        obs, reward, dones, infos = vec.step(actions)
        live = ~done
        returns[live] += reward[live]
        lengths[live] += 1
        for i in np.flatnonzero(dones & live):
            success[i] = infos[i]["is_success"]
        done |= dones
    return {"success": success, "returns": returns, "lengths": lengths, "frames": shown}


def summary(result: dict) -> dict:
    s = result["success"]
    p = float(s.mean())
    return {"success_rate": p, "success_rate_se": math.sqrt(p * (1 - p) / len(s)),
            "mean_return": float(result["returns"].mean()), "mean_length": float(result["lengths"].mean())}


def write_gif(path: Path, shown: list, cols: int, fps: float, scale: int = 8) -> None:
    """Each env's frame beside its goal's frame, envs stacked; an env's border turns green
    once its episode has ended."""
    from boxlcd.render import lcd_picture
    from boxlcd.render import write_gif as save

    pictures = []
    for lcd, goal, ended in shown:
        rows = []
        for i in range(len(lcd)):
            frame, target = lcd_picture(lcd[i], cols, scale), lcd_picture(goal[i], cols, scale)
            gap = np.full((frame.shape[0], scale, 3), 128, np.uint8)
            colour = [60, 200, 60] if ended[i] else [90, 90, 90]
            rows.append(np.pad(np.concatenate([frame, gap, target], axis=1), ((3, 3), (3, 3), (0, 0)),
                               mode="constant", constant_values=0))
            rows[-1][:3], rows[-1][-3:], rows[-1][:, :3], rows[-1][:, -3:] = colour, colour, colour, colour
        pictures.append(np.concatenate(rows, axis=0))
    save(path, pictures, fps)


def evaluate(run_dir: str, episodes: int = 1000, sim: str = "real", device: str = "cpu", gif_episodes: int = 4) -> dict:
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    run = read_run(run_dir)
    if sim == "learned" and run.sim == "real":
        raise ValueError(f"{run_dir} was trained in the real env: there is no learned sim to evaluate in")
    sim_path = run_sim(run, run_dir) if sim == "learned" else sim
    policy = load_policy(run_dir, device=device)
    out = {"run": str(Path(run_dir)), "env": run.env, "task": run.task, "trained_in": run.sim_from or run.sim,
           "evaluated_in": sim_path, "episodes": episodes, "threshold": run.threshold}
    shown = None
    for deterministic in (False, True):
        # The task and the model as they are: training's aids (sim_noise, shaping) are no part of them.
        vec = make_env(dataclasses.replace(the_task(run), device=device), num_envs=episodes, sim=sim_path,
                       seed_offset=EVAL_SEED_OFFSET)
        result = first_episodes(policy, vec, deterministic, frames=0 if deterministic else gif_episodes)
        shown = shown or result["frames"]
        suffix = "_deterministic" if deterministic else ""
        out.update({k + suffix: v for k, v in summary(result).items()})
        cols, fps = vec.task.frame_shape[1], vec.task.definition.fps
        vec.close()
    name = EVAL_FILE if sim_path == "real" else EVAL_LEARNED_FILE if sim == "learned" else f"eval_{Path(sim).name}.json"
    write_json(Path(run_dir) / name, out)
    if shown and sim_path == "real":
        write_gif(Path(run_dir) / "eval.gif", shown, cols, fps)
    return out


def rank_correlation(x: list[float], y: list[float]) -> float | None:
    """Spearman's rank correlation of x and y (ties ranked by their mean); None for fewer than
    three pairs or where either side is constant, as a correlation is then undefined."""
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def evaluate_checkpoints(run_dir: str, episodes: int = 200, device: str = "cpu") -> dict:
    """Every kept checkpoint's success (sampled actions) in the engine and, for a run trained
    in a learned sim, inside it, each on the same episodes; written to RUN/eval_checkpoints.json."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    run = read_run(run_dir)
    kept = checkpoints(run_dir)
    if not kept:
        raise ValueError(f"{run_dir} kept no checkpoints: train it with --keep")
    sims = {"in_engine": "real"} | ({} if run.sim == "real" else {"in_model": run_sim(run, run_dir)})
    task = dataclasses.replace(the_task(run), device=device)
    rows = []
    for steps, name in kept:
        row, policy = {"env_steps": steps, "checkpoint": name}, None
        for key, sim in sims.items():
            vec = make_env(task, num_envs=episodes, sim=sim, seed_offset=EVAL_SEED_OFFSET)
            policy = policy or load_policy(run_dir, vec, device, name)  # one load serves both sims
            row[key] = float(first_episodes(policy, vec, False)["success"].mean())
            vec.close()
        rows.append(row)
    out = {"run": str(Path(run_dir)), "env": run.env, "task": run.task, "episodes": episodes, "checkpoints": rows,
           "spearman": rank_correlation([r["in_engine"] for r in rows], [r["in_model"] for r in rows])
           if "in_model" in sims else None}
    write_json(Path(run_dir) / CHECKPOINTS_FILE, out)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a PPO run folder (boxlcd rl train)")
    p.add_argument("--episodes", type=int, default=None, help="episodes per figure (default 1000; 200 per "
                   "checkpoint with --checkpoints)")
    p.add_argument("--sim", default="real", help="real (default), learned (the run's own) or a world model run")
    p.add_argument("--checkpoints", action="store_true",
                   help="score every kept checkpoint in the engine and the run's learned sim (eval_checkpoints.json)")
    p.add_argument("--device", default="cpu")


def run(a: argparse.Namespace) -> None:
    if a.checkpoints:
        if a.sim != "real":
            raise ValueError("--checkpoints scores in the engine and the run's own sim: it takes no --sim")
        r = evaluate_checkpoints(a.run, a.episodes or 200, a.device)
        for row in r["checkpoints"]:
            inside = f", {row['in_model']:.3f} in its learned sim" if "in_model" in row else ""
            print(f"{row['env_steps']:>10} env steps: success {row['in_engine']:.3f} in the engine{inside}")
        if r["spearman"] is not None:
            print(f"rank correlation (Spearman) over {len(r['checkpoints'])} checkpoints: {r['spearman']:.3f}")
        return
    r = evaluate(a.run, a.episodes or 1000, a.sim, a.device)
    print(f"{r['env']} {r['task']} trained in {r['trained_in']}, evaluated in {r['evaluated_in']} "
          f"over {r['episodes']} episodes: success {r['success_rate']:.4f} ± {r['success_rate_se']:.4f} "
          f"(sampled actions), {r['success_rate_deterministic']:.4f} ± {r['success_rate_se_deterministic']:.4f} "
          f"(mean actions)")
