"""Definitions are values: nothing a caller holds aliases a running batch or freed storage, and
every number is checked against what Box2D can simulate before it reaches Box2D.

The probes that crashed (or corrupted the heap) before these checks run in a subprocess with a
timeout, so a crash fails its test instead of killing pytest.
"""
import dataclasses
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import boxlcd
from boxlcd import worlds

PRELUDE = """
import json, math, numpy as np, boxlcd
from boxlcd.worlds import Body, Joint, Limb, Robot, World, WorldObject
def expect_error(name, fn):
    try:
        fn()
    except (ValueError, TypeError) as e:
        print(json.dumps([name, type(e).__name__, str(e)]), flush=True)
    else:
        print(json.dumps([name, "accepted", ""]), flush=True)
"""


def run(code: str, timeout: float = 120) -> list[list[str]]:
    """Runs code after PRELUDE in a fresh interpreter; its printed JSON lines, or a failure
    naming how it died (a crash, an abort, a hang) and what it printed last."""
    try:
        p = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the probe hung for {timeout} s; it printed {e.stdout!r}")
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("[")]
    assert p.returncode == 0, f"the probe died (rc {p.returncode}) after {lines[-1:]}: {p.stderr[-2000:]}"
    return lines


def errors(code: str) -> dict[str, tuple[str, str]]:
    return {name: (kind, message) for name, kind, message in run(code)}


# ---- 1. a batch's definition is a copy: changing it never reaches running worlds ----------------

def test_changing_a_batch_definition_changes_nothing_that_runs():
    out = run("""
        e = boxlcd.make("Dropbox", num_envs=2)
        e.reset(seed=0)
        e.definition.lcd_base = 4096
        boxlcd.apply_override(e.definition, "lcd_base", 4096)
        d = e.batch.definition
        d.objects = []
        d.wh_ratio = 1e6
        d.gravity.y = 1e30
        for _ in range(30):
            obs, *_ = e.step(np.zeros((2, 1), np.float32))
        print(json.dumps([e.definition.lcd_base, len(e.definition.objects), e.definition.gravity.y,
                          list(obs["lcd"].shape), bool(np.isfinite(obs["full_state"]).all())]))
        u = boxlcd.make("Urchin")
        u.definition.robots[0].root.radius = 100.0
        r = u.definition.robots[0]
        r.limbs = []
        u.step(np.zeros((1, 3), np.float32))
        print(json.dumps([u.definition.robots[0].root.radius, len(u.definition.robots[0].limbs)]))
        from boxlcd.gym_env import GymEnv, GymVectorEnv
        g = GymEnv("Dropbox")
        g.reset(seed=0)
        g.definition.lcd_base = 4096
        boxlcd.apply_override(g.definition, "lcd_base", 4096)
        obs, *_ = g.step(np.zeros(1, np.float32))
        v = GymVectorEnv("Dropbox", num_envs=2)
        v.reset(seed=0)
        boxlcd.apply_override(v.definition, "lcd_base", 4096)
        vobs, *_ = v.step(np.zeros((2, 1), np.float32))
        print(json.dumps([g.definition.lcd_base, list(obs["lcd"].shape), v.definition.lcd_base,
                          list(vobs["lcd"].shape)]))
    """)
    assert out[0] == [16, 1, -9.81, [2, 16, 2], True]
    assert out[1] == [pytest.approx(6.4 / 30), 3]
    assert out[2] == [16, [16, 2], 16, [2, 16, 2]]


def test_a_world_def_given_to_make_is_copied():
    d = boxlcd.env_def("Bounce")
    env = boxlcd.make(d, num_envs=1)
    d.ep_len, d.objects = 3, []
    assert env.definition.ep_len == 50 and len(env.state_keys) == 4


# ---- 2. nested elements are independent copies or handles that keep their owner alive -----------

def test_list_elements_do_not_alias_the_definition():
    out = run("""
        import gc
        d = boxlcd.env_def("Crab")
        names = [l.body.name for l in d.robots[0].limbs]
        r = d.robots[0]
        d.robots = []
        gc.collect()
        r.limbs = r.limbs * 3
        print(json.dumps([l.body.name for l in r.limbs]))
        o = boxlcd.env_def("Bounce").objects[0]        # the definition is gone at once
        b = boxlcd.env_def("Luxo").robots[0].root       # a handle keeps its (copied) robot alive
        v = b.vertices[0]
        b.vertices = []
        gc.collect()
        limb = d.robots[0].limbs[0] if d.robots else boxlcd.env_def("Crab").robots[0].limbs[0]
        joint = limb.joint
        del limb
        gc.collect()
        print(json.dumps([o.body.radius, v.x, len(b.vertices), joint.parent]))
        w = boxlcd.env_def("Urchin")
        robots = w.robots
        w.robots = w.robots + w.robots
        robots[0].type = "changed"                     # a copy: w is unchanged until reassigned
        print(json.dumps([r.type for r in w.robots]))
    """)
    crab = [l.body.name for l in boxlcd.env_def("Crab").robots[0].limbs]
    assert out[0] == crab * 3
    assert out[1] == [0.5, pytest.approx(-15 * 0.8 / 30), 0, "root"]
    assert out[2] == ["urchin", "urchin"]


