"""Edits to running worlds (Env.edit, cpp/include/boxlcd/edit.hpp): exact where the physics
allows, and a world never edited stays byte-identical to one in a batch without edits."""
import numpy as np
import pytest

import boxlcd


def run(env, steps, seed=0):
    """Steps with seeded random actions; returns copies of every full_state and frame."""
    rng = np.random.default_rng(seed)
    states, frames = [], []
    for _ in range(steps):
        obs = env.step(rng.uniform(-1, 1, (env.num_envs, env.action_size)).astype(np.float32))[0]
        states.append(obs["full_state"].copy())
        frames.append(obs["lcd"].copy())
    return np.stack(states, 1), np.stack(frames, 1)


def keys_of(env, body):
    return {c: env.state_keys.index(f"{body}:{c}") for c in ("x:p", "y:p", "cos", "sin")}


def test_pose_places_the_body_exactly_and_draws_it_there():
    env = boxlcd.make("Object2", num_envs=2, seed=4)
    env.reset()
    obs = env.edit("pose", envs=1, body="object1", x=0.25, y=-0.4, angle=0.7)
    k = keys_of(env, "object1")
    row = obs["full_state"][1]
    np.testing.assert_allclose([row[k["x:p"]], row[k["y:p"]], row[k["cos"]], row[k["sin"]]],
                               [0.25, -0.4, np.cos(0.7), np.sin(0.7)], atol=1e-6)
    # the frame is the one a world placed in that state draws (same seed: same random shapes)
    placed = boxlcd.make("Object2", num_envs=2, seed=4)
    placed.reset()
    np.testing.assert_array_equal(obs["lcd"], placed.reset(full_state=obs["full_state"].copy())["lcd"])


def test_a_robot_moves_as_a_whole_through_its_root():
    env = boxlcd.make("Urchin", num_envs=1, seed=2)
    before = env.reset()["full_state"][0].copy()
    bodies = env.body_names
    xy = lambda s, b: np.array([s[keys_of(env, b)["x:p"]] * env.definition.width, s[keys_of(env, b)["y:p"]] * env.definition.height])  # noqa: E731
    after = env.edit("pose", body="urchin0:root", x=0.3, y=0.1, angle=0.0)["full_state"][0]
    root = keys_of(env, "urchin0:root")
    assert after[root["x:p"]] == pytest.approx(0.3, abs=1e-6) and after[root["y:p"]] == pytest.approx(0.1, abs=1e-6)
    turn = -np.arctan2(before[root["sin"]], before[root["cos"]])
    c, s = np.cos(turn), np.sin(turn)
    for b in bodies:  # every limb keeps its offset from the root, turned with it
        d0, d1 = xy(before, b) - xy(before, "urchin0:root"), xy(after, b) - xy(after, "urchin0:root")
        np.testing.assert_allclose(d1, [c * d0[0] - s * d0[1], s * d0[0] + c * d0[1]], atol=1e-4)
    with pytest.raises(ValueError, match="urchin0:aleg.*is a limb; edit its robot through its root"):
        env.edit("pose", body="urchin0:aleg", x=0.0, y=0.0)


EDITS = [  # kind, values, whether the edited envs surely change in 35 steps
    ("pose", dict(body="object0", x=-0.5, y=0.5, angle=1.0), True),
    ("velocity", dict(body="object1", vx=1.0, vy=2.0, omega=3.0), True),
    ("scale_velocity", dict(body="object0", scale=-1.0), False),  # at rest by step 5 in some
    ("hide", dict(body="object1"), True),
    ("remove", dict(body="object0"), True),
    ("gravity", dict(gx=3.0, gy=9.81), True),
    ("pass_through", dict(body="object0", other="object1"), False),  # they may never meet
    ("pass_through", dict(body="object1"), True),
    ("resize", dict(body="object0", scale=1.5), True),
    ("reshape", dict(body="object1", shape="circle"), False),  # a circle already in some
]


