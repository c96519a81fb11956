"""Goal tasks: reward and success exactly, goals from independent resets, autoreset, Gymnasium."""
import warnings

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import boxlcd  # noqa: E402
from boxlcd.tasks import (CUBE_SETTLE_STEPS, GOAL_SEED_OFFSET, NEAR_EDGE, NEAR_GAP, NEAR_GAP_MAX,  # noqa: E402
                          delta_keys, make_task)


def expected_delta(obs: dict, keys: list[str], proprio_keys: list[str]) -> np.ndarray:
    index = [proprio_keys.index(k) for k in keys]
    return np.abs(obs["proprio"][:, index] - obs["goal:proprio"][:, index]).mean(axis=1)


def test_body_goal_keys_are_the_robots_positions():
    env = boxlcd.make("Luxo")
    keys = delta_keys("body", env.proprio_keys, env.state_keys)
    assert keys == [k for k in env.proprio_keys if k.endswith((":x:p", ":y:p"))] and len(keys) == 8
    assert delta_keys("cube", *[boxlcd.make("LuxoCube").proprio_keys, boxlcd.make("LuxoCube").state_keys]) == \
        ["object0:x:p", "object0:y:p"]


def test_goals_are_independent_resets_of_the_same_env():
    """Body goals are the proprio and frame of resets seeded apart; cube goals the object's
    place after 10 zero-action steps of such a reset."""
    task = make_task("Urchin", "body", num_envs=3)
    obs, _ = task.reset(seed=7)
    pool = boxlcd.make("Urchin", num_envs=256)
    want = pool.reset(seed=7 + GOAL_SEED_OFFSET)
    np.testing.assert_array_equal(obs["goal:proprio"], want["proprio"][:3])
    np.testing.assert_array_equal(obs["goal:lcd"], want["lcd"][:3])
    assert not np.array_equal(obs["proprio"], obs["goal:proprio"])

    cube = make_task("UrchinCube", "cube", num_envs=2)
    obs, _ = cube.reset(seed=7)
    pool = boxlcd.make("UrchinCube", num_envs=256, autoreset_mode="disabled")
    pool.reset(seed=7 + GOAL_SEED_OFFSET)
    for _ in range(CUBE_SETTLE_STEPS):
        settled, *_ = pool.step(np.zeros((256, 3), np.float32))
    xy = [pool.state_keys.index("object0:x:p"), pool.state_keys.index("object0:y:p")]
    np.testing.assert_array_equal(obs["goal:object"], settled["full_state"][:2][:, xy])
    np.testing.assert_array_equal(obs["object"], cube.env.batch.full_state[:, xy])


def test_reward_and_success_on_crafted_poses():
    """Placed at its goal pose, an env succeeds on the next step (reward -delta + 1, ended)
    under a threshold that one step of motion cannot break, and not under a tiny one."""
    for threshold, succeeds in ((0.3, True), (1e-9, False)):
        task = make_task("Urchin", "body", num_envs=4, threshold=threshold)
        obs, _ = task.reset(seed=1)
        at_goal = obs["proprio"].copy()
        at_goal[[0, 2]] = obs["goal:proprio"][[0, 2]]  # Urchin's full_state is its proprio
        task.env.reset(options={"full_state": at_goal, "reset_mask": np.array([True, False, True, False])})
        _, reward, terminated, truncated, info = task.step(np.zeros((4, 3), np.float32))
        delta = info["delta"]
        assert (terminated[[0, 2]] == succeeds).all() and not truncated.any()
        assert (info["success"] == terminated).all()
        np.testing.assert_allclose(reward, -delta + terminated, rtol=0, atol=1e-12)
        if succeeds:
            final = info["final_obs"]
            assert info["_final_obs"].tolist() == [True, False, True, False]
            rows = {k: np.stack([final[i][k] for i in (0, 2)]) for k in ("proprio", "goal:proprio")}
            np.testing.assert_allclose(delta[[0, 2]], expected_delta(rows, task_keys(task), task.proprio_keys),
                                       rtol=1e-6)
            assert delta[[0, 2]].max() < 0.3


def task_keys(task):
    return delta_keys("body", task.proprio_keys, task.state_keys)