def test_struct_members_are_handles_into_their_owner():
    robot = boxlcd.env_def("Urchin").robots[0]
    robot.root.radius = 0.3          # robot.root is a handle into robot, not a copy
    robot.root.half_extents.x = 0.2
    assert robot.root.radius == 0.3 and robot.root.half_extents.x == 0.2
    limbs = robot.limbs
    limbs[1].joint.parent = "aleg"   # limbs[1] is a copy; its joint a handle into that copy
    assert robot.limbs[1].joint.parent == "root"
    robot.limbs = limbs
    assert robot.limbs[1].joint.parent == "aleg"


# ---- 3. every number is checked against what Box2D can simulate ---------------------------------

def test_absurd_world_settings_are_refused():
    got = errors("""
        for key, value in [("height", 1e20), ("height", math.inf), ("height", 0.01), ("gravity_y", -1e39),
                           ("gravity_y", 1e300), ("gravity_x", math.nan), ("gravity_x", 5000.0),
                           ("wh_ratio", 1e-9), ("object_max_y", 1e30), ("fps", 1e6)]:
            expect_error(f"{key}={value}", lambda: boxlcd.make("UrchinCube", **{key: value}))
        def world(**kw):
            w = boxlcd.env_def("UrchinCube")
            for k, v in kw.items():
                setattr(w, k, v)
            return w
        expect_error("WorldDef.height", lambda: boxlcd.make(world(height=1e20)))
        expect_error("WorldDef.gravity", lambda: boxlcd.make(world(gravity=(0.0, -1e39))))
        expect_error("World.gravity", lambda: boxlcd.make(World(gravity=(0.0, math.inf))))
        expect_error("object_max_y above the ceiling", lambda: boxlcd.make(world(height=2.2)))
    """)
    expected = {
        "height=1e+20": r"option height must be in \[0.1, 1000\] m, got 1e\+20",
        "height=inf": r"option height must be in \[0.1, 1000\] m, got inf",
        "height=0.01": r"option height must be in \[0.1, 1000\]",
        "gravity_y=-1e+39": r"option gravity_y must be in \[-1000, 1000\] m/s\^2, got -1e\+39",
        "gravity_y=1e+300": r"option gravity_y must be in \[-1000, 1000\]",
        "gravity_x=nan": r"option gravity_x must be in \[-1000, 1000\] m/s\^2, got nan",
        "gravity_x=5000.0": r"option gravity_x must be in \[-1000, 1000\]",
        "wh_ratio=1e-09": r"option wh_ratio must be in \[0.01, 100\]",
        "object_max_y=1e+30": r"option object_max_y must be in \[0, 1000\] m",
        "fps=1000000.0": r"option fps must be a whole number in \[1, 10000\] 1/s",
        "WorldDef.height": r"^height must be in \[0.1, 1000\] m, got 1e\+20",
        "WorldDef.gravity": r"^gravity\.y must be in \[-1000, 1000\] m/s\^2, got -1e\+39",
        "World.gravity": r"^gravity\.y must be in \[-1000, 1000\] m/s\^2, got inf",
        "object_max_y above the ceiling": r"objects\[0\]: size 0.4 m does not fit",
    }
    check(got, expected)


def check(got, expected):
    import re
    assert set(got) == set(expected)
    for name, pattern in expected.items():
        kind, message = got[name]
        assert kind == "ValueError" and re.search(pattern, message), (name, kind, message)


