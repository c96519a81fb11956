"""Violation of expectation: matched pairs of a possible and an impossible clip.

A pair is two episodes of one env from the same seed and the same random actions. The
impossible clip has one edit (Env.edit) at frame t*: frame t* and every frame after it show
the edited world, so the two clips are identical before t* (t* varies per pair). A pair whose
frames from t* on are identical at the env's own resolution (the difference does not show) is
dropped and counted, as is a pair whose episode never offers the moment its violation needs
(an object in the air, say).

    make_suite("Bounce", "voe/Bounce", pairs=64, seed=0)                 # boxlcd voe make
    suite, clips = load_suite("voe/Bounce")
    bits = {c: model_surprise(model, clips[c]) for c in CLIPS}           # boxlcd voe eval
    rows = score(bits, suite, "my model")

The suite of an env is two datasets in the format of boxlcd.dataset, `possible/` and
`impossible/`, whose episode k is pair k (both from env seed seed + k), with `pairs.json`
beside them: each pair's violation, t* and whether it is kept, and per violation how many pairs
were made, kept, dropped because the difference does not show, and skipped for want of a
moment. Dropped and skipped pairs stay in the datasets (so that episode k keeps seed + k) but
are never scored.

Violations act on the suite's subject: the env's first object ("object0": the ball, the box or
the cube), or in an env without objects its first robot, whole (by its root, e.g. "luxo0:root").
A robot's suite has every violation but resize and reshape (only objects change size and shape).
  teleport           it jumps sideways by 0.4 to 0.8 of the half-width
  vanish             it leaves the world (removed: no longer drawn or simulated)
  appear             absent from the start in both clips, it appears in the impossible one
  pass_through       from t* it no longer touches the floor and walls: it falls through
  gravity_off        gravity stops while it is in the air (the whole world's)
  gravity_reversed   gravity points up while it is in the air
  velocity_reversed  its velocity turns around in the air, with nothing touching it
  resize             it becomes half or 1.8 times its size
  reshape            a box becomes a circle, a circle a box
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

import boxlcd
from boxlcd.dataset.collector import new_manifest
from boxlcd.dataset.store import JOINABLE, MANIFEST, inside, read_json, write_json_atomically, write_shard
from boxlcd.files import replace_with, write_text

FIRST_OBJECT = "object0"
AIRBORNE = 0.1  # metres clear of the floor (a robot: of the lowest its lowest body goes in the clip)
PAIRS_FILE = "pairs.json"
CLIPS = ("possible", "impossible")  # the suite's two datasets
# The first frame a violation may touch: after the prompt frames models start from (3).
FIRST_TSTAR = 3
LAST_FRAMES = 4  # frames after the latest t*, so the violation has time to show


@dataclass(frozen=True)
class Violation:
    name: str
    moment: str  # "any", "airborne" (the body clear of the floor) or "flying" (airborne and moving)
    edits: Callable  # (state of the env at t*, Moment, rng) -> [(kind, values)] for Env.edit
    at_reset: tuple = ()  # edits in both clips at the reset
    objects_only: bool = False  # the edit changes what only an object has (size, shape)


@dataclass
class Moment:
    """What an edit may read of the env at t*: the body's pose (full_state units) and size."""
    x: float
    y: float
    angle: float
    size: float
    shape: str  # the definition's: "circle", "box", "random" or "polygon"; "robot" for a robot


def teleport(m: Moment, rng) -> list:
    jump = rng.uniform(0.4, 0.8)
    x = m.x + jump if m.x + jump <= 0.85 else m.x - jump
    return [("pose", dict(x=float(x), y=m.y, angle=m.angle))]


def reshape(m: Moment, rng) -> list:
    to = {"box": "circle", "polygon": "circle", "circle": "box"}.get(m.shape) or str(rng.choice(["circle", "box"]))
    return [("reshape", dict(shape=to))]


