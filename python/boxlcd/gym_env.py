"""Gymnasium envs on the C++ batch: GymEnv (one world) and GymVectorEnv (N worlds, native).

Both are registered as ``boxlcd/<Name>-v0`` (see boxlcd.registration):

    env = gymnasium.make("boxlcd/Urchin-v0")                 # GymEnv
    envs = gymnasium.make_vec("boxlcd/Urchin-v0", num_envs=256, num_threads=2)  # GymVectorEnv

GymVectorEnv steps all its worlds in one C++ call and autoresets in C++. For one seed and one
action sequence it returns exactly what gymnasium.vector.SyncVectorEnv over num_envs GymEnvs
returns, in all three autoreset modes (a test compares them step by step).
"""
from __future__ import annotations

import numbers
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from boxlcd import _core
from boxlcd.env import make as make_batch
from boxlcd.env import seed_int
from boxlcd.frames import unpack
from boxlcd.render import Window, side_by_side

LCD_FORMATS = ("packed", "unpacked")
RENDER_MODES = ["rgb_array", "human"]
_AUTORESET_NAMES = {
    AutoresetMode.NEXT_STEP: "next_step",
    AutoresetMode.SAME_STEP: "same_step",
    AutoresetMode.DISABLED: "disabled",
}
_SEED_MOD = 2**64


def parse_autoreset_mode(mode) -> AutoresetMode:
    """A gymnasium AutoresetMode from itself, its value ("NextStep") or boxlcd.make's name ("next_step")."""
    names = {v: k for k, v in _AUTORESET_NAMES.items()}
    if mode in names:
        return names[mode]
    try:
        return AutoresetMode(mode)
    except ValueError:
        raise ValueError(f"autoreset_mode must be a gymnasium.vector.AutoresetMode, one of "
                         f"{[m.value for m in AutoresetMode]} or {list(names)}, got {mode!r}") from None


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _random_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


def _key_bounds(key: str, walls: bool) -> tuple[float, float]:
    # cos and sin are in [-1, 1] always; positions map [0, W] x [0, H] to [-1, 1], which holds
    # only inside walls: without them bodies may leave the view sideways or fly up.
    if key.endswith((":cos", ":sin")) or key == "zero" or walls:
        return -1.0, 1.0
    return -np.inf, np.inf