def test_absurd_bodies_and_joints_are_refused():
    got = errors("""
        def crab(change):
            w = World.builtin("Crab")
            change(w.robots[0])
            return w
        def limb_body(**kw):
            return lambda r: [setattr(r.limbs[2].body, k, v) for k, v in kw.items()]
        def joint(**kw):
            return lambda r: [setattr(r.limbs[2].joint, k, v) for k, v in kw.items()]
        def root(**kw):
            return lambda r: [setattr(r.root, k, v) for k, v in kw.items()]
        far = [(x + 1e6, y) for x, y in World.builtin("Crab").robots[0].root.vertices]
        near = [(x + 50.0, y) for x, y in World.builtin("Crab").robots[0].root.vertices]
        cases = {
            "half_extents 1e30": limb_body(half_extents=(1e30, 0.1)),
            "half_extents nan": limb_body(half_extents=(0.1, math.nan)),
            "density 1e39": limb_body(density=1e39),
            "density inf": limb_body(density=math.inf),
            "friction -1": limb_body(friction=-1.0),
            "restitution 5": limb_body(restitution=5.0),
            "damping 1e39": limb_body(linear_damping=1e39),
            "anchor 1e39": joint(anchor_parent=(1e39, 0.0)),
            "anchor inf": joint(anchor_limb=(0.0, -math.inf)),
            "angle 1e39": joint(angle=1e39),
            "lower > upper": joint(lower=1.0, upper=-1.0),
            "speed nan": joint(speed=math.nan),
            "torque 1e39": joint(max_torque=1e39),
            "polygon 1e6 m away": root(vertices=far),
            "polygon 50 m away": root(vertices=near),
            "polygon 2 vertices": root(vertices=[(0, 0), (1, 0)]),
            "polygon 9 vertices": root(vertices=[(math.cos(a), math.sin(a)) for a in np.linspace(0, 6, 9)]),
            "polygon collinear": root(vertices=[(0, 0), (0.5, 0), (1, 0)]),
            "polygon repeated vertex": root(vertices=[(0, 0), (1, 0), (1, 0), (0, 1)]),
            "polygon dented": root(vertices=[(0, 0), (1, 0), (0.2, 0.2), (0, 1)]),
            "polygon sliver": root(vertices=[(-0.5, 0), (0.5, 0), (0, 0.001)]),
            "circle radius 1e30": root(shape="circle", radius=1e30),
            "bound 1e30": lambda r: setattr(r, "bound", 1e30),
        }
        for name, change in cases.items():
            expect_error(name, lambda: boxlcd.make(crab(change)))
        obj = boxlcd.env_def("Bounce")
        objects = obj.objects
        objects[0].body.radius = 1e30
        obj.objects = objects
        expect_error("object radius 1e30", lambda: boxlcd.make(obj))
    """)
    limb = r"robots\[0\]\.limbs\[2\]\.body\."
    joint = r"robots\[0\]\.limbs\[2\]\.joint\."
    root = r"robots\[0\]\.root"
    check(got, {
        "half_extents 1e30": limb + r"half_extents.x must be in \[0, 1000\] m, got 1e\+30",
        "half_extents nan": limb + r"half_extents.y must be in \[0, 1000\] m, got nan",
        "density 1e39": limb + r"density must be in \[0, 1e\+06\] kg/m\^2, got 1e\+39",
        "density inf": limb + r"density must be in",
        "friction -1": limb + r"friction must be in \[0, 10\]",
        "restitution 5": limb + r"restitution must be in \[0, 1\]",
        "damping 1e39": limb + r"linear_damping must be in \[0, 1000\]",
        "anchor 1e39": joint + r"anchor_parent.x must be in \[-1000, 1000\] m, got 1e\+39",
        "anchor inf": joint + r"anchor_limb.y must be in \[-1000, 1000\] m, got -inf",
        "angle 1e39": joint + r"angle must be in \[-100, 100\] rad",
        "lower > upper": r"robots\[0\]\.limbs\[2\]\.joint: lower limit 1 exceeds upper limit -1",
        "speed nan": joint + r"speed must be in \[0, 1000\] rad/s, got nan",
        "torque 1e39": joint + r"max_torque must be in \[0, 1e\+06\]",
        "polygon 1e6 m away": root + r"\.vertices\[0\]\.x must be in \[-1000, 1000\] m",
        "polygon 50 m away": root + r": polygon lies .* m from its body's origin, more than 10 times its diameter",
        "polygon 2 vertices": root + r": a polygon needs 3 to 8 vertices, got 2",
        "polygon 9 vertices": root + r": a polygon needs 3 to 8 vertices, got 9",
        "polygon collinear": root + r": polygon is not strictly convex",
        "polygon repeated vertex": root + r": polygon vertices 1 and 2 are closer than 0.01 m",
        "polygon dented": root + r": polygon is not strictly convex at vertex",
        "polygon sliver": root + r": polygon is thinner than 0.01 m",
        "circle radius 1e30": root + r"\.radius must be in \[0, 1000\] m",
        "bound 1e30": r"robots\[0\]\.bound must be in \[0.01, 1000\] m",
        "object radius 1e30": r"objects\[0\]\.body\.radius must be in \[0, 1000\] m",
    })