VIOLATIONS = {v.name: v for v in (
    Violation("teleport", "any", teleport),
    Violation("vanish", "any", lambda m, rng: [("remove", {})]),
    Violation("appear", "any", lambda m, rng: [("add", dict(x=float(rng.uniform(-0.6, 0.6)), y=0.5, angle=0.0))],
              at_reset=(("remove", {}),)),
    Violation("pass_through", "any", lambda m, rng: [("pass_through", {})]),
    Violation("gravity_off", "airborne", lambda m, rng: [("gravity", dict(gx=0.0, gy=0.0))]),
    Violation("gravity_reversed", "airborne", lambda m, rng: [("gravity", dict(gx=0.0, gy=9.81))]),
    Violation("velocity_reversed", "flying", lambda m, rng: [("scale_velocity", dict(scale=-1.0))]),
    Violation("resize", "any", lambda m, rng: [("resize", dict(scale=float(rng.choice([0.5, 1.8]))))],
              objects_only=True),
    Violation("reshape", "any", reshape, objects_only=True),
)}
GLOBAL_EDITS = {"gravity"}  # edits of the world, not of a body


class SuiteError(ValueError):
    """A suite that cannot be read as it is: pairs.json malformed, contradicting itself or its
    two datasets, or a file leading out of the suite's folder. The message names the file."""


def check_violations(names) -> list[str]:
    names = list(VIOLATIONS) if names is None else list(names)
    unknown = [n for n in names if n not in VIOLATIONS]
    if unknown:
        raise ValueError(f"unknown violation type {unknown[0]!r}; types: {', '.join(VIOLATIONS)}")
    return names


def subject(env: boxlcd.Env) -> str:
    """The body the env's violations act on: its first object, else its first robot's root."""
    if env.definition.objects:
        return FIRST_OBJECT
    roots = [name for name in env.body_names if name.endswith(":root")]
    if not roots:
        raise ValueError(f"{env.definition.name} has no object or robot to violate")
    return roots[0]


def violations_for(env: boxlcd.Env, names) -> list[str]:
    """The violation types of the env's suite: `names` (default all that apply to its subject);
    one that only an object can undergo is refused in an env without objects."""
    if env.definition.objects:
        return check_violations(names)
    if names is None:
        return [n for n, v in VIOLATIONS.items() if not v.objects_only]
    names = check_violations(names)
    for n in names:
        if VIOLATIONS[n].objects_only:
            raise ValueError(f"{n} changes what only an object has; {env.definition.name} has no object (its suite's "
                             f"subject is the robot {subject(env)})")
    return names


def apply(env: boxlcd.Env, envs, edits) -> None:
    for kind, values in edits:
        env.edit(kind, envs=envs, **({} if kind in GLOBAL_EDITS else {"body": subject(env)}), **values)


def body_track(env: boxlcd.Env, states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, angle) of the subject over an (n, T + 1, D) state array; x and y in full_state units."""
    body = subject(env)
    k = {c: env.state_keys.index(f"{body}:{c}") for c in ("x:p", "y:p", "cos", "sin")}
    return states[..., k["x:p"]], states[..., k["y:p"]], np.arctan2(states[..., k["sin"]], states[..., k["cos"]])


def clearance(env: boxlcd.Env, states: np.ndarray) -> np.ndarray:
    """(n, T + 1) metres the subject is clear of the floor: an object's lowest point (its centre
    less its size) above the floor; a robot's lowest body centre above the lowest that centre
    goes in the clip (where it stands), as its bodies' extents are not in the state."""
    d = env.definition
    metres = lambda y: (y + 1) / 2 * d.height  # noqa: E731 (full_state y to metres above the floor)
    if d.objects:
        return metres(body_track(env, states)[1]) - d.objects[0].size
    robot = subject(env).split(":")[0]
    ys = [i for i, key in enumerate(env.state_keys) if key.startswith(f"{robot}:") and key.endswith(":y:p")]
    lowest = metres(states[..., ys].min(axis=-1))
    return lowest - lowest.min(axis=1, keepdims=True)


