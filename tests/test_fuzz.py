"""Bounded fuzz: random bad values for every override, definition field, reset
argument, action, send/recv argument, render size and Gymnasium or goal-task constructor
argument, each case in a subprocess.

The cases are drawn from the field tables (boxlcd.<Def>.fields, boxlcd.override_names()), so a
field added to a table is fuzzed without editing this file, with a fixed seed and a fixed
count: every run tries the same cases. Each case is a line of Python; a child interpreter runs
a chunk of them, each either raising a clean exception (ValueError, TypeError, RuntimeError,
MemoryError or OverflowError, with a message) or finishing with finite observations inside
their space after a few steps. A child that dies by a signal or hangs has its unfinished cases
rerun one per child, which names the culprit.
"""
from __future__ import annotations

import functools
import math
import os
import random

import boxlcd
from fuzzing import CHECK, check_results, run_cases

SEED = 13
CHUNK = 60  # cases per child
# Seconds a chunk (or one rerun case) may take before it counts as a hang; reached only by one.
TIMEOUT = int(os.environ.get("BOXLCD_FUZZ_TIMEOUT", "240"))

# ---- the child: helpers the cases call, and the loop that runs them --------------------------

CHILD = r'''
import json, sys, traceback
import numpy as np
import boxlcd
from boxlcd.gym_env import GymEnv, GymVectorEnv, observation_space
from boxlcd.worlds import Body, Joint, Limb, Robot, World, WorldObject
import gymnasium
try:
    from boxlcd.tasks import make_task
except ImportError:
    make_task = None

nan, inf = float("nan"), float("inf")


''' + CHECK + r'''

def settle(env, steps=3, reset=True):
    """Resets (unless reset=False) and steps a boxlcd Env; checks every observation."""
    space = observation_space(env.batch)
    if reset:
        check(env.reset(seed=1), space, "reset")
    else:
        check(env._obs, space, "reset")
    rng = np.random.default_rng(0)
    for t in range(steps):
        a = rng.uniform(-1, 1, (env.num_envs, env.action_size)).astype(np.float32)
        if t == 1:
            a[:] = 1.0
        obs, *_ = env.step(a)
        check(obs, space, f"step {t}")


def settle_edit(name, kind, envs=0, body=None, other=None, **values):
    """Resets two envs of `name`, edits them, then steps: the edit either raises, or every
    observation stays finite and (but after pass_through, which may let a body leave the
    world, as documented) inside its space."""
    env = boxlcd.make(name, num_envs=2)
    space = observation_space(env.batch)
    env.reset(seed=1)
    loose = kind == "pass_through"
    rng = np.random.default_rng(0)
    obs = env.edit(kind, envs, body, other, **values)
    for t in range(4):
        if loose:
            assert all(np.isfinite(v).all() for v in obs.values()), f"step {t}: not finite"
        else:
            check(obs, space, f"after the edit, step {t}")
        obs, *_ = env.step(rng.uniform(-1, 1, (2, env.action_size)).astype(np.float32))


def settle_gym(env, steps=3):
    """The same for a Gymnasium env or vector env."""
    space = getattr(env, "single_observation_space", env.observation_space)
    obs, _ = env.reset(seed=0)
    check(obs, space, "reset")
    env.action_space.seed(0)
    for t in range(steps):
        obs, *_ = env.step(env.action_space.sample())
        check(obs, space, f"step {t}")
    env.close()


def defined(env, via, changes):
    """A built-in env's definition, as boxlcd.worlds.World (via "world") or boxlcd.WorldDef
    (via "def"), with each path ("robots.0.limbs.1.body.radius") set to the value of its source
    (`cur` names the field's current value)."""
    root = World.builtin(env) if via == "world" else boxlcd.env_def(env)
    for path, source in changes.items():
        parts = path.split(".")

        def go(obj, i):
            key = parts[i]
            get = (lambda: obj[int(key)]) if key.isdigit() else (lambda: getattr(obj, key))
            if i == len(parts) - 1:
                value = eval(source, {**globals(), "cur": get()})
                if key.isdigit():
                    obj[int(key)] = value
                else:
                    setattr(obj, key, value)
                return
            child = get()
            go(child, i + 1)
            if isinstance(child, list) and not key.isdigit():
                setattr(obj, key, child)  # WorldDef lists are copies: assign them back

        go(root, 0)
    return root


def arr(shape, dtype="float32", fill="uniform", seed=0, lo=-1.0, hi=1.0, put=None, layout="C"):
    """An array: uniform in [lo, hi] (fill "edges": lo or hi only), put {flat index: value}
    written in float64, then cast to dtype and laid out C, F (Fortran) or strided."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(lo, hi, shape) if fill == "uniform" else rng.choice([lo, hi], shape)
    a = np.asarray(a, np.float64)
    for k, v in (put or {}).items():
        if a.size:
            a.flat[k % a.size] = v
    with np.errstate(all="ignore"):
        a = a.astype(dtype)
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    return a


CLEAN = (ValueError, TypeError, RuntimeError, MemoryError, OverflowError)
'''