@pytest.mark.parametrize("kind,values,changes", EDITS, ids=[f"{k}-{i}" for i, (k, *_) in enumerate(EDITS)])
def test_unedited_envs_stay_byte_identical_and_edits_are_deterministic(kind, values, changes):
    outs = []
    for threads in (1, 2):
        env = boxlcd.make("Object2", num_envs=4, seed=9, num_threads=threads)
        env.reset()
        run(env, 5)
        env.edit(kind, envs=[1, 3], **values)
        rest = run(env, 35, seed=1)
        outs.append(rest)
    np.testing.assert_array_equal(outs[0][0], outs[1][0])  # any thread count, same bytes
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    # envs 0 and 2 never edited: the batch without edits, bit for bit
    ref = boxlcd.make("Object2", num_envs=4, seed=9)
    ref.reset()
    run(ref, 5)
    ref_rest = run(ref, 35, seed=1)
    for i in (0, 2):
        np.testing.assert_array_equal(outs[0][0][i], ref_rest[0][i])
        np.testing.assert_array_equal(outs[0][1][i], ref_rest[1][i])
    if changes:
        for i in (1, 3):
            assert not np.array_equal(outs[0][0][i], ref_rest[0][i]) or not np.array_equal(outs[0][1][i], ref_rest[1][i])


def test_hidden_body_is_simulated_but_not_drawn():
    twin, env = (boxlcd.make("Dropbox", num_envs=1, seed=3) for _ in range(2))
    twin.reset(), env.reset()
    obs = env.edit("hide", body="object0")
    assert obs["lcd"].sum() == 0
    a, b = run(env, 10), run(twin, 10)
    np.testing.assert_array_equal(a[0], b[0])  # same motion
    assert a[1].sum() == 0 and b[1].sum() > 0
    np.testing.assert_array_equal(env.edit("show", body="object0")["lcd"][0], b[1][0, -1])


def test_removed_body_stops_and_comes_back_at_rest_where_added():
    env = boxlcd.make("Dropbox", num_envs=1, seed=3)
    env.reset()
    run(env, 3)
    obs = env.edit("remove", body="object0")
    frozen = obs["full_state"].copy()
    assert obs["lcd"].sum() == 0
    states, frames = run(env, 5)
    np.testing.assert_array_equal(states[0], np.repeat(frozen, 5, 0))  # no motion, no gravity
    assert frames.sum() == 0
    obs = env.edit("add", body="object0", x=0.0, y=0.2, angle=0.0)
    k = keys_of(env, "object0")
    assert obs["full_state"][0, k["y:p"]] == pytest.approx(0.2, abs=1e-6) and obs["lcd"].sum() > 0
    states, _ = run(env, 2)
    # at rest when added: it falls from there under gravity alone. Box2D integrates velocity
    # first (semi-implicit Euler), so after k substeps of dt it has fallen g dt^2 k (k + 1) / 2.
    d = env.definition
    drop = (0.2 - states[0, :, k["y:p"]]) * d.height / 2
    k_sub, dt = 3 * np.array([1, 2]), 1 / (3 * d.fps)  # 3 substeps per step below 30 fps
    np.testing.assert_allclose(drop, 9.81 * dt**2 * k_sub * (k_sub + 1) / 2, rtol=1e-4)


def test_gravity_edit_turns_a_fall_into_a_rise():
    env = boxlcd.make("Bounce", num_envs=1, seed=1)
    env.reset()
    k = keys_of(env, "object0")["y:p"]
    env.edit("gravity", gx=0.0, gy=0.0)
    y = run(env, 3)[0][0, :, k]
    assert abs((y[2] - y[1]) - (y[1] - y[0])) < 1e-4  # no gravity: constant velocity
    env.edit("gravity", gx=0.0, gy=9.81)
    y = run(env, 5)[0][0, :, k]
    assert np.all(np.diff(np.diff(y)) > 0)  # accelerating upwards