def moments(env: boxlcd.Env, states: np.ndarray, need: str) -> np.ndarray:
    """(n, T + 1) bool: frames where a violation that needs `need` may happen."""
    d = env.definition
    x, y, _ = body_track(env, states)
    T = states.shape[1] - 1
    ok = np.zeros(x.shape, bool)
    ok[:, FIRST_TSTAR:T + 1 - LAST_FRAMES] = True
    if need == "any":
        return ok
    ok &= clearance(env, states) > AIRBORNE
    if need == "flying":
        speed = np.zeros_like(x)
        speed[:, 1:] = np.hypot(np.diff(x, axis=1) * d.width / 2, np.diff(y, axis=1) * d.height / 2)
        ok &= speed > 0.05  # metres per step
    return ok


def run_pairs(env_name: str, violation: Violation, n: int, seed: int, rng: np.random.Generator) -> dict:
    """n pairs of one violation: arrays of both clips, each pair's t* (-1: no moment) and kept."""
    clips = [boxlcd.make(env_name, num_envs=n, seed=seed, autoreset_mode="disabled") for _ in range(2)]
    T = clips[0].definition.ep_len
    actions = rng.uniform(-1, 1, (T, n, clips[0].action_size)).astype(np.float32)
    out = []
    for c, env in enumerate(clips):
        obs = env.reset(seed=seed)
        apply(env, list(range(n)), violation.at_reset)
        frames = np.empty((n, T + 1) + obs["lcd"].shape[1:], np.uint8)
        state = np.empty((n, T + 1, len(env.state_keys)), np.float32)
        proprio = np.empty((n, T + 1, len(env.proprio_keys)), np.float32)
        if c == 1:  # t* from the possible clip's track, which the impossible one follows until then
            ok = moments(env, out[0]["full_state"], violation.moment)
            t_star = np.array([rng.choice(np.flatnonzero(row)) if row.any() else -1 for row in ok])
            shape = boxlcd.Shape.__members__
            objects = env.definition.objects
            kind = {v: k.lower() for k, v in shape.items()}[objects[0].body.shape] if objects else "robot"
            size = objects[0].size if objects else 0.0
        for t in range(T + 1):
            if t:
                obs = env.step(actions[t - 1])[0]
            if c == 1:
                for i in np.flatnonzero(t_star == t):
                    x, y, angle = (float(v[i, 0]) for v in body_track(env, obs["full_state"][:, None]))
                    moment = Moment(x=x, y=y, angle=angle, size=size, shape=kind)
                    apply(env, [int(i)], violation.edits(moment, rng))
            frames[:, t], state[:, t], proprio[:, t] = obs["lcd"], obs["full_state"], obs["proprio"]
        out.append({"frames": frames, "full_state": state, "proprio": proprio})
        env.close()
    after = np.arange(T + 1)[None, :] >= t_star[:, None]
    differs = (out[0]["frames"] != out[1]["frames"]).any(axis=(2, 3)) & after
    kept = (t_star >= 0) & differs.any(axis=1)
    return {"clips": out, "actions": np.moveaxis(actions, 0, 1), "t_star": t_star, "kept": kept}