def observation_space(batch: _core.Batch, lcd_format: str = "packed") -> spaces.Dict:
    """The Dict space of one world's observation: lcd, full_state, proprio."""
    _check_choice("lcd_format", lcd_format, LCD_FORMATS)
    rows, cols = batch.frame_shape
    if lcd_format == "packed":
        lcd = spaces.Box(0, 255, (rows, (cols + 7) // 8), np.uint8)
    else:
        lcd = spaces.Box(0, 1, (rows, cols), np.uint8)
    walls = batch.definition.walls

    def box(keys):
        low, high = np.array([_key_bounds(k, walls) for k in keys], np.float32).T
        return spaces.Box(low, high, (len(keys),), np.float32)

    return spaces.Dict({"lcd": lcd, "full_state": box(batch.state_keys), "proprio": box(batch.proprio_keys)})


def action_space(batch: _core.Batch) -> spaces.Box:
    return spaces.Box(-1.0, 1.0, (len(batch.action_keys),), np.float32)


def _unpack(packed: np.ndarray, cols: int) -> np.ndarray:
    return unpack(packed, cols=cols)


class _Rendering:
    """What GymEnv and GymVectorEnv share: key names and render_mode handling."""

    @property
    def definition(self) -> _core.WorldDef:
        """A copy of the batch's definition: changing it changes nothing that runs."""
        return self._env.definition

    @property
    def state_keys(self) -> list[str]:
        return self._env.state_keys

    @property
    def frame_shape(self) -> tuple[int, int]:
        return self._env.frame_shape

    @property
    def proprio_keys(self) -> list[str]:
        return self._env.proprio_keys

    @property
    def action_keys(self) -> list[str]:
        return self._env.action_keys

    def _init_render(self, render_mode, render_scale, title):
        if render_mode is not None:
            _check_choice("render_mode", render_mode, RENDER_MODES)
        if not isinstance(render_scale, numbers.Integral) or isinstance(render_scale, bool) or render_scale < 1:
            raise ValueError(f"render_scale must be a positive int, got {render_scale!r}")
        self.render_mode = render_mode
        self.render_scale = int(render_scale)
        # Fails here, not at the first step, when no window can open.
        self._window = Window(title) if render_mode == "human" else None

    def _show(self) -> None:
        if self._window is not None:
            self._window.show(side_by_side(self._env.batch, 0, self.render_scale), self.metadata["render_fps"])

    def _close_window(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None


class GymEnv(_Rendering, gymnasium.Env):
    """One boxlcd world as a gymnasium.Env.

    env: a built-in env name or a WorldDef (or boxlcd.worlds.World); overrides as keywords
    (ep_len=..., walls=..., see boxlcd.override_names()). lcd_format "unpacked" gives (H, W)
    0/1 frames instead of packed (H, ceil(W/8)) bytes. Observations are fresh arrays.
    render_mode "rgb_array": render() returns the LCD (upscaled render_scale times) beside a
    high-resolution render; "human" shows that in a pygame window (needs a display).
    Episodes end by truncation at ep_len; the reward is 0 (these are world-model envs).
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 10}

    def __init__(self, env: str | _core.WorldDef = "Urchin", render_mode: str | None = None,
                 lcd_format: str = "packed", render_scale: int = 8, **overrides):
        _check_choice("lcd_format", lcd_format, LCD_FORMATS)
        self._env = make_batch(env, num_envs=1, autoreset_mode="disabled", **overrides)
        self.lcd_format = lcd_format
        self.metadata = {**GymEnv.metadata, "render_fps": self.definition.fps}
        self.observation_space = observation_space(self._env.batch, lcd_format)
        self.action_space = action_space(self._env.batch)
        self._init_render(render_mode, render_scale, f"boxlcd {self.definition.name}")
        self._seeded = False

    def _observation(self) -> dict[str, np.ndarray]:
        obs = self._env._obs
        lcd = obs["lcd"][0]
        lcd = _unpack(lcd, self._env.frame_shape[1]) if self.lcd_format == "unpacked" else lcd.copy()
        return {"lcd": lcd, "full_state": obs["full_state"][0].copy(), "proprio": obs["proprio"][0].copy()}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """seed: reseeds the world (None continues its generator; the first reset without a
        seed draws one at random). options: {"full_state": (D,) array} places every body there
        at rest."""
        seed = seed_int(seed)  # numpy integers too; gymnasium itself takes only int
        super().reset(seed=seed)
        options = dict(options or {})
        full_state = options.pop("full_state", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; GymEnv takes 'full_state'")
        if seed is None and not self._seeded:
            seed = _random_seed()
        self._seeded = True
        if full_state is not None:
            full_state = np.asarray(full_state)
            if full_state.shape != (len(self.state_keys),):
                raise ValueError(f"options['full_state'] must have shape ({len(self.state_keys)},), "
                                 f"got {full_state.shape}")
            full_state = full_state[None]
        self._env.reset(seed=seed, full_state=full_state)
        self._show()
        return self._observation(), {}

    def step(self, action):
        action = np.asarray(action)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        _, reward, terminated, truncated, _ = self._env.step(action[None])
        self._show()
        return self._observation(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), {}

    def render(self):
        if self.render_mode == "rgb_array":
            return side_by_side(self._env.batch, 0, self.render_scale)
        return None

    def close(self):
        self._close_window()
        self._env.close()


class GymVectorEnv(_Rendering, gymnasium.vector.VectorEnv):
    """num_envs boxlcd worlds as a native gymnasium VectorEnv: one C++ call steps them all,
    on num_threads threads, and autoresets them in C++.

    autoreset_mode: gymnasium.vector.AutoresetMode (or its value); NEXT_STEP by default.
    SAME_STEP puts the ended episodes' last observations in info["final_obs"] (an object
    array, None for envs that did not end) with info["final_info"], masks "_final_obs" and
    "_final_info", as SyncVectorEnv does. copy=False returns views of the C++ buffers instead
    of fresh arrays (no copy; the next step or reset rewrites them; unpacked frames are always
    a fresh array). render() returns a tuple
    of pictures, one per env; render_mode "human" shows env 0.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 10, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, env: str | _core.WorldDef = "Urchin", num_envs: int = 1, num_threads: int = 1,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, render_mode: str | None = None,
                 lcd_format: str = "packed", render_scale: int = 8, copy: bool = True, **overrides):
        _check_choice("lcd_format", lcd_format, LCD_FORMATS)
        autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self._env = make_batch(env, num_envs=num_envs, num_threads=num_threads,
                               autoreset_mode=_AUTORESET_NAMES[autoreset_mode], **overrides)
        self.num_envs = self._env.num_envs
        self.lcd_format = lcd_format
        self.copy = bool(copy)
        self.autoreset_mode = autoreset_mode
        # The instance's own dict: the class's stays as it is for every other instance.
        self.metadata = {**GymVectorEnv.metadata, "render_fps": self.definition.fps, "autoreset_mode": autoreset_mode}
        self.single_observation_space = observation_space(self._env.batch, lcd_format)
        self.single_action_space = action_space(self._env.batch)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._init_render(render_mode, render_scale, f"boxlcd {self.definition.name}")
        self._seeded = False

    @property
    def batch(self) -> _core.Batch:
        return self._env.batch

    def _observation(self, views: dict[str, np.ndarray], rows=None) -> dict[str, np.ndarray]:
        if rows is not None:
            views = {k: v[rows] for k, v in views.items()}  # fancy indexing copies
        elif self.copy:
            views = {k: v.copy() for k, v in views.items()}
        if self.lcd_format == "unpacked":
            views["lcd"] = _unpack(views["lcd"], self._env.frame_shape[1])
        return views

    def _reset_mask(self, options: dict) -> np.ndarray | None:
        mask = options.pop("reset_mask", None)
        if mask is None:
            return None
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
            raise TypeError(f"options['reset_mask'] must be a numpy bool array, got "
                            f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if mask.shape != (self.num_envs,):
            raise ValueError(f"options['reset_mask'] must have shape ({self.num_envs},), got {mask.shape}")
        if not mask.any():
            raise ValueError("options['reset_mask'] must select at least one env")
        return mask

    def _seed(self, seed, mask: np.ndarray | None) -> None:
        """Resets the masked envs; env i gets seed + i, or seed[i] from a list (None: continue)."""
        batch, n = self._env.batch, self.num_envs
        if seed is None or isinstance(seed, (numbers.Number, np.generic, str, bytes)):  # not a list
            if seed is None and not self._seeded:
                seed = _random_seed()
            batch.reset(seed_int(seed), mask)
            return
        seeds = list(seed)
        if len(seeds) != n:
            raise ValueError(f"a list of seeds must have num_envs={n} entries, got {len(seeds)}")
        selected = np.ones(n, bool) if mask is None else mask
        unseeded = np.array([s is None for s in seeds]) & selected
        if unseeded.any():
            batch.reset(None, unseeded)
        # The batch seeds env i with base + i: envs whose seeds share seed[i] - i share a call.
        offsets: dict[int, np.ndarray] = {}
        for i, s in enumerate(seeds):
            if s is None or not selected[i]:
                continue
            s = seed_int(s, f"seed[{i}]")
            offsets.setdefault((s - i) % _SEED_MOD, np.zeros(n, bool))[i] = True
        for base, envs in offsets.items():
            batch.reset(base, envs)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """seed: env i gets seed + i (an int), or seed[i] (a list; None continues that env's
        generator). options: "reset_mask" (num_envs,) bool resets only those envs (the others
        keep their state and observation); "full_state" (num_envs, D) places the reset envs
        at rest in those poses."""
        options = dict(options or {})
        mask = self._reset_mask(options)
        full_state = options.pop("full_state", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; GymVectorEnv takes 'reset_mask', 'full_state'")
        if seed is not None or full_state is None or not self._seeded:
            self._seed(seed, mask)
        self._seeded = True
        if full_state is not None:
            self._env.batch.reset_to_state(full_state, mask)
        self._show()
        return self._observation(self._env._obs), {}

    def step(self, actions):
        obs, reward, terminated, truncated, _ = self._env.step(actions)
        info: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            ended = np.flatnonzero(self._env.batch.has_final)
            if ended.size:
                # Gymnasium's layout: one observation object per ended env, None elsewhere.
                final = self._observation(self._env._final_obs, ended)
                final_obs = np.full(self.num_envs, None, dtype=object)
                for row, i in enumerate(ended):
                    final_obs[i] = {k: v[row] for k, v in final.items()}
                mask = self._env.batch.has_final.copy()
                info = {"final_obs": final_obs, "_final_obs": mask, "final_info": {}, "_final_info": mask.copy()}
        self._show()
        return (self._observation(obs), reward.astype(np.float64), terminated.copy(), truncated.copy(), info)

    def render(self):
        if self.render_mode == "rgb_array":
            return tuple(side_by_side(self._env.batch, i, self.render_scale) for i in range(self.num_envs))
        return None

    def close_extras(self, **kwargs):
        self._close_window()
        self._env.close()  # the threads, worlds and buffers go now, not when collected
