"""LearnedEnv: a trained world model behind the Gymnasium vector API, in place of the engine.

    env = boxlcd.learned.LearnedEnv("runs/ft-urchin", num_envs=256, device="cpu", seed=0)
    env = gymnasium.make_vec("boxlcd/Learned-v0", checkpoint="runs/ft-urchin", num_envs=256)

- Spaces are those of the real env the model learned (boxlcd.gym_env.observation_space): the
  packed `lcd` and the `proprio`, and `full_state` when the model predicts it (trained with
  `--set predict_state=true`). One policy runs unchanged in both.
- Reset asks the real engine: a real batch of the same env is reset with the same seeds (or
  placed in given poses: options["full_state"]) and its frames and proprio prompt the model
  (as many frames as the checkpoint's run prompted with; with k > 1 the real envs take k - 1
  zero-action steps first, and the episode goes on from there). So the first observation
  equals the real env's for the same seed.
- Step predicts every env's next frame and proprio in one batched call of the model's step
  contract (boxlcd.models.rollout) on its device: each pixel's mode at temperature 0, else a
  sample drawn from a generator seeded by reset's seed. Deterministic given seed and device.
  Predicted vectors are clipped to the observation space (a regression can stray past it).
- noise > 0 adds Gaussian noise of that standard deviation (in the vector's own units) to every
  predicted vector (proprio, or full_state), drawn from the same seeded generator. The frame
  transformer reads its last vectors back, so the noise perturbs the motion it predicts next: a
  policy trained in the model meets motion that strays and learns to correct it, rather than to
  exploit the model's exact errors. (The RSSM does not read its vector back: it sees noisy
  observations only.)
- An ensemble: checkpoint may be several (a list, or paths joined by ","), models of the same
  env trained apart. Each owns a block of the envs (np.array_split's), steps it, and keeps it
  for good: a policy trained across the block learns what the models agree on rather than one
  model's errors. The cost per step is that of one model.
- Episodes: the model's window holds the env's ep_len + 1 frames, of which the prompt takes the
  first k, so an episode lasts `episode_steps` = ep_len - (k - 1) steps after its reset (the
  engine's ep_len with a prompt of 1); goal tasks time out there too. The reward is 0, as in
  the plain envs (goal tasks: boxlcd.tasks). Autoreset as GymVectorEnv: NEXT_STEP (default),
  SAME_STEP (info["final_obs"]) or DISABLED (reset rows yourself with options={"reset_mask": m}).
- Never NaN: a model step whose predicted vectors are not finite raises (a model that diverged
  cannot be used as a sim), noise is at most MAX_NOISE and temperature at most MAX_TEMPERATURE.
- One caller at a time: reset and step hold a lock, so threads sharing an env take turns.
  close() releases the models and the real batch; any later reset or step raises.
"""
from __future__ import annotations

import numbers
import threading
from typing import Any, Sequence

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

import boxlcd
from boxlcd.env import seed_int
from boxlcd.gym_env import _random_seed, observation_space, parse_autoreset_mode
from boxlcd.models.checkpoint import load_model, prompt_frames
from boxlcd.models.rollout import put_rows, take_rows


MAX_NOISE = 1.0  # predicted vectors live in [-1, 1]: more noise than that only blurs them
MAX_TEMPERATURE = 10.0