def make_suite(env: str, out: str | os.PathLike, pairs: int = 64, seed: int = 0,
               violations=None) -> dict:
    """Writes the suite of one env into the folder `out` (see the module doc); returns pairs.json's
    content. Pair k (over all violations, `pairs` each, in VIOLATIONS order) starts from env seed
    seed + k, so `possible/` and `impossible/` are datasets whose episode k is pair k."""
    if env not in boxlcd.envs():
        raise ValueError(f"env must be a built-in env name ({', '.join(boxlcd.envs())}), got {env!r}")
    probe = boxlcd.make(env, num_envs=1)
    subject(probe)  # an env with neither an object nor a robot is refused
    names = violations_for(probe, violations)
    if not isinstance(pairs, int) or isinstance(pairs, bool) or not 1 <= pairs <= 100_000:
        raise ValueError(f"pairs must be an int in [1, 100000], got {pairs!r}")
    if not _is_int(seed) or not 0 <= seed < 2**62:
        raise ValueError(f"seed must be an int in [0, 2**62), got {seed!r}")
    root = Path(out)
    for clip in CLIPS:
        if (root / clip / MANIFEST).exists():
            raise FileExistsError(f"{root / clip} already holds a dataset; give a new folder")
    arrays = [{k: [] for k in ("frames", "actions", "full_state", "proprio")} for _ in CLIPS]
    records, summary = [], {}
    for j, name in enumerate(names):
        first_seed = seed + j * pairs
        r = run_pairs(env, VIOLATIONS[name], pairs, first_seed, np.random.default_rng([seed, j]))
        summary[name] = {"made": pairs, "kept": int(r["kept"].sum()),
                         "dropped_invisible": int(((r["t_star"] >= 0) & ~r["kept"]).sum()),
                         "no_moment": int((r["t_star"] < 0).sum())}
        for i in range(pairs):
            records.append({"pair": len(records), "violation": name, "t_star": int(r["t_star"][i]),
                            "kept": bool(r["kept"][i])})
        for c, clip in enumerate(r["clips"]):
            for key in ("frames", "full_state", "proprio"):
                arrays[c][key].append(clip[key])
            arrays[c]["actions"].append(r["actions"])
    n = len(records)
    for c, clip in enumerate(CLIPS):
        stacked = {k: np.concatenate(v) for k, v in arrays[c].items()}
        stacked["seeds"] = seed + np.arange(n, dtype=np.int64)
        (root / clip).mkdir(parents=True, exist_ok=True)
        manifest = new_manifest(probe, env, {}, n, n, seed, f"random, {clip} clips of violation-of-expectation pairs")
        manifest["shards"] = [write_shard(root / clip, 0, stacked)]
        manifest["complete"] = True
        write_json_atomically(root / clip / MANIFEST, manifest)
    content = {"env": env, "seed": seed, "pairs": records, "summary": summary}
    write_json_atomically(root / PAIRS_FILE, content)
    return content


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_pairs(folder: str | os.PathLike) -> dict:
    """pairs.json of one env's suite, checked for what readers rely on (without its datasets):
    a built-in env, pair k at place k with a known violation, a kept flag and a t* (-1: no
    moment, never kept), and a summary that counts the pairs as they are. Raises SuiteError."""
    root = Path(folder)
    path = root / PAIRS_FILE
    if not path.is_file():
        raise SuiteError(f"{root} is not a violation-of-expectation suite of one env (no {PAIRS_FILE}; "
                         "make one with `boxlcd voe make`)")
    inside(path, root.resolve(), SuiteError, "the suite")
    suite = read_json(path, SuiteError)
    if not isinstance(suite, dict):
        raise SuiteError(f"{path} must hold a JSON object, not {type(suite).__name__}")
    for key, test, wanted in (("env", lambda v: isinstance(v, str), "a string"),
                              ("seed", lambda v: _is_int(v) and 0 <= v < 2**62, "an int in [0, 2**62)"),
                              ("pairs", lambda v: isinstance(v, list) and v, "a list of pairs"),
                              ("summary", lambda v: isinstance(v, dict), "an object")):
        if key not in suite:
            raise SuiteError(f"{path}: {key} is missing")
        if not test(suite[key]):
            raise SuiteError(f"{path}: {key} is {suite[key]!r}, expected {wanted}")
    if suite["env"] not in boxlcd.envs():
        raise SuiteError(f"{path}: env is {suite['env']!r}, not a built-in env ({', '.join(boxlcd.envs())})")
    fields = {"pair": (_is_int, "its place in pairs"), "violation": (lambda v: v in VIOLATIONS, "a violation type"),
              "t_star": (lambda v: _is_int(v) and v >= -1, "an int >= -1"),
              "kept": (lambda v: isinstance(v, bool), "true or false")}
    counts = {}
    for k, p in enumerate(suite["pairs"]):
        if not isinstance(p, dict):
            raise SuiteError(f"{path}: pairs[{k}] must be a JSON object, not {type(p).__name__}")
        for key, (test, wanted) in fields.items():
            if key not in p:
                raise SuiteError(f"{path}: pairs[{k}].{key} is missing")
            if not test(p[key]) or (key == "pair" and p[key] != k):
                raise SuiteError(f"{path}: pairs[{k}].{key} is {p[key]!r}, expected {k if key == 'pair' else wanted}")
        if p["kept"] and p["t_star"] < 0:
            raise SuiteError(f"{path}: pairs[{k}] is kept but has no t_star ({p['t_star']})")
        c = counts.setdefault(p["violation"], {"made": 0, "kept": 0, "dropped_invisible": 0, "no_moment": 0})
        c["made"] += 1
        c["kept" if p["kept"] else "dropped_invisible" if p["t_star"] >= 0 else "no_moment"] += 1
    if suite["summary"] != counts:
        differ = sorted(v for v in set(counts) | set(suite["summary"]) if suite["summary"].get(v) != counts.get(v))
        raise SuiteError(f"{path}: summary.{differ[0]} is {suite['summary'].get(differ[0])}, but the pairs "
                         f"count {counts.get(differ[0])}")
    return suite