def test_pass_through_the_floor_and_between_bodies():
    env = boxlcd.make("Bounce", num_envs=2, seed=1)
    env.reset()
    env.edit("pass_through", envs=1, body="object0")
    y = run(env, 40)[0][:, :, keys_of(env, "object0")["y:p"]]
    assert y[0].min() > -1 and y[1].min() < -1.5  # the edited ball fell through the floor

    # two balls thrown at each other without gravity: they bounce apart, or pass through
    env = boxlcd.make("Bounce2", num_envs=2, seed=1)
    env.reset()
    for b, x, vx in (("object0", -0.4, 1.0), ("object1", 0.4, -1.0)):
        env.edit("pose", envs=[0, 1], body=b, x=x, y=0.0)
        env.edit("velocity", envs=[0, 1], body=b, vx=vx, vy=0.0)
    env.edit("gravity", envs=[0, 1], gx=0.0, gy=0.0)
    env.edit("pass_through", envs=1, body="object0", other="object1")
    s = run(env, 8)[0][:, -1]
    x0, x1 = s[:, keys_of(env, "object0")["x:p"]], s[:, keys_of(env, "object1")["x:p"]]
    assert x0[0] < x1[0] and x0[1] > x1[1]


def test_pass_through_the_ground_leaves_the_state_range_but_stays_finite():
    """What the Env.edit docstring promises: nothing holds the body in the world any more, so
    full_state follows it out of its range (and out of the frame), at most 2 m per substep."""
    env = boxlcd.make("Bounce", num_envs=1, seed=1, ep_len=300)
    env.reset()
    d = env.definition
    y = keys_of(env, "object0")["y:p"]
    env.edit("gravity", gx=0.0, gy=-1000.0)  # the fastest fall there is
    env.edit("pass_through", body="object0")
    states, frames = run(env, 200)
    fall = states[0, :, y]
    assert np.isfinite(states).all() and fall[-1] < -100  # far below the floor, and finite
    step_m = 2.0 * 3  # m per step: 3 substeps at 10 fps
    assert np.all(np.diff(fall) * d.height / 2 >= -step_m - 1e-3)  # float32 rounding far out
    assert frames[0, -1].sum() == 0
    with pytest.raises(ValueError, match=r"object0:y:p\) must be in \[-1, 1\]"):
        boxlcd.make("Bounce", num_envs=1, seed=1).reset(full_state=states[:, -1])
    env.edit("collide", body="object0")  # below the floor, nothing to collide with: it keeps falling
    assert run(env, 1)[0][0, -1, y] < fall[-1]
    obs = env.edit("pose", body="object0", x=0.0, y=0.5)  # back in the world, and held there
    assert obs["lcd"].sum() > 0
    env.edit("gravity", gx=0.0, gy=-9.81)
    assert np.all(np.abs(run(env, 30)[0]) <= 1)


def test_scale_velocity_minus_one_retraces_the_path():
    env = boxlcd.make("Bounce", num_envs=1, seed=1)
    env.reset()
    env.edit("gravity", gx=0.0, gy=0.0)
    start = env.edit("velocity", body="object0", vx=0.3, vy=0.2)["full_state"].copy()
    run(env, 2)
    env.edit("scale_velocity", body="object0", scale=-1.0)
    back = run(env, 2)[0][:, -1]
    np.testing.assert_allclose(back, start, atol=1e-5)


def test_resize_and_reshape_change_what_is_drawn_and_simulated():
    env = boxlcd.make("Bounce", num_envs=1, seed=1, lcd_base=64)
    base = env.reset()["lcd"].copy()
    lit = lambda o: np.unpackbits(o["lcd"]).sum()  # noqa: E731
    n0 = np.unpackbits(base).sum()
    n2 = lit(env.edit("resize", body="object0", scale=2.0))
    assert 3.0 < n2 / n0 < 5.0  # twice the radius, about four times the pixels
    n_box = lit(env.edit("reshape", body="object0", shape="box"))
    assert n_box > n2  # a square of half-extent r covers more than a circle of radius r
    assert lit(env.edit("resize", body="object0", scale=1.0)) < n_box  # back to the definition's size, a box still
    with pytest.raises(ValueError, match="new size .* must be in"):
        env.edit("resize", body="object0", scale=100.0)


