"""Physics sanity: falling, bouncing, joints that obey, walls that hold."""
import numpy as np
import pytest

import boxlcd
from conftest import position, random_actions, rollout


def heights(name, num_envs=32, steps=None, seed=0):
    env = boxlcd.make(name, num_envs=num_envs, seed=seed)
    steps = steps or env.definition.ep_len
    _, states = rollout(env, np.zeros((steps, num_envs, 1), np.float32))
    return position(states, env, "object0")[1]  # (steps, N) metres


def test_dropbox_box_falls_and_rests_on_the_floor():
    y = heights("Dropbox")
    env = boxlcd.make("Dropbox", num_envs=32)
    start = position(env.reset(seed=0)["full_state"], env, "object0")[1]
    # Boxes placed low at an angle overlap the floor and are pushed up; the rest fall.
    assert (start > y[0]).mean() > 0.8 and start.mean() > y[0].mean() + 0.05
    rest = y[-1]
    # Spec: the box rests at about 0.72 m (half-size 0.7, so at an angle it sits a bit higher).
    assert np.all(rest > 0.69) and np.mean((rest > 0.69) & (rest < 0.8)) > 0.9, rest
    assert abs(rest.mean() - 0.72) < 0.1
    assert np.abs(y[-1] - y[-3]).max() < 0.01, "the box is at rest"


def test_bounce_ball_rebounds():
    y = heights("Bounce")
    mean = y.mean(axis=1)
    low = int(np.argmin(mean[:10]))
    assert mean[low] < 1.0 and mean[low:20].max() > mean[low] + 0.5, mean
    # Spec: the mean height peaks again near 1.59 m around step 13 and ends near 0.62 m.
    assert 1.2 < mean[8:20].max() < 2.0
    assert abs(mean[-1] - 0.62) < 0.2


def joint_angles(env, state, limb, parent="root"):
    keys = env.state_keys
    def angle(body):
        c = state[:, keys.index(f"urchin0:{body}:cos")]
        s = state[:, keys.index(f"urchin0:{body}:sin")]
        return np.arctan2(s, c)
    return angle(limb) - angle(parent)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_urchin_joints_move_the_commanded_way_and_stay_in_limits(sign):
    env = boxlcd.make("Urchin", num_envs=16, seed=4)
    obs = env.reset()
    reference = {leg: joint_angles(env, obs["full_state"], leg) for leg in ("aleg", "bleg", "cleg")}
    actions = np.zeros((16, 3), np.float32)
    actions[:, 0] = sign  # aleg only
    for _ in range(10):
        obs, *_ = env.step(actions)
    for leg, ref in reference.items():
        moved = np.angle(np.exp(1j * (joint_angles(env, obs["full_state"], leg) - ref)))
        assert np.all(np.abs(moved) <= 1.0 + 0.05), (leg, moved)  # limits [-1, 1]
        if leg == "aleg":
            assert np.all(sign * moved > 0.8), moved  # driven to its limit
        else:
            assert np.all(np.abs(moved) < 0.2), (leg, moved)  # held by motors at speed 0


@pytest.mark.parametrize("name", boxlcd.envs())
def test_nothing_leaves_the_walls(name):
    env = boxlcd.make(name, num_envs=8, seed=7)
    _, states = rollout(env, random_actions(env, 120))
    xy = [i for i, k in enumerate(env.state_keys) if k.endswith(":p")]
    assert np.all(np.abs(states[..., xy]) <= 1.0), np.abs(states[..., xy]).max()
    assert np.isfinite(states).all()


def aleg_turn(action, use_speed):
    """The median turn of urchin joint aleg over one step (0.1 s) under a constant action."""
    env = boxlcd.make("Urchin", num_envs=8, seed=2, use_speed=use_speed)
    start = joint_angles(env, env.reset(seed=2)["full_state"], "aleg")
    obs, *_ = env.step(np.full((8, 3), action, np.float32))
    return np.median(np.angle(np.exp(1j * (joint_angles(env, obs["full_state"], "aleg") - start))))


def test_speed_mode_turns_joints_at_action_times_8_rad_per_s():
    assert aleg_turn(0.1, True) == pytest.approx(0.08, abs=0.005)
    assert aleg_turn(-0.5, True) == pytest.approx(-0.4, abs=0.02)
    assert aleg_turn(5.0, True) == pytest.approx(0.8, abs=0.02)  # clipped to 1


def test_torque_mode_drives_at_full_speed_with_scaled_torque():
    # use_speed=0: speed 8 sign(a), torque 150 |a|; 15 N m turns a light leg at full speed.
    assert aleg_turn(0.1, False) == pytest.approx(0.8, abs=0.02)
    assert aleg_turn(-0.1, False) == pytest.approx(-0.8, abs=0.02)