# ---- values ------------------------------------------------------------------------------------
# Every value is Python source, evaluated in the child (nan and inf are names there).

GENERIC = ["nan", "-nan", "inf", "-inf", "0", "0.0", "-1", "-0.0", "1e30", "-1e30", "1e300", "2**63", "2**64+1",
           "-2**63", "10**400", "1e-30", "-1e-30", "'1'", "''", "None", "[1.0]", "()", "True", "False",
           "np.float32(nan)", "np.float64(inf)", "np.float32(1e-30)", "np.int64(-1)", "np.uint64(2**64-1)",
           "np.int32(2**31-1)", "np.bool_(True)", "np.float16(65504)", "np.array(1.0)", "np.array([1.0, 2.0])",
           "1+2j", "b'1'", "object()"]


def boundaries(lo: float, hi: float, integral: bool) -> list[str]:
    """Values just inside and just outside [lo, hi]."""
    if integral:
        lo, hi = int(lo), int(hi)
        return [repr(v) for v in (lo, hi, lo - 1, hi + 1, (lo + hi) // 2)] + [repr(lo + 0.5), f"np.int64({hi + 1})"]
    out = [lo, hi, math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf), (lo + hi) / 2,
           lo - abs(lo) * 1e-6 - 1e-9, hi + abs(hi) * 1e-6 + 1e-9]
    return [repr(v) for v in out] + [f"np.float32({hi!r})", f"np.float64({lo!r})"]


def number_values(kind: str, bounds, rng: random.Random, k: int) -> list[str]:
    """k values for a number field: its boundaries first (shuffled), then generic bad ones."""
    edge = boundaries(bounds[0], bounds[1], kind == "int") if bounds else []
    rng.shuffle(edge)
    return (edge[: (k + 1) // 2] + rng.sample(GENERIC, k))[:k]


def vec_values(bounds, rng: random.Random, k: int) -> list[str]:
    comps = (boundaries(bounds[0], bounds[1], False) if bounds else []) + ["nan", "inf", "-inf", "1e300", "0.0"]
    shaped = ["(1.0,)", "(0.1, 0.2, 0.3)", "'ab'", "None", "1.0", "np.array([0.1, 0.2])", "[0.1, 0.2]",
              "(np.float32(0.1), np.int64(1))", "('a', 1)", "(None, 0.1)", "(True, 0.1)"]
    out = []
    for _ in range(k):
        if rng.random() < 0.6:
            c = rng.choice(comps)
            out.append(f"({c}, 0.1)" if rng.random() < 0.5 else f"(0.1, {c})")
        else:
            out.append(rng.choice(shaped))
    return out


def polygon(rng: random.Random) -> str:
    """A random vertex list: regular, concave, collinear, repeated, random, tiny, huge, far off
    centre, clockwise, too few or too many vertices, or holding a non-number."""
    style = rng.choice(["regular", "regular", "regular", "regular", "concave", "collinear", "repeat", "random", "scaled", "offset",
                        "sliver", "nonnumber", "shape"])
    n = rng.choice([0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 8, 9, 12])
    r = rng.choice([0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.2, 0.3, 0.5, 1.0, 3.0, 50.0, 999.0])
    turn = rng.uniform(0, 2 * math.pi)
    sign = rng.choice([1, 1, -1])  # -1: clockwise
    pts = [(r * math.cos(turn + sign * 2 * math.pi * i / max(n, 1)), r * math.sin(turn + sign * 2 * math.pi * i / max(n, 1)))
           for i in range(n)]
    if style == "concave" and n >= 4:
        pts[rng.randrange(n)] = (0.0, 0.0)
    elif style == "collinear":
        pts = [(r * i, 2 * r * i) for i in range(n)]
    elif style == "repeat" and n:
        k = rng.randrange(n)
        pts.insert(k, pts[k])
    elif style == "random":
        pts = [(rng.uniform(-r, r), rng.uniform(-r, r)) for _ in range(n)]
    elif style == "scaled":
        s = rng.choice([1e-30, 1e-6, 1e6, 1e30])
        pts = [(x * s, y * s) for x, y in pts]
    elif style == "offset":
        d = rng.choice([0.1, 5 * r, 9.9 * 2 * r, 10.1 * 2 * r, 999.0, 1e4])
        pts = [(x + d, y) for x, y in pts]
    elif style == "sliver":
        w = rng.choice([1e-3, 5e-3, 0.011, 0.02])
        pts = [(-r, 0.0), (r, 0.0), (0.0, w)]
    out = [f"({x!r}, {y!r})" for x, y in pts]
    if style == "nonnumber" and out:
        out[rng.randrange(len(out))] = rng.choice(["(nan, 0.0)", "(0.0, inf)", "('a', 0.0)", "(None, 1.0)",
                                                    "(1.0,)", "(0.0, 0.0, 0.0)", "1.0"])
    if style == "shape":
        return rng.choice(["None", "'abc'", "[1, 2, 3]", "[(0, 0), (1, 0), (0, 1)] * 3", "((0, 0), (1, 0), (0, 1))",
                           "np.array([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])", "[]"])
    return "[" + ", ".join(out) + "]"


def kind_values(kind: str, bounds, via: str, rng: random.Random, k: int) -> list[str]:
    """k values (source) for a field of this kind, as the dataclasses (via "world") or the C++
    WorldDef (via "def") take it."""
    world = via == "world"
    if kind in ("float", "int"):
        return number_values(kind, bounds, rng, k)
    if kind == "Vec2":
        return vec_values(bounds, rng, k)
    if kind == "list[Vec2]":
        return [polygon(rng) for _ in range(k)]
    pools = {
        "bool": ["True", "False", "0", "1", "2", "None", "'yes'", "np.bool_(False)", "1.0", "nan"],
        "str": ["''", "':'", "'a:b'", "'root'", "'x' * 100000", "'\\x00'", "'\\u00e9\\u6f22'", "None", "1", "b'x'",
                "cur + cur", "cur.upper()"],
        "Shape": (["'circle'", "'box'", "'polygon'", "'random'", "'Circle'", "''"] if world else
                  [f"boxlcd.Shape.{s}" for s in boxlcd.Shape.__members__]) + ["None", "1", "'nope'"],
        "RasterRule": (["'original'", "'area'", "'seed'", "'AREA'"] if world else
                       [f"boxlcd.RasterRule.{s}" for s in boxlcd.RasterRule.__members__]) + ["None", "0", "'x'"],
        "BodyDef": (["Body()", "Body(shape='circle', radius=0.0)", "Body(shape='polygon')", "Joint()"] if world else
                    ["boxlcd.BodyDef()", "boxlcd.JointDef()"]) + ["None", "1", "'body'"],
        "JointDef": (["Joint()", "Joint(parent='nothing')", "Joint(lower=1.0, upper=-1.0)", "Body()"] if world else
                     ["boxlcd.JointDef()", "boxlcd.BodyDef()"]) + ["None", "1"],
        "list[LimbDef]": ["[]", "cur * 2", "cur[::-1]", "cur[:1]", "cur * 8", "None", "'x'", "[None]", "[1]"],
        "list[RobotDef]": ["[]", "cur * 2", "cur * 5", "None", "'x'", "[None]", "[1.0]"],
        "list[ObjectDef]": ["[]", "cur * 2", "cur * 30", "None", "'x'", "[None]", "[1.0]"],
    }
    if kind not in pools:
        raise AssertionError(f"no fuzz values for a field of kind {kind}: add them here")
    pool = pools[kind]
    return [rng.choice(pool) for _ in range(k)]


# ---- cases -------------------------------------------------------------------------------------

ENVS = ["Urchin", "Bounce", "UrchinCube", "LuxoCube", "Crab", "SpiderCube", "Object2"]


@functools.lru_cache(maxsize=None)
def sizes(name: str) -> tuple[int, int]:
    env = boxlcd.make(name)
    return len(env.state_keys), env.action_size


def override_cases(rng: random.Random) -> list[str]:
    rows = {f["name"]: f for f in boxlcd.WorldDef.fields}
    cases = []
    for name in boxlcd.override_names():
        row = rows.get(name) or rows.get(name[:-2])  # gravity_x -> gravity
        kind = "float" if row is None or row["kind"] == "Vec2" else row["kind"]
        bounds = row["range"][:2] if row and row["range"] else None
        if kind in ("float", "int"):
            values = number_values(kind, bounds, rng, 6)
        else:
            values = kind_values(kind, bounds, "world", rng, 6)
        for value in values:
            env = rng.choice(ENVS)
            cases.append(f"settle(boxlcd.make({env!r}, num_envs=2, **{{{name!r}: {value}}}))")
    for _ in range(10):  # two at once
        a, b = rng.sample(boxlcd.override_names(), 2)
        cases.append(f"settle(boxlcd.make({rng.choice(ENVS)!r}, num_envs=2, **{{{a!r}: {rng.choice(GENERIC)}, "
                     f"{b!r}: {rng.choice(GENERIC)}}}))")
    return cases


def field_paths(cls, name: str) -> list[str]:
    """Where fields of the definition type cls live in a built-in env."""
    d = boxlcd.env_def(name)
    robots = [f"robots.{i}" for i in range(len(d.robots))]
    limbs = [f"robots.{i}.limbs.{j}" for i, r in enumerate(d.robots) for j in range(len(r.limbs))]
    objects = [f"objects.{i}" for i in range(len(d.objects))]
    return {boxlcd.WorldDef: [""], boxlcd.RobotDef: robots, boxlcd.ObjectDef: objects, boxlcd.LimbDef: limbs,
            boxlcd.JointDef: [p + ".joint" for p in limbs],
            boxlcd.BodyDef: [p + ".root" for p in robots] + [p + ".body" for p in limbs + objects]}[cls]


DEFS = [boxlcd.WorldDef, boxlcd.RobotDef, boxlcd.ObjectDef, boxlcd.LimbDef, boxlcd.JointDef, boxlcd.BodyDef]


def field_cases(rng: random.Random) -> list[str]:
    cases = []
    for cls in DEFS:
        for f in cls.fields:
            for _ in range(3):
                env = rng.choice([e for e in ENVS if field_paths(cls, e)])
                path = ".".join(p for p in (rng.choice(field_paths(cls, env)), f["name"]) if p)
                via = rng.choice(["world", "def"])
                value = kind_values(f["kind"], f["range"][:2] if f["range"] else None, via, rng, 1)[0]
                cases.append(f"settle(boxlcd.make(defined({env!r}, {via!r}, {{{path!r}: {value!r}}}), num_envs=2))")
    return cases


def polygon_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for _ in range(count):
        env = rng.choice(["Urchin", "UrchinCube", "Object2", "Bounce", "LuxoCube"])
        body = rng.choice(field_paths(boxlcd.BodyDef, env))
        via = rng.choice(["world", "def"])
        shape = "'polygon'" if via == "world" else "boxlcd.Shape.Polygon"
        changes = {f"{body}.shape": shape, f"{body}.vertices": polygon(rng)}
        cases.append(f"settle(boxlcd.make(defined({env!r}, {via!r}, {changes!r}), num_envs=2))")
    return cases


def state_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for k in range(count):
        env = rng.choice(ENVS)
        n = rng.choice([1, 2, 3])
        d, _ = sizes(env)
        walls = rng.random() < 0.7
        margin = 1.0 if walls else 1.0 + 2 * 1000.0 / 2  # without walls, positions may lie 1000 m out
        # A valid state, with at most one thing wrong (or unusual) in it.
        shape, dtype, fill, (lo, hi), put, layout, mask = (n, d), "float32", "uniform", (-1.0, 1.0), None, "C", "None"
        change = rng.choice(["none", "none", "shape", "dtype", "fill", "range", "put", "layout", "mask"])
        if change == "shape":
            shape = rng.choice([(n, d + 1), (n + 1, d), (d,), (n, d, 1), (0, d), (n, 0), ()])
        elif change == "dtype":
            dtype = rng.choice(["float64", "float16", "int32", "bool", "complex64", "object", "str"])
        elif change == "fill":
            fill = "edges"
        elif change == "range":
            lo, hi = rng.choice([(-margin, margin), (-1.5, 1.5), (0.0, 0.0), (-1e30, 1e30), (-0.99, 0.99)])
        elif change == "put":
            put = {rng.randrange(64): rng.choice(["nan", "inf", "-inf", "1.0000001", "-1.0000001", "1e30", "2.0"])}
        elif change == "layout":
            layout = rng.choice(["F", "strided"])
        elif change == "mask":
            mask = rng.choice([f"np.arange({n}) % 2 == 0", f"np.zeros({n}, bool)", f"np.ones({n + 1}, bool)",
                               f"np.ones({n}, np.float32)", f"[True] * {n}", f"np.full({n}, 7)", "'all'"])
        put_src = "None" if put is None else "{" + ", ".join(f"{i}: {v}" for i, v in put.items()) + "}"
        s = f"arr({shape!r}, {dtype!r}, {fill!r}, {k}, {lo!r}, {hi!r}, {put_src}, {layout!r})"
        if rng.random() < 0.1:
            s = rng.choice(["None", "'abc'", f"[[0.0] * {d}] * {n}", "1.0", f"np.zeros(({n}, {d}), np.float32).tolist()"])
        extra = "" if walls else ", walls=0"
        via = rng.choice(["env", "env", "gym"])
        if via == "env":
            cases.append(f"e = boxlcd.make({env!r}, num_envs={n}, seed={k}{extra}); e.reset(full_state={s}, mask={mask}); "
                         f"settle(e, reset=False)")
        else:
            opts = f"{{'full_state': {s}}}" if mask == "None" else f"{{'full_state': {s}, 'reset_mask': {mask}}}"
            cases.append(f"e = GymVectorEnv({env!r}, num_envs={n}{extra}); e.reset(seed=0); "
                         f"check(e.reset(options={opts})[0], e.single_observation_space, 'reset'); "
                         f"settle(e._env, reset=False)")
    return cases


SEEDS = ["-1", "2**64", "2**64-1", "1.5", "'1'", "None", "True", "np.uint64(2**64-1)", "np.int8(-1)", "[0, 1]",
         "np.array([1])", "[None, 3]", "[0, 1, 2]", "[-1, 0]", "nan", "np.float64(2.0)", "10**30", "b'1'"]
MASKS = ["None", "np.ones(N, bool)", "np.zeros(N, bool)", "np.ones(N + 1, bool)", "np.ones((N, 1), bool)",
         "np.ones(N, np.float64)", "np.full(N, -3)", "[True] * N", "'mask'", "np.array([object()] * N)",
         "np.ones(N, np.uint64)", "np.ones(0, bool)", "True", "np.ones(N, bool)[::-1]"]


def reset_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for k in range(count):
        env, n = rng.choice(ENVS), rng.choice([1, 2])
        seed, mask = rng.choice(SEEDS), rng.choice(MASKS)
        target = rng.choice(["env", "gym", "gymvec", "make"])
        if target == "env":
            cases.append(f"N = {n}; e = boxlcd.make({env!r}, num_envs=N); e.reset(seed={seed}, mask={mask}); "
                         f"settle(e, reset=False)")
        elif target == "make":
            cases.append(f"settle(boxlcd.make({env!r}, num_envs={n}, seed={seed}), reset=False)")
        elif target == "gym":
            cases.append(f"e = GymEnv({env!r}); check(e.reset(seed={seed})[0], e.observation_space, 'reset'); "
                         f"settle(e._env, reset=False)")
        else:
            opts = "None" if mask == "None" else f"{{'reset_mask': {mask}}}"
            cases.append(f"N = {n}; e = GymVectorEnv({env!r}, num_envs=N, autoreset_mode='disabled'); "
                         f"e.reset(seed=0); check(e.reset(seed={seed}, options={opts})[0], "
                         f"e.single_observation_space, 'reset'); settle(e._env, reset=False)")
    return cases


def action_source(rng: random.Random, k: int, rows: int | None, a: int) -> str:
    """Actions for rows envs, or for one (rows None: shape (a,)): valid ones with at most one
    thing wrong (or unusual) in them."""
    shape = (a,) if rows is None else (rows, a)
    dtype, (lo, hi), put, layout = "float32", (-1.0, 1.0), None, "C"
    change = rng.choice(["none", "shape", "dtype", "range", "put", "layout", "other"])
    if change == "shape":
        shape = rng.choice([(a + 1,), (1, a), (), (0,)] if rows is None else
                           [(rows, a + 1), (rows + 1, a), (rows * a,), (rows, a, 1), (), (0, a)])
    elif change == "dtype":
        dtype = rng.choice(["float64", "float16", "int64", "bool", "complex64", "object", "str"])
    elif change == "range":
        lo, hi = rng.choice([(-1e30, 1e30), (-1e300, 1e300), (-2.0, 2.0), (0.0, 0.0)])
    elif change == "put":
        put = {rng.randrange(32): rng.choice(["nan", "inf", "-inf", "1e300", "-0.0", "3e38"])}
    elif change == "layout":
        layout = rng.choice(["F", "strided"])
    elif change == "other":
        n = rows or 1
        return rng.choice(["None", "'abc'", "0.5", f"[[0.5] * {a}] * {n}", f"[[nan] * {a}] * {n}", "[]"])
    put_src = "None" if put is None else "{" + ", ".join(f"{i}: {v}" for i, v in put.items()) + "}"
    return f"arr({shape!r}, {dtype!r}, 'uniform', {k}, {lo!r}, {hi!r}, {put_src}, {layout!r})"


def action_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for k in range(count):
        env, n = rng.choice(ENVS), rng.choice([1, 2, 3])
        _, a = sizes(env)
        target = rng.choice(["env", "env", "gymvec", "gym"])
        if target == "env":
            acts = action_source(rng, k, n, a)
            cases.append(f"e = boxlcd.make({env!r}, num_envs={n}, autoreset_mode='same_step', ep_len=2); "
                         f"e.step({acts}); e.step({acts}); settle(e, reset=False)")
        elif target == "gymvec":
            acts = action_source(rng, k, n, a)
            cases.append(f"e = GymVectorEnv({env!r}, num_envs={n}); e.reset(seed=0); "
                         f"check(e.step({acts})[0], e.single_observation_space, 'step')")
        else:
            acts = action_source(rng, k, None, a)
            cases.append(f"e = GymEnv({env!r}); e.reset(seed=0); check(e.step({acts})[0], e.observation_space, 'step')")
    return cases


IDS = ["None", "np.arange(N)", "np.arange(N)[::-1]", "[0]", "[N]", "[-1]", "[0, 0]", "np.array([0.0])", "np.ones((1, 1), int)",
       "np.array([], int)", "np.array([True])", "np.array([2**40], np.int64)", "np.array([2**64 - 1], np.uint64)",
       "'0'", "0", "[None]", "np.array([0], np.int8)"]
BATCH_SIZES = ["None", "0", "-1", "1", "N", "N + 1", "2**31", "10**30", "1.5", "True", "'2'", "np.int64(1)",
               "np.uint64(2**64-1)", "nan", "[1]"]


def async_cases(rng: random.Random, count: int) -> list[str]:
    cases = []
    for k in range(count):
        env, n = rng.choice(ENVS), rng.choice([1, 2, 4])
        _, a = sizes(env)
        ids, size = rng.choice(IDS), rng.choice(BATCH_SIZES)
        rows = "N" if ids == "None" else f"len(np.atleast_1d({ids}))"
        then = rng.choice(["e.recv()", "e.step(np.zeros((N, A), np.float32))", f"e.send(np.zeros(({rows}, A), np.float32), {ids})",
                           "e.render_rgb(0, 8, 8)", "e.reset()", "e.close()"])
        cases.append(
            f"N, A = {n}, {a}; e = boxlcd.make({env!r}, num_envs=N, num_threads={rng.choice([1, 2])}); space = observation_space(e.batch)\n"
            f"try:\n    e.send(np.zeros(({rows}, A), np.float32), {ids})\nexcept (ValueError, TypeError):\n    pass\n"
            f"try:\n    obs = e.recv({size})[0]; check(obs, space, 'recv')\nexcept (ValueError, TypeError):\n    pass\n"
            f"try:\n    {then}\nexcept (ValueError, TypeError):\n    pass\n"
            f"if not e.closed:\n    e.recv(); settle(e)")
    return cases


def render_cases(rng: random.Random, count: int) -> list[str]:
    dims = ["None", "0", "-1", "1", "8", "16384", "16385", "2**31", "-2**31 - 1", "1.5", "'8'", "True", "np.uint8(8)",
            "np.int64(-5)", "nan", "2**64"]
    cases = []
    for _ in range(count):
        n = rng.choice([1, 3])
        env_index = rng.choice(["0", "-1", f"{n}", "2**40", "np.int32(0)", "0.0", "None", "True"])
        rows, cols = rng.choice(dims), rng.choice(dims)
        if rng.random() < 0.4:  # one of the three wrong at most
            env_index, rows, cols = "0", rng.choice(["8", "1", rows]), rng.choice(["8", "33", "None"])
        if rows == "16384" and cols == "16384":
            cols = "2"  # 800 MB of picture: in range, but no size for a test
        cases.append(f"e = boxlcd.make({rng.choice(ENVS)!r}, num_envs={n}); p = e.render_rgb({env_index}, {rows}, {cols}); "
                     f"assert p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3")
    return cases


def make_cases(rng: random.Random, count: int) -> list[str]:
    keywords = {
        "env": ["''", "'urchin'", "None", "1", "World()", "boxlcd.WorldDef()", "boxlcd.env_def('Crab')", "Robot.builtin('luxo')",
                "World(robots=[Robot.builtin('crab')] * 3)", "World(objects=[WorldObject(Body(shape='random'))] * 4)"],
        "num_envs": ["0", "-1", "2**31", "1.5", "np.int64(3)", "True", "'2'", "None", "10**6", "2**31 - 1", "10**30"],
        "num_threads": ["0", "1024", "1025", "-1", "np.uint8(2)", "1.0", "None", "2**63"],
        "seed": SEEDS,
        "autoreset_mode": ["'same_step'", "'disabled'", "'SameStep'", "None", "1", "boxlcd.AutoresetMode.SameStep"],
        "frames": ["False", "0", "None", "'no'", "np.array([1, 2])"],
    }
    cases = []
    for _ in range(count):
        chosen = rng.sample(sorted(keywords), rng.choice([1, 1, 2]))
        args = dict((key, rng.choice(keywords[key])) for key in chosen)
        env = args.pop("env", repr(rng.choice(ENVS)))
        kw = ", ".join(f"{key}={v}" for key, v in args.items())
        cases.append(f"settle(boxlcd.make({env}{', ' if kw else ''}{kw}))")
    return cases


def gym_cases(rng: random.Random, count: int) -> list[str]:
    common = {
        "render_mode": ["None", "'rgb_array'", "'ansi'", "1"],
        "lcd_format": ["'packed'", "'unpacked'", "'bits'", "None"],
        "render_scale": ["1", "0", "-1", "1.5", "True", "10**9", "np.int64(2)", "'8'"],
        "ep_len": ["1", "0", "2.5", "2**31", "nan", "None", "True", "np.int32(3)"],
        "walls": ["0", "False", "2", "nan"],
        "fps": ["1", "0", "10**4", "-inf"],
    }
    vector = {**common, "num_envs": ["0", "2", "-3", "1.5", "None"], "num_threads": ["0", "-1", "2", "10**6"],
              "autoreset_mode": ["'NextStep'", "'same_step'", "gymnasium.vector.AutoresetMode.DISABLED", "'nope'", "None"],
              "copy": ["False", "None", "'yes'"]}
    task = {"task": ["'body'", "'cube'", "'none'", "None", "1"], "num_envs": ["1", "2", "0", "-1", "2.0"],
            "threshold": ["0.05", "0", "-1", "nan", "inf", "1e-300", "1e300", "'0.1'", "None", "True", "np.float32(0.1)"],
            "ep_len": ["1", "3", "0", "-1", "2.5", "None", "nan", "2**40", "np.int64(2)"],
            "num_threads": ["2", "0", "-1"], "sim": ["'real'", "None", "1"], "walls": ["0", "nan"]}
    cases = []
    for _ in range(count):
        target = rng.choice(["GymEnv", "GymVectorEnv", "make", "make_vec", "make_task", "make_task", "goal"])
        table = task if target == "make_task" else vector if target in ("GymVectorEnv", "make_vec") else common
        chosen = rng.sample(sorted(table), rng.choice([1, 2, 3]))
        kw = ", ".join(f"{key}={rng.choice(table[key])}" for key in chosen)
        if target in ("make", "make_vec"):  # gymnasium.make itself calls str methods on render_mode
            kw = kw.replace("render_mode=1", "render_mode='ansi'")
        if target == "make_task":
            env = rng.choice(["'Urchin'", "'UrchinCube'", "'Bounce'", "'Nope'"])
            cases.append(f"settle_gym(make_task({env}, {kw}))" if kw else f"settle_gym(make_task({env}))")
        elif target == "goal":
            env = rng.choice(["UrchinBodyGoal", "LuxoCubeCubeGoal", "CrabBodyGoal"])
            kw = ", ".join(f"{key}={rng.choice(task[key])}" for key in rng.sample(["threshold", "ep_len"], 1))
            cases.append(f"settle_gym(gymnasium.make('boxlcd/{env}-v0', {kw}))")
        elif target in ("make", "make_vec"):
            env = rng.choice(ENVS)
            cases.append(f"settle_gym(gymnasium.{target}('boxlcd/{env}-v0', {kw}))")
        else:
            env = rng.choice(ENVS)
            cases.append(f"settle_gym({target}({env!r}, {kw}))")
    return cases


EDIT_KINDS = {"pose": ("x", "y", "angle"), "add": ("x", "y", "angle"), "velocity": ("vx", "vy", "omega"),
              "scale_velocity": ("scale",), "gravity": ("gx", "gy"), "resize": ("scale",), "reshape": ("shape",),
              "hide": (), "show": (), "remove": (), "pass_through": (), "collide": ()}


def edit_cases(rng: random.Random, count: int) -> list[str]:
    envs = ["0", "1", "[0, 1]", "[0, 5]", "[0, -3]", "[1, 1]", "-1", "2", "0.9", "True", "np.array([0, 1])", "[]",
            "None", "'0'"]
    bodies = ["0", "1", "'object0'", "0.9", "-1", "99", "True", "None", "'nope'", "np.int64(0)"]
    sensible = ["0.0", "0.3", "-0.5", "1.0", "2.0", "'circle'", "'box'"]
    cases = []
    for _ in range(count):
        kind = rng.choice(sorted(EDIT_KINDS) + ["'teleport'"])
        names = EDIT_KINDS.get(kind, ("x",))
        values = {k: rng.choice(sensible if rng.random() < 0.5 else GENERIC) for k in names if rng.random() < 0.8}
        if rng.random() < 0.1:
            values[rng.choice(["vx", "scale", "shape", "bogus"])] = "1.0"
        args = [repr(kind) if kind in EDIT_KINDS else kind, rng.choice(envs) if rng.random() < 0.3 else "0"]
        if kind not in ("gravity",) or rng.random() < 0.2:
            args.append(f"body={rng.choice(bodies) if rng.random() < 0.3 else repr('object0')}")
        if kind in ("pass_through", "collide"):
            args.append(f"other={rng.choice(bodies)}")
        args += [f"{k}={v}" for k, v in values.items()]
        env = rng.choice(["'UrchinCube'", "'Bounce'", "'Dropbox'"])
        cases.append(f"settle_edit({env}, {', '.join(args)})")
    return cases


def all_cases() -> list[tuple[str, str]]:
    """(category, source) of every case: the same list on every run."""
    rng = random.Random(SEED)
    categories = {
        "override": override_cases(rng),
        "field": field_cases(rng),
        "polygon": polygon_cases(rng, 40),
        "full_state": state_cases(rng, 45),
        "seed/mask": reset_cases(rng, 30),
        "action": action_cases(rng, 35),
        "send/recv": async_cases(rng, 25),
        "render": render_cases(rng, 20),
        "make": make_cases(rng, 20),
        "gym/task": gym_cases(rng, 35),
        "edit": edit_cases(rng, 60),
    }
    return [(category, source) for category, sources in categories.items() for source in sources]


# ---- running them ------------------------------------------------------------------------------

def test_fuzz():
    cases = all_cases()
    results = run_cases(CHILD, cases, CHUNK, TIMEOUT)
    # send/recv cases catch the refusals themselves, to go on with the next call.
    check_results(cases, results, must_raise={c for c, _ in cases} - {"send/recv"})


def test_cases_are_fixed_and_cover_every_field():
    a, b = all_cases(), all_cases()
    assert a == b
    sources = "\n".join(source for _, source in a)
    for name in boxlcd.override_names():
        assert repr(name) in sources, name
    for cls in DEFS:
        for f in cls.fields:
            assert f"{f['name']}'" in sources, (cls.__name__, f["name"])