def check_device(device: str) -> torch.device:
    """The torch device, or a clear error when this machine has no such device."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r} (not a torch device: {e})") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device {device!r} is not here: torch sees {torch.cuda.device_count()} CUDA device(s)")
    if dev.type not in ("cpu", "cuda"):  # torch knows others, such as meta, that cannot run a model
        raise ValueError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    return dev


def check_ensemble(paths: list[str], loaded: list[tuple]) -> None:
    """A clear error when the models (model, checkpoint) of `paths` could not share one env."""
    def vector_key(model):
        return getattr(getattr(model, "vector", None), "key", None)

    first, ckpt = loaded[0]
    for path, (model, other) in zip(paths[1:], loaded[1:]):
        same = ("env", "overrides", "frame_shape", "state_keys", "proprio_keys")
        differ = [k for k in same if model.spec.get(k) != first.spec.get(k)]
        differ += ["predict_state"] if vector_key(model) != vector_key(first) else []
        differ += ["prompt"] if prompt_frames(other) != prompt_frames(ckpt) else []
        if differ:
            raise ValueError(f"an ensemble's models must agree: {path} differs from {paths[0]} in {differ}")


class LearnedEnv(gymnasium.vector.VectorEnv):
    """num_envs envs simulated by a trained world model (see the module's docstring)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, checkpoint: str | Sequence[str], num_envs: int = 1, device: str = "cpu", temperature: float = 0.0,
                 seed: int | None = None, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 num_threads: int = 1, noise: float = 0.0):
        if not isinstance(num_envs, numbers.Integral) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        for name, value, high in (("temperature", temperature, MAX_TEMPERATURE), ("noise", noise, MAX_NOISE)):
            if isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0 <= value <= high):
                raise ValueError(f"{name} must be a number in [0, {high:g}], got {value!r}")
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.device = check_device(device)
        paths = checkpoint.split(",") if isinstance(checkpoint, str) else list(checkpoint)
        if not paths or len(paths) > num_envs:
            raise ValueError(f"an ensemble needs 1 to num_envs ({num_envs}) checkpoints, got {len(paths)}")
        loaded = [load_model(path, str(self.device)) for path in paths]
        for path, (model, ckpt) in zip(paths, loaded):
            if not hasattr(model, "step"):
                raise ValueError(f"{path}: a {ckpt['model_name']} cannot be stepped (it has no step contract)")
        check_ensemble(paths, loaded)
        self.models = [model for model, _ in loaded]
        self.model, ckpt = loaded[0]
        spec = self.model.spec
        self.num_envs = int(num_envs)
        # np.array_split's blocks, computed rather than split (num_envs is checked by the engine below)
        size, extra = divmod(self.num_envs, len(paths))
        starts = [k * size + min(k, extra) for k in range(len(paths) + 1)]
        self._blocks = list(zip(starts[:-1], starts[1:]))
        self.temperature = float(temperature)
        self.noise = float(noise)
        self.prompt = prompt_frames(ckpt)
        self.real = boxlcd.make(spec["env"], num_envs=self.num_envs, num_threads=num_threads,
                                autoreset_mode="disabled", **spec.get("overrides", {}))
        if list(self.real.frame_shape) != list(spec["frame_shape"]):
            raise ValueError(f"{checkpoint}: the model's frames are {spec['frame_shape']}, the env's "
                             f"{list(self.real.frame_shape)}")
        self.definition = self.real.definition
        self.state_keys, self.proprio_keys = self.real.state_keys, self.real.proprio_keys
        self.action_keys = self.real.action_keys
        self.frame_shape = tuple(self.real.frame_shape)
        self.ep_len = int(self.definition.ep_len)
        self.episode_steps = self.ep_len - (self.prompt - 1)
        self._lock = threading.Lock()
        vector = getattr(self.model, "vector", None)
        self.predicts_state = vector is not None and vector.key == "full_state"
        self.predicts_proprio = vector is not None and vector.width > 0 and spec["robot"]

        real_space = observation_space(self.real.batch)
        keys = ["lcd", "proprio"] + (["full_state"] if self.predicts_state else [])
        self.single_observation_space = spaces.Dict({k: real_space[k] for k in keys})
        self.single_action_space = spaces.Box(-1.0, 1.0, (self.real.action_size,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**LearnedEnv.metadata, "render_fps": self.definition.fps,
                         "autoreset_mode": self.autoreset_mode}
        self.render_mode = None
        self._bounds = {k: (real_space[k].low, real_space[k].high) for k in keys if k != "lcd"}
        self._default_seed = seed
        self._generator = torch.Generator()
        self._states = None  # per model of the ensemble: the state of its block of envs
        self._steps = np.zeros(self.num_envs, np.int64)
        self._ended = np.zeros(self.num_envs, bool)
        self._cols = self.real.frame_shape[1]
        self._obs = {k: np.zeros((self.num_envs, *real_space[k].shape), real_space[k].dtype) for k in keys}

    # -- the engine's prompt and the model's predictions -----------------------------------------
    def _prompt(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        """Prompt frames of the real envs `rows` (just reset): k frames after k - 1 zero actions."""
        obs = self.real._obs
        frames = [obs["lcd"][rows].copy()]
        vectors = {k: [obs[k][rows].copy()] for k in ("proprio", "full_state")}
        zeros = np.zeros((len(rows), self.real.action_size), np.float32)
        for _ in range(self.prompt - 1):
            self.real.send(zeros, env_ids=rows.astype(np.int64))
            got, *_, info = self.real.recv()
            order = np.argsort(info["env_id"])
            order = order[np.argsort(np.argsort(rows))]  # back to the order of rows
            frames.append(got["lcd"][order])
            for k in vectors:
                vectors[k].append(got[k][order])
        lcd = np.unpackbits(np.stack(frames, 1), axis=-1, count=self._cols)
        out = {"lcd": torch.from_numpy(lcd).to(self.device, torch.float32),
               "actions": torch.zeros(len(rows), self.prompt - 1, self.real.action_size, device=self.device)}
        for k, v in vectors.items():
            out[k] = torch.from_numpy(np.stack(v, 1)).to(self.device)
        return out

    def _write(self, rows, lcd: np.ndarray, vectors: dict[str, np.ndarray]) -> None:
        self._obs["lcd"][rows] = lcd
        for k, (low, high) in self._bounds.items():
            self._obs[k][rows] = np.clip(vectors[k], low, high)

    def _members(self, rows: np.ndarray):
        """Per model k with envs among `rows` (sorted): (k, which of `rows` are in its block,
        their rows in its block's state, whether they are the whole block)."""
        for k, (first, stop) in enumerate(self._blocks):
            sel = np.flatnonzero((rows >= first) & (rows < stop))
            if len(sel):
                yield k, sel, torch.as_tensor(rows[sel] - first, device=self.device), len(sel) == stop - first

    def _start(self, rows: np.ndarray) -> None:
        prompt = self._prompt(rows)
        if self._states is None:
            self._states = [None] * len(self.models)
        for k, sel, local, whole in self._members(rows):
            mine = prompt if len(sel) == len(rows) else take_rows(prompt, torch.as_tensor(sel, device=self.device))
            part = self.models[k].start(mine)
            if self._states[k] is None or whole:
                self._states[k] = part
            else:
                put_rows(self._states[k], local, part)
        last = np.packbits(prompt["lcd"][:, -1].to(torch.uint8).cpu().numpy(), axis=-1)
        self._write(rows, last, {k: prompt[k][:, -1].cpu().numpy() for k in ("proprio", "full_state")})
        self._steps[rows] = self.prompt - 1

    def _advance(self, rows: np.ndarray, actions: np.ndarray) -> None:
        """One model step of the envs `rows` (all of them, but for NEXT_STEP resets)."""
        for k, sel, local, whole in self._members(rows):
            self._advance_block(k, rows[sel], local, whole, actions)
        self._steps[rows] += 1

    def _advance_block(self, k: int, rows: np.ndarray, local: torch.Tensor, whole: bool, actions: np.ndarray) -> None:
        """One step of model k for the envs `rows`, rows `local` of its block's state (`whole`: all of it)."""
        model, a = self.models[k], torch.from_numpy(actions[rows]).to(self.device)
        if whole:
            frame, proprio, self._states[k] = model.step(self._states[k], a, self.temperature, self._generator)
            state = self._states[k]
        else:
            state = take_rows(self._states[k], local)
            frame, proprio, state = model.step(state, a, self.temperature, self._generator)
        if self.noise and (self.predicts_proprio or self.predicts_state):
            shape = state["vector"].shape
            state["vector"] = state["vector"] + self.noise * torch.randn(shape, generator=self._generator).to(self.device)
            proprio = model.vector.proprio(state["vector"])
        if not whole:
            put_rows(self._states[k], local, state)
        vectors = {"proprio": proprio.cpu().numpy()}
        if self.predicts_state:
            vectors["full_state"] = state["vector"].cpu().numpy()
        for key, values in vectors.items():
            if not np.isfinite(values).all():
                bad = rows[~np.isfinite(values).all(axis=-1)]
                raise FloatingPointError(f"the model predicted NaN or inf {key} for envs {bad[:8].tolist()}: "
                                         "it has diverged and cannot be used as a sim")
        self._write(rows, np.packbits(frame.to(torch.uint8).cpu().numpy(), axis=-1), vectors)

    def _reset_rows(self, mask: np.ndarray, seed: int | None, full_state: np.ndarray | None = None) -> None:
        self.real.reset(seed=seed, mask=mask, full_state=full_state)
        self._start(np.flatnonzero(mask))
        self._ended[mask] = False

    # -- the VectorEnv API ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this LearnedEnv is closed: make a new one")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """seed: env i is env i of a real batch seeded `seed` (prompt and all); it also seeds
        the sampling generator. options: "reset_mask" (num_envs,) bool resets only those;
        "full_state" (num_envs, D) places the reset envs' real batch at rest in those poses
        before it prompts the model (as GymVectorEnv's reset does; the engine checks them)."""
        with self._lock:
            self._check_open()
            return self._reset(seed=seed, options=options)

    def step(self, actions):
        with self._lock:
            self._check_open()
            return self._step(actions)

    def _reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        full_state = options.pop("full_state", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; LearnedEnv takes 'reset_mask', 'full_state'")
        if self._states is None and seed is None:
            seed = self._default_seed if self._default_seed is not None else _random_seed()
        seed = seed_int(seed)
        if seed is not None:
            self._generator.manual_seed(seed % 2**63)
        if mask is None:
            mask = np.ones(self.num_envs, bool)
        elif self._states is None:
            raise ValueError("the first reset must reset every env (no reset_mask)")
        else:
            mask = np.asarray(mask)
            if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            if not mask.any():
                raise ValueError("options['reset_mask'] must select at least one env")
        self._reset_rows(mask, seed, full_state)
        return self._copy_obs(), {}

    def _copy_obs(self, rows=None) -> dict[str, np.ndarray]:
        if rows is None:
            return {k: v.copy() for k, v in self._obs.items()}
        return {k: v[rows] for k, v in self._obs.items()}

    def _step(self, actions):
        if self._states is None:
            raise RuntimeError("call reset() before step()")
        actions = np.asarray(actions, np.float32)
        if actions.shape != self.action_space.shape:
            raise ValueError(f"actions must have shape {self.action_space.shape}, got {actions.shape}")
        if not np.isfinite(actions).all():
            raise ValueError("actions must be finite")
        resetting = (self._ended.copy() if self.autoreset_mode == AutoresetMode.NEXT_STEP
                     else np.zeros(self.num_envs, bool))
        over = (self._steps >= self.ep_len) & ~resetting
        if over.any():
            raise RuntimeError(f"envs {np.flatnonzero(over)[:8].tolist()} ended their episodes: reset them first "
                               "(autoreset_mode DISABLED)")
        if resetting.any():  # NEXT_STEP: the step after an episode's end only resets it
            self._reset_rows(resetting, None)
        stepped = ~resetting
        if stepped.any():
            self._advance(np.flatnonzero(stepped), np.clip(actions, -1, 1))
        truncated = stepped & (self._steps >= self.ep_len)
        info: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._ended = truncated.copy()
        elif self.autoreset_mode == AutoresetMode.SAME_STEP and truncated.any():
            rows = np.flatnonzero(truncated)
            final = self._copy_obs(rows)
            final_obs = np.full(self.num_envs, None, dtype=object)
            for j, i in enumerate(rows):
                final_obs[i] = {k: v[j] for k, v in final.items()}
            self._reset_rows(truncated, None)
            info = {"final_obs": final_obs, "_final_obs": truncated.copy(), "final_info": {},
                    "_final_info": truncated.copy()}
        return (self._copy_obs(), np.zeros(self.num_envs), np.zeros(self.num_envs, bool), truncated, info)

    def close_extras(self, **kwargs):
        with self._lock:
            self._states, self.models, self.model = None, [], None
            self.real.close()