def load_suite(folder: str | os.PathLike) -> tuple[dict, dict]:
    """(pairs.json's content, {"possible": Episodes, "impossible": Episodes}) of one env's suite,
    checked against each other: both datasets of the suite's env and seed (hence its physics, as
    Episodes checks each against the engine), one episode per pair, the same actions, and every
    t* inside the clips. Raises SuiteError or DatasetError (both ValueError) naming the file."""
    from boxlcd.dataset import Episodes

    root = Path(folder)
    suite = read_pairs(root)
    clips = {clip: Episodes(inside(root / clip, root.resolve(), SuiteError, "the suite")) for clip in CLIPS}
    path = root / PAIRS_FILE
    possible, impossible = (clips[c] for c in CLIPS)
    for clip, data in clips.items():
        m = data.manifest
        for key in ("env", "seed"):
            if m[key] != suite[key]:
                raise SuiteError(f"{path}: {key} is {suite[key]!r}, but {data.path / MANIFEST} says {m[key]!r}")
        if m["overrides"]:  # pairs are made of the env as built: the engine oracle replays it so
            raise SuiteError(f"{data.path / MANIFEST}: overrides is {m['overrides']}, but a suite's pairs are made "
                             "of the built-in env without overrides")
        if len(data) != len(suite["pairs"]):
            raise SuiteError(f"{path} lists {len(suite['pairs'])} pairs, but {data.path} holds {len(data)} episodes")
    differ = [k for k in JOINABLE if possible.manifest[k] != impossible.manifest[k]]
    if differ:
        raise SuiteError(f"{possible.path} and {impossible.path} differ in {', '.join(differ)}: not one env's pairs")
    late = next((p for p in suite["pairs"] if p["t_star"] > possible.ep_len), None)
    if late is not None:
        raise SuiteError(f"{path}: pairs[{late['pair']}].t_star is {late['t_star']}, outside its clips' frames "
                         f"0..{possible.ep_len}")
    for s in range(possible.num_shards):
        a, b = possible.shard_arrays(s)["actions"], impossible.shard_arrays(s)["actions"]
        if a.shape != b.shape or not np.array_equal(a, b):
            raise SuiteError(f"{possible.path} and {impossible.path} differ in the actions of shard {s}: "
                             "a pair's clips share their actions")
    return suite, clips