def test_timeout_resets_with_new_goals():
    task = make_task("Luxo", "body", num_envs=3, threshold=1e-9, ep_len=5)
    obs, _ = task.reset(seed=0)
    goals = obs["goal:proprio"].copy()
    for t in range(5):
        obs, reward, terminated, truncated, info = task.step(np.zeros((3, 3), np.float32))
        assert truncated.all() == (t == 4) and not terminated.any()
        np.testing.assert_allclose(-reward, info["delta"], rtol=1e-6)
    assert info["_final_obs"].all()
    np.testing.assert_array_equal(np.stack([f["goal:proprio"] for f in info["final_obs"]]), goals)
    assert not np.array_equal(obs["goal:proprio"], goals)  # the next episodes' goals


def robot_object_distance(obs: dict, proprio_keys: list[str], behind: float) -> np.ndarray:
    xs = [i for i, k in enumerate(proprio_keys) if k.endswith(":x:p")]
    ys = [i for i, k in enumerate(proprio_keys) if k.endswith(":y:p")]
    robot = np.stack([obs["proprio"][..., xs].mean(-1), obs["proprio"][..., ys].mean(-1)], -1)
    target = obs["object"].copy()
    target[..., 0] += np.where(obs["goal:object"][..., 0] > obs["object"][..., 0], -behind, behind)
    return np.abs(robot - target).mean(-1)


@pytest.mark.parametrize("behind", [0.0, 0.1])
def test_reach_shaping_pays_the_approach_to_the_object(behind):
    """With reach r the cube task's reward adds r x (the robot's distance to its target before
    the step - after it), across autoresets; the target is the object, or with reach_behind b
    the point b behind it as seen from the goal. Success and delta are unchanged."""
    shaped = make_task("LuxoCube", "cube", num_envs=4, ep_len=15, reach=2.5, reach_behind=behind)
    plain = make_task("LuxoCube", "cube", num_envs=4, ep_len=15)
    obs, _ = shaped.reset(seed=2)
    plain.reset(seed=2)
    before = robot_object_distance(obs, shaped.proprio_keys, behind)
    rng = np.random.default_rng(0)
    ended_any = False
    for _ in range(40):
        action = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
        obs, reward, terminated, truncated, info = shaped.step(action)
        _, plain_reward, plain_terminated, _, plain_info = plain.step(action)
        np.testing.assert_array_equal(terminated, plain_terminated)
        np.testing.assert_array_equal(info["delta"], plain_info["delta"])
        last = {k: v.copy() for k, v in obs.items()}
        for i in np.flatnonzero(info.get("_final_obs", np.zeros(4, bool))):
            ended_any = True
            for k in ("proprio", "object", "goal:object"):
                last[k][i] = info["final_obs"][i][k]
        after = robot_object_distance(last, shaped.proprio_keys, behind)
        np.testing.assert_allclose(reward - plain_reward, 2.5 * (before - after), rtol=0, atol=1e-5)
        before = robot_object_distance(obs, shaped.proprio_keys, behind)
    assert ended_any


def near_gaps(task, obs: dict) -> np.ndarray:
    """x distance from the object to the robot's nearest body middle."""
    bodies = obs["proprio"][:, [i for i, k in enumerate(task.proprio_keys) if k.endswith(":x:p")]]
    return np.abs(bodies - obs["object"][:, :1]).min(1)


def near_starts(task, obs: dict, gap: float = NEAR_GAP) -> np.ndarray:
    """Which envs start as start_near places them: the robot's nearest body `gap` from the
    object, and the object upright at rest on the floor."""
    on_floor = np.abs(obs["object"][:, 1] - task._object_floor_y) < 1e-3
    return np.isclose(near_gaps(task, obs), gap, atol=1e-4) & on_floor


