"""Goal tasks over a boxlcd vector env, real or learned, with one code path for both.

    envs = boxlcd.tasks.make_task("Urchin", "body", num_envs=128)                  # the engine
    envs = boxlcd.tasks.make_task("Urchin", "body", num_envs=128, sim="runs/ft")  # a learned sim
    envs = gymnasium.make_vec("boxlcd/UrchinBodyGoal-v0", num_envs=128)          # the same

The tasks of the original testbed:
- **body** (every robot env): the goal is the proprio of an independent reset of the same env
  (its frame is `goal:lcd`). delta = mean |goal - current| over the proprio keys ending in
  `:x:p` or `:y:p` (positions of the robot's bodies, in the [-1, 1] units of full_state).
- **cube** (robot + object envs): the goal is where the first object rests in an independent
  reset after 10 zero-action steps; delta = mean |goal - current| over that object's x and y.

Each step's reward is -delta; when delta < `threshold` (0.05) the step adds +1 and the episode
ends as a success (terminated, info["success"]). Otherwise it is truncated after `ep_len`
steps (default: the env's). Observations: `proprio`, `goal:proprio`, `lcd`, `goal:lcd`, and for
the cube task `object` and `goal:object` (x, y).

Shaping (cube task, off by default: the original's reward): `reach` r adds r x (how much closer
the robot came to the object this step), the robot's place being the mean of its body
positions, since a push needs the robot at the object first. It sums over an episode to
r x (first distance - last), so it cannot be farmed. With `reach_behind` b the target is the
point b behind the object along x as seen from the goal, where a push moves it goalward.

Curriculum (cube task, off by default; in the engine or a learned sim, whose prompt is then
the engine placed so): with `start_near` p, each episode starts with probability p with the
object upright on the floor and the robot `NEAR_GAP` behind it (from its body nearest the
object), seen from the goal (moved along x, the robot's pose kept; the goal unchanged), so
pushing can be learned before the travel to the object. With `near_spread` s the gap is drawn
uniformly from [NEAR_GAP, NEAR_GAP + s] instead (shrunk to the room behind the object): near
starts then grade into far ones. With `near_ahead` q a share q of the near starts puts the
robot on the goal's side of the object instead, where it must get past the object (over it:
the world is 2D) before it can push. Success is measured without any of these (`rl eval`).

Autoreset is SAME_STEP: an ended env is reset (new start, new goal) within the step, its last
observation in info["final_obs"] (masked by info["_final_obs"]), as SB3 and most PPO loops want.

The wrapped env's contract (GymVectorEnv and boxlcd.learned.LearnedEnv both keep it): a
gymnasium VectorEnv with autoreset DISABLED, `definition` (the real env's WorldDef),
`proprio_keys`, `state_keys`, observations with "lcd", "proprio" and, for the cube task,
"full_state", and reset(seed=..., options={"reset_mask": m}) that resets only the rows in m
(with "full_state" too, for the curriculum: those rows placed at rest in the poses given).
Goals come from the real engine either way (a pool of independent resets, refilled as used),
so a real and a learned env given one seed pose the same goals.
"""
from __future__ import annotations

import numbers
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

import boxlcd
from boxlcd.env import seed_int
from boxlcd.gym_env import _random_seed

TASKS = ("body", "cube")
THRESHOLD = 0.05
CUBE_SETTLE_STEPS = 10
GOAL_SEED_OFFSET = 1 << 48  # goal resets use seeds far from the envs' own
NEAR_SEED_OFFSET = 1 << 47  # start_near's draws, apart from both
NEAR_GAP = 0.35  # x units from the robot's body middle nearest the object to the object's: at 0.3
# a Luxo or Urchin reset pose touches it 0 to 40% of the time, at 0.35 never (1,000 starts each)
NEAR_EDGE = 0.9  # a near start keeps each robot body's middle within +-NEAR_EDGE, inside the walls
NEAR_GAP_MAX = 1.0  # NEAR_GAP + near_spread


def delta_keys(task: str, proprio_keys: list[str], state_keys: list[str]) -> list[str]:
    """The keys whose mean absolute error to the goal is the task's delta."""
    if task == "body":
        keys = [k for k in proprio_keys if k.endswith((":x:p", ":y:p"))]
        if not keys:
            raise ValueError("the body task needs a robot: this env's proprio has no body positions")
        return keys
    if task == "cube":
        keys = ["object0:x:p", "object0:y:p"]
        if not set(keys) <= set(state_keys) or not any(k.endswith(":x:p") for k in proprio_keys):
            raise ValueError("the cube task needs a robot and an object (UrchinCube, LuxoCube, ...)")
        return keys
    raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