def pair_pictures(folder: str | os.PathLike, violation: str, scale: int = 8) -> tuple[list[np.ndarray], dict]:
    """The first kept pair of a violation as pictures: the possible clip left, the impossible one
    right, a red bar under the impossible clip from t* on; and the pair's record."""
    from boxlcd.render import lcd_picture

    check_violations([violation])
    suite, clips = load_suite(folder)
    pair = next((p for p in suite["pairs"] if p["kept"] and p["violation"] == violation), None)
    if pair is None:
        raise ValueError(f"{folder} keeps no pair of {violation}")
    cols = clips["possible"].frame_shape[1]
    a, b = (clips[c].episode(pair["pair"])["frames"] for c in CLIPS)
    pictures = []
    for t in range(len(a)):
        left, right = lcd_picture(a[t], cols, scale), lcd_picture(b[t], cols, scale)
        bar = np.full((scale, right.shape[1], 3), 255, np.uint8)
        if t >= pair["t_star"]:
            bar[:] = (220, 40, 40)
        gap = np.full((left.shape[0] + scale, scale, 3), 128, np.uint8)
        pictures.append(np.concatenate([np.concatenate([left, np.full_like(bar, 255)]), gap,
                                        np.concatenate([right, bar])], axis=1))
    return pictures, pair


# ---- scoring surprise ----

LN2 = float(np.log(2.0))


def model_surprise(model, episodes, batch: int = 64, device: str = "cpu", name: str = "") -> np.ndarray:
    """(N, T + 1) bits: -log2 p(frame t | frames before it, actions) of every suite episode,
    teacher-forced (frame 0 given nothing)."""
    import torch

    from boxlcd.dataset.windows import Windows
    from boxlcd.models.spec import prepare

    windows = Windows(episodes, window=episodes.ep_len + 1)
    out = []
    model.eval()
    with torch.no_grad():
        for first in range(0, len(windows), batch):
            b = prepare(windows.__getitems__(np.arange(first, min(len(windows), first + batch))), device)
            out.append(model.frame_nll(b).double().cpu().numpy() / LN2)
    bits = np.concatenate(out)
    if not np.isfinite(bits).all():
        raise ValueError(f"{name or type(model).__name__} gives no likelihood of frames (its frame_nll is not "
                         "finite); surprise needs a model with one (the engine's own: --engine)")
    return bits


def engine_surprise(episodes, suite: dict, flip: float = 1e-3) -> np.ndarray:
    """(N, T + 1) bits under the engine itself: each episode of one of the suite's datasets
    replayed from its seed with its actions and no violation, each pixel matching the replay
    with probability 1 - flip. The posterior oracle of the suite: it knows the start state, so
    only a violation surprises it."""
    m = episodes.manifest
    env = boxlcd.make(m["env"], num_envs=1, autoreset_mode="disabled", **m.get("overrides", {}))
    cols = m["frame_shape"][1]
    rows = []
    for p in suite["pairs"]:
        ep = episodes.episode(p["pair"])
        obs = env.reset(seed=int(ep["seeds"]))
        apply(env, [0], VIOLATIONS[p["violation"]].at_reset)
        frames = [obs["lcd"][0].copy()]
        for a in ep["actions"]:
            frames.append(env.step(a[None])[0]["lcd"][0].copy())
        replay = np.unpackbits(np.stack(frames), axis=-1)[..., :cols]
        truth = np.unpackbits(np.asarray(ep["frames"]), axis=-1)[..., :cols]
        wrong = (replay != truth).sum(axis=(1, 2))
        rows.append(-(wrong * np.log2(flip) + (replay[0].size - wrong) * np.log2(1 - flip)))
    env.close()
    return np.stack(rows)