@pytest.mark.parametrize("env", ["LuxoCube", "UrchinCube"])
def test_start_near_puts_the_robot_behind_the_object(env):
    """start_near=1: every episode, first or after an autoreset, starts with the object on the
    floor and the robot NEAR_GAP behind it as seen from the goal, all bodies inside the walls;
    the goals are the plain task's."""
    task = make_task(env, "cube", num_envs=64, ep_len=3, start_near=1.0)
    plain = make_task(env, "cube", num_envs=64, ep_len=3)
    obs, _ = task.reset(seed=5)
    plain_obs, _ = plain.reset(seed=5)
    np.testing.assert_array_equal(obs["goal:object"], plain_obs["goal:object"])
    assert not near_starts(plain, plain_obs).any()
    body_x = [i for i, k in enumerate(task.proprio_keys) if k.endswith(":x:p")]
    started = np.ones(64, bool)
    resets = np.zeros(64, int)
    for _ in range(7):
        assert near_starts(task, obs)[started].all()
        robot = task.robot_position(obs["proprio"])[:, 0]
        behind = np.sign(obs["object"][:, 0] - robot) == np.sign(obs["goal:object"][:, 0] - obs["object"][:, 0])
        edge = np.abs(obs["proprio"][:, body_x]).max(1)
        assert (edge[started] <= NEAR_EDGE + 1e-5).all()
        # behind it, or the walls stopped the robot and moved the object on (maybe past its goal)
        assert (behind | np.isclose(edge, NEAR_EDGE, atol=1e-5))[started].all()
        before = obs["object"].copy()
        obs, _, terminated, truncated, _ = task.step(np.zeros((64, 3), np.float32))
        # clear of the robot: still, unless the robot hopped into it (not under zero actions)
        ongoing = started & ~(terminated | truncated)
        np.testing.assert_allclose(obs["object"][ongoing], before[ongoing], atol=5e-3)
        started = terminated | truncated
        resets += started
    assert (resets >= 2).all()


def test_near_spread_grades_the_gap():
    """near_spread draws each near start's gap from [NEAR_GAP, NEAR_GAP + spread], shrunk to the
    room behind the object; the object stays where the reset put it when the gap fits."""
    spread = NEAR_GAP_MAX - NEAR_GAP
    task = make_task("LuxoCube", "cube", num_envs=500, start_near=1.0, near_spread=spread)
    plain = make_task("LuxoCube", "cube", num_envs=500)
    obs, _ = task.reset(seed=8)
    plain_obs, _ = plain.reset(seed=8)
    gaps = near_gaps(task, obs)
    assert gaps.min() >= NEAR_GAP - 1e-4 and gaps.max() <= NEAR_GAP_MAX + 1e-4
    # objects near a wall leave little room behind them; the rest spread over the range
    assert gaps.max() > NEAR_GAP + 0.9 * spread and (gaps > NEAR_GAP + spread / 2).mean() > 0.15
    moved = np.abs(obs["object"][:, 0] - plain_obs["object"][:, 0]) > 1e-4
    assert np.isclose(gaps[moved], NEAR_GAP, atol=1e-4).all()  # only where even NEAR_GAP had no room
    again = make_task("LuxoCube", "cube", num_envs=500, start_near=1.0, near_spread=spread).reset(seed=8)[0]
    np.testing.assert_array_equal(again["proprio"], obs["proprio"])


def test_start_near_is_a_seeded_share_of_the_episodes():
    def first(seed, p=0.5):
        task = make_task("LuxoCube", "cube", num_envs=400, start_near=p)
        obs, _ = task.reset(seed=seed)
        return task, obs

    task, obs = first(1)
    share = near_starts(task, obs).mean()
    assert 0.4 < share < 0.6
    again = first(1)[1]
    for k in obs:
        np.testing.assert_array_equal(obs[k], again[k])
    assert not np.array_equal(near_starts(task, obs), near_starts(*first(2)))
    assert not near_starts(*first(1, p=0.0)).any()


def test_near_ahead_puts_that_share_on_the_goals_side():
    """near_ahead q: a share q of the near starts has the robot NEAR_GAP from the object on its
    goal's side, the rest behind it; the object clear of the robot either way."""
    def starts(q):
        task = make_task("LuxoCube", "cube", num_envs=400, start_near=1.0, near_ahead=q)
        obs, _ = task.reset(seed=2)
        robot = task.robot_position(obs["proprio"])[:, 0]
        obj, goal = obs["object"][:, 0], obs["goal:object"][:, 0]
        behind = np.sign(obj - robot) == np.sign(goal - obj)
        return task, obs, behind

    for q, low, high in ((0.0, 0.85, 1.0), (0.5, 0.4, 0.6), (1.0, 0.0, 0.0)):
        task, obs, behind = starts(q)
        assert near_starts(task, obs).mean() > 0.7  # the rest: walls left no room for NEAR_GAP
        assert low <= behind.mean() <= high, (q, behind.mean())
        moved = task.step(np.zeros((400, 3), np.float32))[0]["object"] - obs["object"]
        assert (np.abs(moved[:, 0]) < 5e-3).mean() > 0.85  # successes reset; the rest stay put