def test_the_edges_of_every_range_simulate_without_nan():
    """The largest and smallest values the checks let through run and stay finite."""
    out = run("""
        w = World.builtin("UrchinCube")
        w.gravity, w.fps, w.height, w.wh_ratio = (1000.0, -1000.0), 1, 1000.0, 1.0
        r = w.robots[0]
        r.root.density = 0.0
        for l in r.limbs:
            l.body.density, l.body.friction, l.body.restitution = 1e6, 10.0, 1.0
            l.body.linear_damping, l.body.angular_damping = 1000.0, 0.0
            l.joint.speed, l.joint.max_torque, l.joint.lower, l.joint.upper = 1000.0, 1e6, -100.0, 100.0
        o = w.objects[0].body
        o.shape, o.vertices = "polygon", [(x + 7.0, y) for x, y in [(0, 0), (0.8, 0), (0.8, 0.05), (0, 0.05)]]
        w.objects[0].body = o
        w.object_max_y = 20.0
        e = boxlcd.make(w, num_envs=2, seed=0)
        e.reset()
        finite = True
        rng = np.random.default_rng(0)
        for _ in range(50):
            obs, *_ = e.step(rng.uniform(-1, 1, (2, e.action_size)).astype(np.float32))
            finite &= bool(np.isfinite(obs["full_state"]).all())
        tiny = World(objects=[WorldObject(Body(shape="polygon", vertices=[(0, 0), (0.02, 0), (0.0, 0.02)]))],
                     gravity=(0.0, 1000.0), fps=10000, substeps=1, height=0.1, ep_len=20)
        t = boxlcd.make(tiny)
        for _ in range(20):
            obs, *_ = t.step(np.zeros((1, 1), np.float32))
            finite &= bool(np.isfinite(obs["full_state"]).all())
        print(json.dumps([finite]))
    """, timeout=300)
    assert out == [[True]]


def test_reset_states_outside_the_observation_space_are_refused():
    env = boxlcd.make("Urchin", num_envs=2)
    keys = env.state_keys
    for value in (1e37, 5.0, -1.0001, np.inf, np.nan):
        state = np.zeros((2, 16), np.float32)
        state[1, 2] = value
        message = "is not finite" if not np.isfinite(value) else r"must be in \[-1, 1\]"
        with pytest.raises(ValueError, match=rf"full_state\[1, 2\] \({keys[2]}\) {message}"):
            env.reset(full_state=state)
    state = np.zeros((2, 16), np.float32)
    state[1, 2] = 5.0
    env.reset(full_state=state, mask=np.array([True, False]))  # a masked-out row is not read
    # Without walls positions are unbounded observations: a robot 5 widths away may be reset there.
    open_floor = boxlcd.make("Urchin", walls=False)
    x = open_floor.state_keys.index("urchin0:root:x:p")
    state = np.zeros((1, 16), np.float32)
    state[0, x] = 5.0
    obs = open_floor.reset(full_state=state)
    assert obs["full_state"][0, x] == 5.0
    state[0, x] = 1e6
    with pytest.raises(ValueError, match=r"urchin0:root:x:p\) must be in \[-201, 201\]"):
        open_floor.reset(full_state=state)
    cos = open_floor.state_keys.index("urchin0:root:cos")
    state[0, x], state[0, cos] = 0.0, 5.0
    with pytest.raises(ValueError, match=r"urchin0:root:cos\) must be in \[-1, 1\]"):
        open_floor.reset(full_state=state)


def test_gym_reset_to_a_state_is_checked_too():
    from boxlcd.gym_env import GymEnv

    g = GymEnv("Bounce")
    with pytest.raises(ValueError, match=r"must be in \[-1, 1\], got 5"):
        g.reset(options={"full_state": np.full(4, 5.0, np.float32)})


# ---- 4. sizes are checked before any cast ------------------------------------------------------