def pair_scores(bits: dict, pairs: list[dict], reduce: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the surprise of the possible and of the impossible clip over frames t >= t*:
    their maximum (reduce "max", the per-clip score) or their sum ("sum"). bits: {clip: (N, T + 1)}."""
    f = np.max if reduce == "max" else np.sum
    return tuple(np.array([f(bits[clip][p["pair"], p["t_star"]:]) for p in pairs]) for clip in CLIPS)


def kept_pairs(suite: dict, path: str | os.PathLike | None = None) -> list[dict]:
    """The suite's kept pairs; a clear error when it keeps none (every difference invisible or
    no moment for it: accuracy and AUC over no pairs are not numbers)."""
    kept = [p for p in suite["pairs"] if p["kept"]]
    if not kept:
        raise SuiteError(f"{path or suite['env'] + ' suite'}: none of its {len(suite['pairs'])} pairs is kept, so "
                         "there is nothing to score (make the suite with more --pairs)")
    return kept


def accuracy_and_auc(possible: np.ndarray, impossible: np.ndarray) -> tuple[float, float]:
    """Pairwise accuracy (the impossible clip scores higher than its own possible one; a tie
    counts half) and ROC-AUC of telling impossible from possible clips by score over all clips
    (scipy's Mann-Whitney U over n x n, the same tie rule)."""
    from scipy.stats import mannwhitneyu

    accuracy = float(np.mean((impossible > possible) + 0.5 * (impossible == possible)))
    u = mannwhitneyu(impossible, possible, alternative="two-sided").statistic
    return accuracy, float(u / (len(possible) * len(impossible)))


def score(bits: dict, suite: dict, model: str, bound: bool = False) -> list[dict]:
    """Rows of voe.json for one model on one env's suite: per violation type, then all types,
    over the kept pairs. bits: {clip: (N, T + 1) surprise} for both of the suite's datasets.
    A suite with no kept pair is refused: there is nothing to score."""
    rows = []
    kept = kept_pairs(suite)
    names = sorted({p["violation"] for p in kept}, key=list(VIOLATIONS).index)
    for name in names + ["all"]:
        pairs = [p for p in kept if name in ("all", p["violation"])]
        row = {"model": model, "env": suite["env"], "violation": name, "pairs": len(pairs), "bound": bound}
        row["pairwise_accuracy"], row["auc"] = accuracy_and_auc(*pair_scores(bits, pairs, "max"))
        row["pairwise_accuracy_sum"], row["auc_sum"] = accuracy_and_auc(*pair_scores(bits, pairs, "sum"))
        rows.append(row)
    return rows


# ---- the commands: boxlcd voe make / boxlcd voe eval ----

CONTROLS = ("marginal", "copy_last", "constant_velocity")


def env_suites(folder: str | os.PathLike) -> dict[str, Path]:
    """{env: suite folder} of a folder holding one env's suite or one per env (voe make --out)."""
    root = Path(folder)
    if (root / PAIRS_FILE).exists():
        return {read_pairs(root)["env"]: root}
    found = {}
    for d in sorted(root.glob("*")):
        if not (d / PAIRS_FILE).exists():
            continue
        inside(d, root.resolve(), SuiteError, "the folder")
        env = read_pairs(d)["env"]
        if env in found:
            raise SuiteError(f"{found[env]} and {d} are both suites of {env}: keep one per env in {root}")
        found[env] = d
    if not found:
        raise SuiteError(f"{root} holds no violation-of-expectation suite (make one with `boxlcd voe make`)")
    return found


def fitted_control(name: str, spec: dict, data: str, episodes: int = 2000):
    """A closed-form control (CONTROLS) fit on up to `episodes` training episodes of `data`."""
    from boxlcd.dataset import Episodes
    from boxlcd.dataset.windows import Windows
    from boxlcd.models import build
    from boxlcd.models.spec import prepare

    train = Episodes(data)
    if train.manifest["env"] != spec["env"]:
        raise ValueError(f"--fit {spec['env']}={data}: that dataset is of {train.manifest['env']}")
    windows = Windows(train, window=train.ep_len + 1)
    model = build(name, spec)
    n = min(episodes, len(windows))
    model.fit(prepare(windows.__getitems__(np.arange(i, min(n, i + 256))), "cpu") for i in range(0, n, 256))
    return model


def evaluate_suite(runs: list[str], suite: str | os.PathLike, out: str | os.PathLike, fit: dict | None = None,
                   untrained: bool = False, engine: bool = False, device: str = "cpu") -> list[dict]:
    """Scores each run (and the controls asked for) on the suite of its env; writes voe.json,
    voe.md and voe.png into `out`; returns voe.json's rows. A suite that keeps no pair is
    refused before anything is loaded (kept_pairs)."""
    import torch

    from boxlcd.models import build
    from boxlcd.models.checkpoint import load_model
    from boxlcd.models.spec import data_spec

    suites = env_suites(suite)
    for folder in suites.values():  # before any model is loaded
        kept_pairs(read_pairs(folder), folder / PAIRS_FILE)
    fit = fit or {}
    scorers = []  # (env, name, bound, surprise function of a dataset)
    for run in runs:
        model, _ = load_model(run, device)
        env = model.spec["env"]
        if env not in suites:
            raise ValueError(f"{run} is a model of {env}, but the suite {suite} holds {', '.join(suites)} only")
        scorers.append((env, Path(run).name, bool(model.bound),
                        lambda clip, s, m=model, r=run: model_surprise(m, clip, device=device, name=r)))
    for env, data in fit.items():
        if env not in suites:
            raise ValueError(f"--fit {env}=...: the suite {suite} holds {', '.join(suites)} only")
    for env, folder in suites.items():
        spec = data_spec(load_suite(folder)[1]["possible"])
        for name in CONTROLS if env in fit else ():
            scorers.append((env, name, False, lambda clip, s, m=fitted_control(name, spec, fit[env]): model_surprise(m, clip)))
        if untrained:
            torch.manual_seed(0)
            scorers.append((env, "untrained frame_transformer", False,
                            lambda clip, s, m=build("frame_transformer", spec): model_surprise(m, clip)))
        if engine:
            scorers.append((env, "engine (posterior oracle)", False, engine_surprise))
    rows, examples = [], {}
    for env, name, bound, surprise in scorers:
        pairs, clips = load_suite(suites[env])
        bits = {c: surprise(clips[c], pairs) for c in CLIPS}
        rows += score(bits, pairs, name, bound)
        examples.setdefault(env, (name, bits, pairs))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(out / "voe.json", rows)
    write_text(out / "voe.md", markdown(rows))
    plot_examples(examples, out / "voe.png")
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| env | model | violation | pairs | pairwise accuracy | ROC-AUC | accuracy (sum) | AUC (sum) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        model = r["model"] + (" (bound)" if r["bound"] else "")
        lines.append(f"| {r['env']} | {model} | {r['violation']} | {r['pairs']} | {r['pairwise_accuracy']:.3f} | "
                     f"{r['auc']:.3f} | {r['pairwise_accuracy_sum']:.3f} | {r['auc_sum']:.3f} |")
    return "\n".join(lines) + (
        "\n\nSurprise: -log2 p(frame | earlier frames, actions), teacher-forced. A clip's score is its largest "
        "surprise from t* on (the sum in the last two columns); pairwise accuracy: the impossible clip scores "
        "higher than its possible partner (ties count half); ROC-AUC over all kept clips. (bound): the model's "
        "likelihood is a bound (ELBO or code bound), so its surprise is one too.\n")


def plot_examples(examples: dict, path: Path) -> None:
    """Surprise against time for one kept pair per violation type, per env (the first model's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(examples)
    fig, axes = plt.subplots(len(envs), len(VIOLATIONS), figsize=(2.2 * len(VIOLATIONS), 2.0 * len(envs)),
                             squeeze=False, sharey="row")
    for r, env in enumerate(envs):
        name, bits, pairs = examples[env]
        for c, violation in enumerate(VIOLATIONS):
            ax = axes[r][c]
            pair = next((p for p in pairs["pairs"] if p["kept"] and p["violation"] == violation), None)
            ax.set_title(violation if r == 0 else "", fontsize=8)
            if pair is None:
                ax.axis("off")
                continue
            for clip, colour in zip(CLIPS, ("tab:blue", "tab:red")):
                ax.plot(bits[clip][pair["pair"]], color=colour, lw=1, label=clip)
            ax.axvline(pair["t_star"], color="k", lw=0.5, ls="--")
            ax.tick_params(labelsize=6)
        axes[r][0].set_ylabel(f"{env}\n{name}\nbits", fontsize=7)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    replace_with(path, lambda tmp: fig.savefig(tmp, dpi=100))
    plt.close(fig)
