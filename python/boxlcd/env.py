"""make() and Env: a batch of worlds with numpy views of its outputs."""
from __future__ import annotations

import numbers

import numpy as np

from boxlcd import _core
from boxlcd.worlds import World

AUTORESET_MODES = {
    "next_step": _core.AutoresetMode.NextStep,
    "same_step": _core.AutoresetMode.SameStep,
    "disabled": _core.AutoresetMode.Disabled,
}


def envs() -> list[str]:
    """Names of the built-in envs."""
    return list(_core.env_names())


def seed_int(seed, name: str = "seed") -> int | None:
    """A seed as a Python int: any integral value (int, numpy integers) in [0, 2**64); None
    stays None. bool, floats and values out of range raise ValueError naming `name`."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"{name} must be an int in [0, 2**64), got {int(seed)}")
    return int(seed)


def make(
    env: str | _core.WorldDef | World,
    num_envs: int = 1,
    num_threads: int = 1,
    seed: int = 0,
    autoreset_mode: str = "next_step",
    frames: bool = True,
    **overrides,
) -> "Env":
    """A batch of `num_envs` worlds of a built-in env (by name), a boxlcd.worlds.World or a WorldDef.

    Keyword overrides change the definition's settings (ep_len, fps, lcd_base, wh_ratio, walls,
    use_speed, iterations, raster, ...; see boxlcd.override_names()). Env i starts from seed
    seed + i, so a batch equals num_envs single envs seeded seed, seed + 1, ...
    frames=False skips rasterizing: obs["lcd"] then stays all zeros.
    """
    if isinstance(env, str):
        definition = _core.env_def(env)
    elif isinstance(env, _core.WorldDef):
        definition = env.copy()
    elif isinstance(env, World):
        definition = env.to_def()
    else:
        raise TypeError(f"env must be an env name, a boxlcd.worlds.World or a WorldDef, got {type(env).__name__}")
    for key, value in overrides.items():
        if isinstance(value, (bool, numbers.Real)):
            value = float(value)
        elif not isinstance(value, str):
            raise ValueError(f"option {key} takes a number or a string, got {type(value).__name__}")
        _core.apply_override(definition, key, value)
    if autoreset_mode not in AUTORESET_MODES:
        raise ValueError(f"autoreset_mode must be one of {sorted(AUTORESET_MODES)}, got {autoreset_mode!r}")
    for name, value in (("num_envs", num_envs), ("num_threads", num_threads)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be an int, got {value!r}")
        if not 0 <= value < 2**31:
            raise ValueError(f"{name} must be in [0, 2**31), got {value}")
    batch = _core.Batch(definition, int(num_envs), int(num_threads), seed, AUTORESET_MODES[autoreset_mode])
    batch.frames_enabled = bool(frames)
    return Env(batch, autoreset_mode)


class Env:
    """num_envs worlds stepped together in C++.

    The arrays that reset() and step() return are views of buffers the C++ batch owns: no
    copies, and every later reset() or step() rewrites them in place. Copy what you keep.
    """

    def __init__(self, batch: _core.Batch, autoreset_mode: str = "next_step"):
        self.batch = batch
        self.autoreset_mode = autoreset_mode
        self.num_envs = batch.num_envs
        self.num_threads = batch.num_threads
        self.frame_shape = tuple(batch.frame_shape)
        self.state_keys = list(batch.state_keys)
        self.proprio_keys = list(batch.proprio_keys)
        self.action_keys = list(batch.action_keys)
        # Views made once: the buffers never move, so these stay current.
        self._obs = {"lcd": batch.frames, "full_state": batch.full_state, "proprio": batch.proprio}
        self._final_obs = {
            "lcd": batch.final_frames,
            "full_state": batch.final_full_state,
            "proprio": batch.final_proprio,
        }
        self._reward, self._terminated, self._truncated = batch.reward, batch.terminated, batch.truncated
        self._info = {"episode_step": batch.episode_step}
        if autoreset_mode == "same_step":
            self._info["final_obs"] = self._final_obs
            self._info["_final_obs"] = batch.has_final

    @property
    def definition(self) -> _core.WorldDef:
        """A copy of the batch's definition: changing it changes nothing that runs."""
        return self.batch.definition

    @property
    def action_size(self) -> int:
        return len(self.action_keys)

    def reset(self, seed: int | None = None, mask=None, full_state=None) -> dict[str, np.ndarray]:
        """Resets the envs in `mask` (all by default). With a seed, env i is reseeded seed + i.
        With full_state (num_envs, D), the envs are placed in those poses at rest."""
        if full_state is None:
            self.batch.reset(seed, mask)
        else:
            if seed is not None:
                self.batch.reset(seed, mask)
            self.batch.reset_to_state(full_state, mask)
        return self._obs

    def step(self, actions):
        """actions: (num_envs, A) floats in [-1, 1] (clipped). Returns obs, reward, terminated,
        truncated, info; in same_step mode info["final_obs"] holds ended episodes' last obs."""
        self.batch.step(actions)
        return self._obs, self._reward, self._terminated, self._truncated, self._info

    @property
    def body_names(self) -> list[str]:
        """The bodies edit() names, by slot: objects first, then each robot's root and limbs."""
        return list(self.batch.body_names)

    def edit(self, kind: str, envs=0, body=None, other=None, **values) -> dict[str, np.ndarray]:
        """Edits running worlds now (violation-of-expectation clips); returns the observation,
        which shows the edit. The next step simulates from the edited world; a reset undoes it.

        kind: "pose" (x, y, angle), "velocity" (vx, vy, omega), "scale_velocity" (scale; -1
        reverses), "hide", "show", "remove", "add" (x, y, angle: a removed body comes back there,
        at rest), "gravity" (gx, gy in m/s^2), "pass_through" / "collide" (other: a body, or
        None for the ground and walls), "resize" (scale of the definition's size), "reshape"
        (shape "circle" or "box"). Values a kind names but is not given are 0 (scale 1, shape
        "box"); values it does not name are refused. Positions are in full_state units
        ([-1, 1] across the world) and velocities in those units per second; angles in radians.
        envs: an env index or a sequence of them. body, other: a name in body_names (a robot by
        its root, e.g. "urchin0:root") or an int slot (not a float or a bool).

        All or nothing: the whole request is checked before any world changes, and a bad one
        raises a one-line ValueError naming the problem and changes nothing. Refused: an env
        out of range or listed twice, an env whose ended episode waits for its reset, NaN or
        inf, a position outside full_state's range or (with walls) one putting the body's box
        middle on or beyond a wall (which would push it out of the world), |angle| > 1000 rad,
        a velocity faster than Box2D moves a body (2 m and pi/2 rad per substep, which it would
        silently cut; the message gives this world's limit), |scale_velocity scale| > 100,
        gravity beyond 1000 m/s^2, a size that does not fit the world. So an edit never makes
        full_state non-finite.

        Outside its range: after "pass_through" with the ground and walls (other=None) nothing
        holds the body in the world. It falls out of the frame, and its full_state positions
        follow it beyond their range (outside observation_space) without bound, yet stay
        finite (it moves at most 2 m per substep); reset(full_state=...) refuses such a row.
        "collide" alone leaves it falling (below the floor); "collide" then "pose" or "add"
        brings it back, and a reset undoes both.
        """
        def slot(b):
            if isinstance(b, str):
                if b not in self.batch.body_names:
                    names = ", ".join(self.batch.body_names)
                    raise ValueError(f"edit {kind}: no body named {b!r}; bodies: {names}")
                return self.batch.body_names.index(b)
            return b  # None or a slot; the batch checks it

        self.batch.edit(envs, kind, slot(body), slot(other), **values)
        return self._obs

    def send(self, actions, env_ids=None) -> None:
        """Starts stepping envs `env_ids` (all by default) with `actions` (len(env_ids), A) and
        returns at once; the actions are copied. Collect them with recv()."""
        self.batch.send(actions, env_ids)

    def recv(self, batch_size: int | None = None):
        """Waits for min(batch_size, in flight) envs to finish (all in flight by default) and
        returns obs, reward, terminated, truncated, info for them, rows in info["env_id"] order
        (copies). Env ids come in finishing order, which varies; each env's results do not."""
        ids = self.batch.recv(batch_size)
        obs = {k: v[ids] for k, v in self._obs.items()}
        info = {"env_id": ids, "episode_step": self._info["episode_step"][ids]}
        if self.autoreset_mode == "same_step":
            info["final_obs"] = {k: v[ids] for k, v in self._final_obs.items()}
            info["_final_obs"] = self.batch.has_final[ids]
        return obs, self._reward[ids], self._terminated[ids], self._truncated[ids], info

    def render_rgb(self, env: int = 0, rows: int | None = None, cols: int | None = None) -> np.ndarray:
        """An RGB picture of one env; by default 16 pixels per LCD pixel."""
        fr, fc = self.frame_shape
        rows = rows if rows is not None else 16 * fr
        cols = cols if cols is not None else round(rows * fc / fr)
        return self.batch.render_rgb(env, rows, cols)

    def unpacked_frames(self) -> np.ndarray:
        """The current frames as (num_envs, H, W) uint8 0/1 (a copy)."""
        from boxlcd.frames import unpack

        return unpack(self.batch.frames, cols=self.frame_shape[1])

    def close(self) -> None:
        """Stops the batch's threads and frees its worlds and buffers (arrays returned earlier
        keep theirs); every later call raises RuntimeError. Closing again does nothing."""
        self.batch.close()
        # Drop this env's views so the buffers go too (arrays the caller holds keep theirs).
        self._obs = self._final_obs = self._info = None
        self._reward = self._terminated = self._truncated = None

    @property
    def closed(self) -> bool:
        return self.batch.closed

    def __enter__(self) -> "Env":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Env({self.definition.name!r}, num_envs={self.num_envs}, num_threads={self.num_threads}, "
                f"frame={self.frame_shape}, state={len(self.state_keys)}, actions={self.action_size})")