def test_reset_undoes_every_edit():
    env = boxlcd.make("Bounce2", num_envs=1, seed=6)
    first = env.reset(seed=6)["lcd"].copy()
    want = run(env, 20)
    env.reset(seed=6)
    for kind, values, _ in EDITS:
        env.edit(kind, **values)
    np.testing.assert_array_equal(env.reset(seed=6)["lcd"], first)
    got = run(env, 20)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("kind,values,match", [
    ("teleport", {}, "unknown edit 'teleport'; edits: pose, velocity"),
    ("pose", dict(body="object7"), "no body named 'object7'"),
    ("pose", dict(body=5), r"body must be a body slot in \[0, 1\], got 5"),
    ("pose", dict(body="object0", x=1.5), r"x must be in \[-1"),
    ("pose", dict(body="object0", y=float("nan")), "must be finite"),
    ("velocity", dict(body="object0", vx=float("inf")), "must be finite"),
    ("gravity", dict(gy=1e6), r"gy must be in \[-1000, 1000\] m/s\^2"),
    ("gravity", dict(gx=float("nan")), "gx must be finite"),
    # values whose result Box2D could not hold (these four once gave NaN full_state)
    ("scale_velocity", dict(body="object0", scale=1e300), r"scale must be in \[-100, 100\], got 1e\+300"),
    ("velocity", dict(body="object0", vx=1e300), r"vx must be in \[-24, 24\] full_state units/s"),
    ("velocity", dict(body="object0", vy=-1e300), r"vy must be in \[-24, 24\]"),
    ("velocity", dict(body="object0", omega=1e300), r"omega must be in \[-47.1239, 47.1239\] rad/s"),
    ("velocity", dict(body="object0", vx=20.0, vy=20.0), r"the speed of \(vx, vy\), 70.7107 m/s, must be at most 60"),
    ("velocity", dict(body="object0", vx=10**400), "vx must be finite"),
    ("pose", dict(body="object0", angle=1e300), r"angle must be in \[-1000, 1000\] rad"),
    ("add", dict(body="object0", angle=float("-inf")), "angle must be finite"),
    ("pose", dict(body="object0", x=float("inf")), "x must be finite"),
    ("pose", dict(body="object0", x=1.0), r"puts body 0 \(object0\) .* at \(5, 2.5\) m, on or beyond the walls"),
    ("add", dict(body="object1", y=-1.0), "on or beyond the walls of the 5 x 5 m world"),
    # indices: ints only, never rounded, never counted from the end
    ("pose", dict(body=0.9), "body must be an int, got float"),
    ("pose", dict(body=np.float64(1.0)), "body must be an int, got float64"),
    ("pose", dict(body=True), "body must be an int, got bool"),
    ("pose", dict(body=-1), r"body must be a body slot in \[0, 1\], got -1"),
    ("pass_through", dict(body="object0", other=-1), r"other must be a body slot in \[0, 1\] or None"),
    ("pass_through", dict(body="object0", other=1.0), "other must be an int, got float"),
    # values a kind does not read, and values that are not numbers
    ("pose", dict(body="object0", vx=1.0), "edit pose: takes x, y, angle, not 'vx'"),
    ("hide", dict(body="object0", x=0.0), "edit hide: takes no values, not 'x'"),
    ("gravity", dict(body="object0", gy=0.0), "acts on the whole world and takes no body"),
    ("hide", dict(body="object0", other="object1"), "takes no other body"),
    ("pose", dict(body="object0", x="0.5"), "x must be a number, got str"),
    ("pose", dict(body="object0", x=True), "x must be a number, got bool"),
    (3, {}, "kind must be a str, got int"),
    ("pass_through", dict(body="object0", other="object0"), "other must be another body"),
    ("resize", dict(body="object0", scale=0.0), "scale must be finite and > 0"),
    ("reshape", dict(body="object0", shape="triangle"), "shape must be 'circle' or 'box'"),
])
def test_bad_edits_raise_and_change_nothing(kind, values, match):
    env, twin = (boxlcd.make("Bounce2", num_envs=2, seed=0) for _ in range(2))
    before = env.reset()["full_state"].copy()
    twin.reset()
    with pytest.raises(ValueError, match=match) as raised:
        env.edit(kind, **values)
    assert "\n" not in str(raised.value)
    np.testing.assert_array_equal(env._obs["full_state"], before)
    for a, b in zip(run(env, 3), run(twin, 3)):  # nothing unseen changed either (a velocity)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("envs,match", [
    ([0, 5], r"env must be in \[0, 1\], got 5"),
    ([0, -3], r"env must be in \[0, 1\], got -3"),
    ([0, 0], "env 0 is listed twice"),
    ([1, 0.5], "env must be an int, got float"),
    ([0, True], "env must be an int, got bool"),
    (np.array([0.0, 1.0]), "env must be an int, got float64"),
])
def test_a_request_with_any_bad_env_edits_no_env(envs, match):
    env, twin = (boxlcd.make("Bounce2", num_envs=2, seed=0) for _ in range(2))
    env.reset(), twin.reset()
    with pytest.raises(ValueError, match=match):
        env.edit("velocity", envs=envs, body="object0", vx=3.0)
    for a, b in zip(run(env, 3), run(twin, 3)):
        np.testing.assert_array_equal(a, b)
    env.edit("velocity", envs=np.array([1, 0]), body="object0", vx=3.0)  # numpy ints are fine
    assert not np.array_equal(run(env, 1)[0], run(twin, 1)[0])