class GoalPool:
    """Independent resets of the real env, drawn in order and refilled in bulk: one batched
    reset (and, for the cube task, 10 zero-action steps) serves many episodes."""

    def __init__(self, definition, size: int, settle_steps: int):
        # The settle steps must fit in an episode of the pool's own, whatever the task's ep_len.
        self.batch = boxlcd.make(definition, num_envs=size, num_threads=1, autoreset_mode="disabled",
                                 ep_len=max(definition.ep_len, settle_steps + 1))
        self.settle_steps = settle_steps
        self.size = size
        self._zeros = np.zeros((size, self.batch.action_size), np.float32)

    def seed(self, seed: int) -> None:
        self._next_seed = seed
        self._refill()

    def _refill(self) -> None:
        obs = self.batch.reset(seed=self._next_seed)
        self._next_seed = None  # later refills continue each env's generator
        for _ in range(self.settle_steps):
            obs, *_ = self.batch.step(self._zeros)
        self.lcd, self.proprio, self.full_state = (obs[k].copy() for k in ("lcd", "proprio", "full_state"))
        self.cursor = 0

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n goals: (lcd, proprio, full_state) rows."""
        parts = []
        while n:
            if self.cursor == self.size:
                self._refill()
            m = min(n, self.size - self.cursor)
            rows = slice(self.cursor, self.cursor + m)
            parts.append((self.lcd[rows], self.proprio[rows], self.full_state[rows]))
            self.cursor += m
            n -= m
        return tuple(np.concatenate(p) for p in zip(*parts))


class Goals:
    """The goals of a batch of envs in one task: where delta's values live (proprio for the body
    task, full_state for the cube task), the goals drawn from a GoalPool, and the task's
    observation of them. GoalTask and a collecting policy (boxlcd.rl.actor) share it."""

    def __init__(self, task: str, definition, proprio_keys: list[str], state_keys: list[str], num_envs: int):
        keys = delta_keys(task, proprio_keys, state_keys)
        self.task, self.num_envs = task, num_envs
        self.source = "proprio" if task == "body" else "full_state"
        source_keys = proprio_keys if task == "body" else state_keys
        self.index = np.array([source_keys.index(k) for k in keys])
        self.pool = GoalPool(definition, max(256, num_envs), 0 if task == "body" else CUBE_SETTLE_STEPS)

    def reset(self, seed: int) -> None:
        """Seeds the pool and draws a goal for every env."""
        self.pool.seed(seed)
        self.lcd, self.proprio, full_state = self.pool.take(self.num_envs)
        self.values = self._values(self.proprio, full_state)

    def renew(self, rows: np.ndarray) -> None:
        """The next goals for the envs in rows."""
        lcd, proprio, full_state = self.pool.take(len(rows))
        self.lcd[rows], self.proprio[rows] = lcd, proprio
        self.values[rows] = self._values(proprio, full_state)

    def _values(self, proprio: np.ndarray, full_state: np.ndarray) -> np.ndarray:
        # C order: delta's float32 mean rounds otherwise over a fancy index's transposed layout
        return (proprio if self.source == "proprio" else full_state)[:, self.index].astype(np.float32, order="C")

    def current(self, obs: dict) -> np.ndarray:
        """delta's values now, per env, in the wrapped env's observation."""
        return obs[self.source][:, self.index]

    def delta(self, obs: dict) -> np.ndarray:
        """Mean |goal - current| per env."""
        return np.abs(self.current(obs) - self.values).mean(axis=1)

    def observation(self, obs: dict) -> dict[str, np.ndarray]:
        """The task's observation (copies): the env's, the goal's, and the cube task's object."""
        out = {"proprio": obs["proprio"].copy(), "goal:proprio": self.proprio.copy(),
               "lcd": obs["lcd"].copy(), "goal:lcd": self.lcd.copy()}
        if self.task == "cube":
            out["object"] = self.current(obs).astype(np.float32)
            out["goal:object"] = self.values.copy()
        return out


class GoalTask(gymnasium.vector.VectorEnv):
    """A goal task over a boxlcd vector env (see the module's docstring for the contract)."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, env: gymnasium.vector.VectorEnv, task: str = "body", threshold: float = THRESHOLD,
                 ep_len: int | None = None, reach: float = 0.0, reach_behind: float = 0.0,
                 start_near: float = 0.0, near_spread: float = 0.0, near_ahead: float = 0.0):
        if env.metadata.get("autoreset_mode") != AutoresetMode.DISABLED:
            raise ValueError("GoalTask resets the envs itself: wrap an env made with autoreset_mode DISABLED")
        if isinstance(threshold, bool) or not (isinstance(threshold, numbers.Real) and 0 < threshold <= 2):
            raise ValueError(f"threshold must be a number in (0, 2] (deltas of positions in [-1, 1]), got {threshold!r}")
        for name, value in (("reach", reach), ("reach_behind", reach_behind)):
            if not (isinstance(value, numbers.Real) and 0 <= value < float("inf")):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if reach_behind and not reach:
            raise ValueError("reach_behind places the reach target: it needs reach > 0")
        if reach and task != "cube":
            raise ValueError("reach shapes the cube task's reward (the robot's distance to the object); "
                             f"the {task} task takes none")
        if not (isinstance(start_near, numbers.Real) and 0 <= start_near <= 1):
            raise ValueError(f"start_near must be a probability in [0, 1], got {start_near!r}")
        if start_near and task != "cube":
            raise ValueError(f"start_near moves the robot beside the object: the cube task's; the {task} task takes none")
        if not (isinstance(near_spread, numbers.Real) and 0 <= near_spread <= NEAR_GAP_MAX - NEAR_GAP):
            raise ValueError(f"near_spread must be a number in [0, {NEAR_GAP_MAX - NEAR_GAP:g}], got {near_spread!r}")
        if near_spread and not start_near:
            raise ValueError("near_spread draws the gap of start_near's starts: it needs start_near > 0")
        if not (isinstance(near_ahead, numbers.Real) and 0 <= near_ahead <= 1):
            raise ValueError(f"near_ahead must be a probability in [0, 1], got {near_ahead!r}")
        if near_ahead and not start_near:
            raise ValueError("near_ahead places some of start_near's starts: it needs start_near > 0")
        if task == "body" and not getattr(env, "predicts_proprio", True):
            raise ValueError("the body task needs the proprio: this learned env's model does not predict it")
        if task == "cube" and "full_state" not in env.single_observation_space.spaces:
            raise ValueError("the cube task needs the object's position: a learned env's model must predict "
                             "full_state (train it with --set predict_state=true)")
        self.env = env
        self.task = task
        self.definition = env.definition
        self.frame_shape = tuple(env.frame_shape)
        self.proprio_keys, self.state_keys = list(env.proprio_keys), list(env.state_keys)
        self.threshold = float(threshold)
        # A learned env's episodes are shorter than the engine's by its prompt: theirs is the limit.
        limit = int(getattr(env, "episode_steps", self.definition.ep_len))
        if ep_len is not None and (isinstance(ep_len, bool) or not isinstance(ep_len, numbers.Integral)
                                   or not 1 <= ep_len <= limit):
            raise ValueError(f"ep_len must be a whole number in [1, {limit}] (the steps an episode of the "
                             f"wrapped env holds), got {ep_len!r}")
        self.ep_len = limit if ep_len is None else int(ep_len)
        self.num_envs = env.num_envs
        self.goals = Goals(task, self.definition, self.proprio_keys, self.state_keys, self.num_envs)
        self.reach, self.reach_behind = float(reach), float(reach_behind)
        self._body_x = np.array([i for i, k in enumerate(self.proprio_keys) if k.endswith(":x:p")])
        self._body_y = np.array([i for i, k in enumerate(self.proprio_keys) if k.endswith(":y:p")])
        self._steps = np.zeros(self.num_envs, np.int64)
        self.start_near, self.near_spread, self.near_ahead = float(start_near), float(near_spread), float(near_ahead)
        self._robot_state_x = np.array([i for i, k in enumerate(self.state_keys)
                                        if k.endswith(":x:p") and k in self.proprio_keys])
        if task == "cube":
            self._object_pose = [self.state_keys.index(f"object0:{c}") for c in ("cos", "sin", "x:p", "y:p")]
            size = self.definition.objects[0].size * 1.02  # its half-height, and a hair to fall
            self._object_floor_y = 2 * size / self.definition.height - 1

        inner = env.single_observation_space
        single = {"proprio": inner["proprio"], "goal:proprio": inner["proprio"],
                  "lcd": inner["lcd"], "goal:lcd": inner["lcd"]}
        if task == "cube":
            state = inner["full_state"]
            index = self.goals.index
            obj = spaces.Box(state.low[index], state.high[index], (2,), np.float32)
            single.update({"object": obj, "goal:object": obj})
        self.single_observation_space = spaces.Dict(single)
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**env.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        self.render_mode = None

    def robot_position(self, proprio: np.ndarray) -> np.ndarray:
        """(x, y) per env: the mean of the robot's body positions in a batch of proprio."""
        return np.stack([proprio[:, self._body_x].mean(1), proprio[:, self._body_y].mean(1)], 1)

    def reach_distance(self, obs: dict) -> np.ndarray:
        """Mean |robot - target| over x and y per env (the cube task's reach shaping): the robot's
        place is the mean of its body positions, the target the object's place moved
        reach_behind along x away from the goal."""
        robot = self.robot_position(obs["proprio"])
        target = self.goals.current(obs).copy()
        target[:, 0] -= self.reach_behind * np.sign(self.goals.values[:, 0] - target[:, 0])
        return np.abs(robot - target).mean(axis=1)

    def delta(self, obs: dict) -> np.ndarray:
        """Mean |goal - current| per env for the wrapped env's observation `obs`."""
        return self.goals.delta(obs)

    def _start_near(self, obs: dict, reset: np.ndarray) -> dict:
        """Each just-reset env, with probability start_near, starts with its object upright on
        the floor and the robot a gap (NEAR_GAP, or drawn up to NEAR_GAP + near_spread; from its
        body middle nearest the object) behind it, seen from the goal, or with probability
        near_ahead on the goal's side (both moved along x only as far as the walls need, the
        robot's pose kept), at rest; returns the observation after."""
        near = reset & (self._near_rng.random(self.num_envs) < self.start_near)
        # drawn for every env, used or not, so one env's starts do not depend on the others'
        gap = NEAR_GAP + self.near_spread * self._near_rng.random(self.num_envs) if self.near_spread else NEAR_GAP
        ahead = self._near_rng.random(self.num_envs) < self.near_ahead if self.near_ahead else False
        if not near.any():
            return obs
        state = obs["full_state"].copy()
        robot = state[:, self._robot_state_x]
        offsets = robot - robot.mean(1, keepdims=True)
        obj_x = self.goals.current(obs)[:, 0]
        side = np.where(self.goals.values[:, 0] >= obj_x, 1.0, -1.0)  # from the robot to the object
        side = np.where(ahead, -side, side)
        low, high = -NEAR_EDGE - offsets.min(1), NEAR_EDGE - offsets.max(1)  # the robot's mean, inside the walls
        lead = np.where(side > 0, offsets.max(1), -offsets.min(1))  # mean to the body middle nearest the object
        # a drawn gap shrinks to the room on the robot's side (not below NEAR_GAP): the object stays
        # put unless even NEAR_GAP does not fit, and then the robot stops at the wall and it moves on
        room = np.where(side > 0, obj_x - low, high - obj_x) - lead
        apart = np.maximum(np.minimum(gap, room), NEAR_GAP) + lead  # the robot's mean to the object
        robot_x = np.clip(obj_x - side * apart, low, high)
        state[:, self._robot_state_x] = robot_x[:, None] + offsets
        state[:, self._object_pose] = np.stack([np.ones_like(robot_x), np.zeros_like(robot_x), robot_x + side * apart,
                                                np.full_like(robot_x, self._object_floor_y)], 1)
        obs, _ = self.env.reset(options={"reset_mask": near, "full_state": state})
        return obs

    # -- the VectorEnv API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """seed: the envs' starts (env i seed + i) and the goals (their own seeds, derived)."""
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; GoalTask takes none")
        seed = seed_int(seed)
        if seed is None:
            seed = _random_seed()
        obs, _ = self.env.reset(seed=seed)
        self.goals.reset((seed + GOAL_SEED_OFFSET) % (1 << 64))
        n = self.num_envs
        if self.start_near:
            self._near_rng = np.random.default_rng((seed + NEAR_SEED_OFFSET) % (1 << 64))
            obs = self._start_near(obs, np.ones(n, bool))
        self._steps[:] = 0
        if self.reach:
            self._reach_before = self.reach_distance(obs)
        return self.goals.observation(obs), {}

    def step(self, actions):
        obs, _, _, _, _ = self.env.step(actions)
        self._steps += 1
        delta = self.delta(obs)
        success = delta < self.threshold
        truncated = ~success & (self._steps >= self.ep_len)
        reward = (-delta + success).astype(np.float64)
        if self.reach:
            now = self.reach_distance(obs)
            reward += self.reach * (self._reach_before - now)
            self._reach_before = now
        ended = success | truncated
        info: dict[str, Any] = {"success": success.copy(), "delta": delta}
        if not ended.any():
            return self.goals.observation(obs), reward, success, truncated, info
        final = self.goals.observation(obs)
        rows = np.flatnonzero(ended)
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in rows:
            final_obs[i] = {k: v[i] for k, v in final.items()}
        obs, _ = self.env.reset(options={"reset_mask": ended})
        self.goals.renew(rows)
        if self.start_near:
            obs = self._start_near(obs, ended)
        if self.reach:
            self._reach_before[rows] = self.reach_distance(obs)[rows]
        self._steps[rows] = 0
        info.update({"final_obs": final_obs, "_final_obs": ended.copy(),
                     "final_info": {"success": success.copy()}, "_final_info": ended.copy()})
        return self.goals.observation(obs), reward, success, truncated, info

    def close_extras(self, **kwargs):
        self.env.close()