def test_frame_sizes_are_checked_before_casting():
    got = errors("""
        d = boxlcd.env_def("Bounce")
        d.wh_ratio = 268435457.0
        print(json.dumps(["frame_shape", "value", str(tuple(d.frame_shape))]))
        for name, kw in [("wrap", dict(wh_ratio=268435457)), ("wide", dict(lcd_base=8192, wh_ratio=2)),
                         ("pixels", dict(lcd_base=8192)), ("rows", dict(lcd_base=2**31)),
                         ("rows 2**40", dict(lcd_base=2**40))]:
            expect_error(name, lambda: boxlcd.make("Bounce", **kw))
        def set_rows():
            d.lcd_base = 2**31
        expect_error("int overflow", set_rows)
        d = boxlcd.env_def("Bounce")
        d.lcd_base, d.wh_ratio = 4096, 5.0
        expect_error("WorldDef pixels", lambda: boxlcd.make(d))
    """)
    assert got.pop("frame_shape") == ("value", "(16, 0)")  # an unvalidated, too wide frame: 0 columns
    assert got.pop("int overflow")[0] == "TypeError"
    check(got, {
        "wrap": r"option wh_ratio must be in \[0.01, 100\], got 2.68435e\+08",
        "wide": r"frame width round\(lcd_base \* wh_ratio\) = 16384 must be in \[1, 8192\]",
        "pixels": r"frame of 8192 x 8192 pixels exceeds 16777216 pixels",
        "rows": r"option lcd_base must be a whole number in \[1, 8192\], got 2.14748e\+09",
        "rows 2**40": r"option lcd_base must be a whole number in \[1, 8192\]",
        "WorldDef pixels": r"frame width round\(lcd_base \* wh_ratio\) = 20480 must be in \[1, 8192\]",
    })
    assert boxlcd.make("Bounce", lcd_base=4096).frame_shape == (4096, 4096)  # 16M pixels: the most


# ---- 5. one table per definition type, in C++, drives bindings, overrides, checks and Python ----

@pytest.mark.parametrize("dataclass", [worlds.Body, worlds.Joint, worlds.Limb, worlds.Robot, worlds.WorldObject,
                                       worlds.World])
def test_dataclasses_list_the_cpp_fields_with_their_defaults(dataclass):
    table = {f["name"]: f for f in worlds._MIRRORS[dataclass].fields}
    mine = {f.name: f for f in dataclasses.fields(dataclass)}
    assert set(mine) == set(table), "a field added in C++ needs its dataclass field (and the reverse)"
    for name, f in mine.items():
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            continue  # required in Python (a robot's type and root, a limb's body, ...)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        expected = "Custom" if (dataclass, name) == (worlds.World, "name") else worlds._from_cpp(
            table[name]["default"], table[name]["kind"])  # a World() has a name to print
        assert default == expected, (dataclass.__name__, name)


@pytest.mark.parametrize("cpp", [boxlcd.BodyDef, boxlcd.JointDef, boxlcd.LimbDef, boxlcd.RobotDef,
                                 boxlcd.ObjectDef, boxlcd.WorldDef])
def test_the_bindings_are_the_tables(cpp):
    d = cpp()
    for f in cpp.fields:
        assert isinstance(getattr(cpp, f["name"]), property), f["name"]
        numeric = f["kind"] in ("float", "int", "Vec2", "list[Vec2]")
        assert (f["range"] is not None) == numeric, f"{f['name']}: every number has a range, nothing else"
        if f["range"] is not None:
            lo, hi, unit = f["range"]
            assert f"in [{lo:g}, {hi:g}]" in getattr(cpp, f["name"]).__doc__
        assert worlds._from_cpp(getattr(d, f["name"]), f["kind"]) == worlds._from_cpp(f["default"], f["kind"])


def test_override_names_are_the_tables_settings():
    names = {"iterations", "solver"}
    for f in boxlcd.WorldDef.fields:
        if f["setting"]:
            names |= {f["name"] + "_x", f["name"] + "_y"} if f["kind"] == "Vec2" else {f["name"]}
    assert set(boxlcd.override_names()) == names
    for name in names:  # each one sets its field
        d = boxlcd.env_def("Bounce")
        boxlcd.apply_override(d, name, {"raster": "area", "solver": "fast"}.get(name, 1.0))
        boxlcd.validate(d)


def test_dataset_summary_is_every_world_setting():
    s = worlds.definition_summary(boxlcd.env_def("Urchin"))
    assert set(s) == {f["name"] for f in boxlcd.WorldDef.fields if not f["kind"].startswith("list[")}
    assert (s["raster"], s["gravity"], s["object_max_y"]) == ("original", (0.0, -9.81), 1.875)
    assert json.loads(json.dumps(s))["ep_len"] == 100


def test_raster_original_keeps_its_old_name_seed():
    assert boxlcd.RasterRule.Seed == boxlcd.RasterRule.Original and boxlcd.RasterRule.Original.name == "Original"
    assert boxlcd.make("Bounce", raster="seed").definition.raster == boxlcd.RasterRule.Original
    assert worlds.World(raster="seed").to_def().raster == boxlcd.RasterRule.Original
    assert worlds.World.from_def(worlds.World(raster="seed").to_def()).raster == "original"
    with pytest.raises(ValueError, match="option raster must be 'original' \\(or its old name 'seed'\\) or 'area'"):
        boxlcd.make("Bounce", raster="pil")
