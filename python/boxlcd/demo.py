"""Episodes as pictures and GIFs, a throughput figure, and a keyboard viewer: what the `boxlcd`
command (boxlcd.cli) runs for `demo`, `bench` and `play`."""
from __future__ import annotations

import math
import time

import numpy as np

import boxlcd
from boxlcd.render import Window, check_pictures_fit, side_by_side, write_gif  # noqa: F401 (write_gif: demo.write_gif keeps working)

ACTIONS = ("random", "zero")


def _actions(kind: str, rng: np.random.Generator, shape) -> np.ndarray:
    if kind == "random":
        return rng.uniform(-1, 1, shape).astype(np.float32)
    return np.zeros(shape, np.float32)


def episode_pictures(env: str | boxlcd.World, seed: int = 0, scale: int = 8, actions: str = "random",
                     progress: bool = False, **overrides) -> list[np.ndarray]:
    """One episode (reset, then ep_len steps): each step's LCD upscaled beside an RGB render."""
    from tqdm import tqdm

    if actions not in ACTIONS:
        raise ValueError(f"actions must be one of {list(ACTIONS)}, got {actions!r}")
    e = boxlcd.make(env, num_envs=1, seed=seed, autoreset_mode="disabled", **overrides)
    rng = np.random.default_rng(seed)
    e.reset(seed=seed)
    pictures = [side_by_side(e.batch, 0, scale)]
    check_pictures_fit(e.definition.ep_len + 1, pictures[0].nbytes,
                       f"an episode of {e.definition.name} at scale {scale}")
    for _ in tqdm(range(e.definition.ep_len), desc=f"demo {e.definition.name}", unit="step", disable=not progress):
        e.step(_actions(actions, rng, (1, e.action_size)))
        pictures.append(side_by_side(e.batch, 0, scale))
    return pictures


def steps_per_second(env: str | boxlcd.World, num_envs: int, num_threads: int, seconds: float = 1.0,
                     frames: bool = True, **overrides) -> float:
    """Env steps per second (num_envs x calls / time) under random actions. A quick figure:
    bench/ holds the project's benchmarks."""
    finite = isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds)
    if not (finite and seconds > 0):
        raise ValueError(f"seconds must be a finite number > 0, got {seconds!r}")  # NaN would never end the loop
    e = boxlcd.make(env, num_envs=num_envs, num_threads=num_threads, seed=0, frames=frames, **overrides)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (num_envs, e.action_size)).astype(np.float32) for _ in range(16)]
    e.step(actions[0])  # warm up
    calls, start = 0, time.perf_counter()
    while True:
        e.step(actions[calls % 16])
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return num_envs * calls / elapsed


def play(env: str | boxlcd.World, seed: int = 0, scale: int = 16, actions: str = "random",
         max_steps: int | None = None, **overrides) -> int:
    """A window stepping one env at its fps. Keys: ESC (or closing the window) quits, SPACE
    pauses, RIGHT steps once while paused, 0 resets. Returns the number of steps taken.
    Needs a display and pygame."""
    if actions not in ACTIONS:
        raise ValueError(f"actions must be one of {list(ACTIONS)}, got {actions!r}")
    e = boxlcd.make(env, num_envs=1, seed=seed, **overrides)
    window = Window(f"boxlcd {e.definition.name}: ESC quit, SPACE pause, RIGHT step, 0 reset")
    pg = window.pygame
    rng = np.random.default_rng(seed)
    e.reset(seed=seed)
    paused, steps = False, 0
    try:
        window.show(side_by_side(e.batch, 0, scale))
        while max_steps is None or steps < max_steps:
            step_once = False
            for event in pg.event.get():
                if event.type == pg.QUIT or (event.type == pg.KEYDOWN and event.key == pg.K_ESCAPE):
                    return steps
                if event.type == pg.KEYDOWN and event.key == pg.K_SPACE:
                    paused = not paused
                elif event.type == pg.KEYDOWN and event.key == pg.K_RIGHT and paused:
                    step_once = True
                elif event.type == pg.KEYDOWN and event.key == pg.K_0:
                    e.reset()
            if step_once or not paused:
                e.step(_actions(actions, rng, (1, e.action_size)))
                steps += 1
            window.show(side_by_side(e.batch, 0, scale), e.definition.fps)
        return steps
    finally:
        window.close()