def test_cube_goals_settle_whatever_the_episode_length():
    """Goals settle 10 steps in a pool of their own: a task whose episodes are shorter poses the
    same goals."""
    short = make_task("LuxoCube", "cube", num_envs=3, ep_len=CUBE_SETTLE_STEPS // 2)
    usual = make_task("LuxoCube", "cube", num_envs=3)
    np.testing.assert_array_equal(short.reset(seed=4)[0]["goal:object"], usual.reset(seed=4)[0]["goal:object"])


def test_same_seed_same_episodes():
    def run(seed):
        task = make_task("Luxo", "body", num_envs=4, threshold=0.1, ep_len=20)
        out = [task.reset(seed=seed)[0]["proprio"]]
        rng = np.random.default_rng(0)
        for _ in range(45):
            out.append(task.step(rng.uniform(-1, 1, (4, 3)).astype(np.float32))[0]["goal:proprio"])
        return np.stack(out)

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_registered_ids():
    for name in boxlcd.envs():
        d = boxlcd.env_def(name)
        for task, wanted in (("Body", bool(d.robots)), ("Cube", bool(d.robots and d.objects))):
            assert (f"boxlcd/{name}{task}Goal-v0" in gymnasium.registry) == wanted, (name, task)
    vec = gymnasium.make_vec("boxlcd/LuxoCubeCubeGoal-v0", num_envs=3, threshold=0.1)
    obs, _ = vec.reset(seed=0)
    assert vec.num_envs == 3 and set(obs) == {"proprio", "goal:proprio", "lcd", "goal:lcd", "object", "goal:object"}


@pytest.mark.parametrize("env_id", ["boxlcd/UrchinBodyGoal-v0", "boxlcd/LuxoCubeCubeGoal-v0"])
def test_check_env(env_id):
    env = gymnasium.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown task 'walk'"):
        make_task("Urchin", "walk")
    with pytest.raises(ValueError, match="needs a robot and an object"):
        make_task("Urchin", "cube")
    with pytest.raises(ValueError, match="needs a robot"):
        make_task("Bounce", "body")
    with pytest.raises(ValueError, match="threshold"):
        make_task("Urchin", "body", threshold=0)
    with pytest.raises(ValueError, match="ep_len"):
        make_task("Urchin", "body", ep_len=0)
    with pytest.raises(ValueError, match="reach shapes the cube task"):
        make_task("Urchin", "body", reach=1.0)
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="reach must be a finite number >= 0"):
            make_task("LuxoCube", "cube", reach=bad)
    with pytest.raises(ValueError, match="reach_behind must be a finite number >= 0"):
        make_task("LuxoCube", "cube", reach=1.0, reach_behind=-0.1)
    with pytest.raises(ValueError, match="reach_behind places the reach target: it needs reach > 0"):
        make_task("LuxoCube", "cube", reach_behind=0.1)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="start_near must be a probability in"):
            make_task("LuxoCube", "cube", start_near=bad)
    with pytest.raises(ValueError, match="start_near moves the robot beside the object"):
        make_task("Luxo", "body", start_near=0.5)
    for bad in (-0.1, NEAR_GAP_MAX, float("nan")):
        with pytest.raises(ValueError, match="near_spread must be a number in"):
            make_task("LuxoCube", "cube", start_near=0.5, near_spread=bad)
    with pytest.raises(ValueError, match="near_spread draws the gap of start_near's starts"):
        make_task("LuxoCube", "cube", near_spread=0.2)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="near_ahead must be a probability in"):
            make_task("LuxoCube", "cube", start_near=0.5, near_ahead=bad)
    with pytest.raises(ValueError, match="near_ahead places some of start_near's starts"):
        make_task("LuxoCube", "cube", near_ahead=0.5)
    with pytest.raises(ValueError, match="seed"):
        make_task("Urchin", "body").reset(seed=-1)