def inner_env(env: str, num_envs: int, sim: str = "real", num_threads: int = 1, ep_len: int | None = None,
              device: str = "cpu", temperature: float = 0.0, noise: float = 0.0, **overrides):
    """The env a task wraps, autoreset DISABLED: the engine (sim="real") or a learned simulator
    (sim: a run folder or checkpoint of a world model trained on `env`; temperature and noise
    as boxlcd.learned.LearnedEnv's)."""
    if sim == "real":
        if noise:
            raise ValueError(f"noise perturbs a learned sim's predictions; the real engine takes none, got {noise!r}")
        from boxlcd.gym_env import GymVectorEnv

        if ep_len is not None:
            overrides["ep_len"] = ep_len
        return GymVectorEnv(env, num_envs=num_envs, num_threads=num_threads,
                            autoreset_mode=AutoresetMode.DISABLED, copy=False, **overrides)
    from boxlcd.learned import LearnedEnv

    if overrides:
        raise ValueError(f"a learned env takes its settings from its checkpoint, not {sorted(overrides)}")
    learned = LearnedEnv(sim, num_envs, device=device, temperature=temperature, noise=noise,
                         autoreset_mode=AutoresetMode.DISABLED, num_threads=num_threads)
    if learned.definition.name != env:
        raise ValueError(f"{sim} is a model of {learned.definition.name}, not of {env}")
    return learned