def test_a_request_naming_an_ended_episode_edits_no_env():
    env = boxlcd.make("Bounce2", num_envs=2, seed=0, ep_len=2)
    env.reset()
    run(env, 2)
    before = env.reset(mask=np.array([True, False]))["full_state"].copy()  # env 1 still waits
    with pytest.raises(ValueError, match="env 1 has ended its episode"):
        env.edit("pose", envs=[0, 1], body="object0", x=0.5, y=0.5)
    np.testing.assert_array_equal(env._obs["full_state"], before)


def test_the_fastest_accepted_edits_keep_full_state_finite():
    """Every limit at its edge at once, in a world without walls (the widest position range)."""
    env = boxlcd.make("Bounce2", num_envs=1, seed=0, walls=False, ep_len=200)
    env.reset()
    d = env.definition
    rate = d.fps * (d.substeps or (3 if d.fps < 30 else 1))  # substeps per second
    top = 2.0 * rate  # m/s: Box2D moves a body at most 2 m per substep
    far = 1 + 2 * 1000 / d.width  # x:p at the floor's far end, 1000 m beyond the world
    env.edit("pose", body="object0", x=far, y=0.5, angle=1000.0)
    env.edit("velocity", body="object0", vx=top / (d.width / 2), omega=-np.pi / 2 * rate)
    env.edit("pose", body="object1", x=-far, y=1.0, angle=-1000.0)  # no walls: the range's ends
    env.edit("velocity", body="object1", vy=-top / (d.height / 2))
    env.edit("scale_velocity", body="object1", scale=100.0)
    env.edit("gravity", gx=1000.0, gy=-1000.0)
    with pytest.raises(ValueError, match="vx must be in"):
        env.edit("velocity", body="object0", vx=1.001 * top / (d.width / 2))
    states = run(env, 100)[0]
    assert np.isfinite(states).all()

def test_edits_refused_where_they_would_be_lost_or_race():
    env = boxlcd.make("Urchin", num_envs=2, seed=0, ep_len=2)
    env.reset()
    with pytest.raises(ValueError, match=r"env must be in \[0, 1\], got 2"):
        env.edit("hide", envs=2, body="urchin0:root")
    with pytest.raises(ValueError, match="only objects change size"):
        env.edit("resize", body="urchin0:root", scale=2.0)
    run(env, 2)  # the episode ended; next_step autoreset resets on the next step
    with pytest.raises(ValueError, match="has ended its episode"):
        env.edit("hide", body="urchin0:root")
    env.send(np.zeros((2, env.action_size), np.float32))
    with pytest.raises(ValueError, match="still stepping asynchronously"):
        env.edit("hide", body="urchin0:root")
    env.recv()
