"""Render envs to GIFs (LCD beside a high-resolution picture) and print their throughput.

    python -m boxlcd.demo Urchin Bounce --out demo
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import boxlcd


def episode_frames(name: str, seed: int, scale: int) -> list[np.ndarray]:
    """One episode under random actions: LCD (upscaled) beside an RGB render of equal height."""
    env = boxlcd.make(name, num_envs=1, seed=seed)
    rng = np.random.default_rng(seed)
    rows, cols = env.frame_shape
    pictures = []
    obs = env.reset(seed=seed)
    for t in range(env.definition.ep_len + 1):
        lcd = np.unpackbits(obs["lcd"][0], axis=-1, count=cols)
        lcd = np.kron(255 - 255 * lcd, np.ones((scale, scale), np.uint8))
        lcd = np.repeat(lcd[:, :, None], 3, axis=2)
        rgb = env.render_rgb(0, rows * scale, cols * scale)
        gap = np.full((rows * scale, 4, 3), 128, np.uint8)
        pictures.append(np.concatenate([lcd, gap, rgb], axis=1))
        if t < env.definition.ep_len:
            actions = rng.uniform(-1, 1, (1, env.action_size)).astype(np.float32)
            obs, *_ = env.step(actions)
    return pictures


def write_gif(path: str, pictures: list[np.ndarray], fps: int) -> None:
    from PIL import Image

    images = [Image.fromarray(p) for p in pictures]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)


def steps_per_second(name: str, num_envs: int, num_threads: int, seconds: float = 1.0) -> float:
    """Env steps per second (num_envs x calls / time) under random actions, frames and state on."""
    env = boxlcd.make(name, num_envs=num_envs, num_threads=num_threads, seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, (num_envs, env.action_size)).astype(np.float32) for _ in range(16)]
    env.step(actions[0])  # warm up
    calls, start = 0, time.perf_counter()
    while True:
        env.step(actions[calls % 16])
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return num_envs * calls / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("envs", nargs="*", default=["Urchin", "Bounce"], help="env names (see boxlcd.envs())")
    parser.add_argument("--out", default="demo", help="folder for the GIFs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=8, help="screen pixels per LCD pixel")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 256])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per throughput figure")
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    for name in args.envs:
        path = os.path.join(args.out, f"{name}.gif")
        write_gif(path, episode_frames(name, args.seed, args.scale), boxlcd.env_def(name).fps)
        print(f"wrote {path}")
    print(f"\nenv steps/s (random actions, frames + state), {os.cpu_count()} cores")
    print(f"{'env':<12} {'num_envs':>8} {'threads':>7} {'steps/s':>12}")
    for name in args.envs:
        for n in args.num_envs:
            for t in args.threads:
                sps = steps_per_second(name, n, t, args.seconds)
                print(f"{name:<12} {n:>8} {t:>7} {sps:>12,.0f}")


if __name__ == "__main__":
    main()