def make_task(env: str = "Urchin", task: str = "body", num_envs: int = 1, sim: str = "real",
              threshold: float = THRESHOLD, ep_len: int | None = None, num_threads: int = 1,
              device: str = "cpu", temperature: float = 0.0, noise: float = 0.0, reach: float = 0.0,
              reach_behind: float = 0.0, start_near: float = 0.0, near_spread: float = 0.0,
              near_ahead: float = 0.0, **overrides) -> GoalTask:
    """A goal task on `num_envs` envs of `env`, in the engine or in a learned simulator."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    inner = inner_env(env, num_envs, sim, num_threads, ep_len, device, temperature, noise, **overrides)
    return GoalTask(inner, task, threshold, ep_len, reach, reach_behind, start_near, near_spread, near_ahead)


class SingleGoalTask(gymnasium.Env):
    """One env of a goal task as a gymnasium.Env (what gymnasium.make gives)."""

    def __init__(self, env: str = "Urchin", task: str = "body", **kwargs):
        self.vector = make_task(env, task, num_envs=1, **kwargs)
        self.observation_space = self.vector.single_observation_space
        self.action_space = self.vector.single_action_space
        self.metadata = {"render_modes": [], "render_fps": self.vector.definition.fps}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, 2**62))
        obs, _ = self.vector.reset(seed=seed, options=options)
        return {k: v[0] for k, v in obs.items()}, {}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.vector.step(np.asarray(action)[None])
        if info.get("_final_obs", np.zeros(1, bool))[0]:
            obs = info["final_obs"][0]  # the next reset() starts anew; until then, the last obs
        else:
            obs = {k: v[0] for k, v in obs.items()}
        return obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), {"success": bool(info["success"][0])}

    def close(self):
        self.vector.close()
