"""Rollout speed of a world model: model.sample on 64 Urchin-shaped episodes, one torch thread.

    python bench/models_sample.py [frame_transformer|binary_ae]

An untrained model (d_model 128, the other settings default) rolls out 101-frame episodes
(16x32 frames, 3 actions, 15 proprio) of random data from a 3-frame prompt, as evaluation does;
prints the best of two runs.
"""
from __future__ import annotations

import sys
import time

import torch

import boxlcd
from boxlcd.models import build


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "frame_transformer"
    torch.set_num_threads(1)
    env = boxlcd.make("Urchin")
    spec = {"env": "Urchin", "frame_shape": list(env.frame_shape), "action_size": env.action_size,
            "proprio_size": len(env.proprio_keys), "robot": True, "ep_len": 100}
    torch.manual_seed(0)
    model = build(name, spec, d_model=128).eval()
    B, T = 64, spec["ep_len"] + 1
    batch = {"lcd": (torch.rand(B, T, *env.frame_shape) < 0.1).float(),
             "actions": torch.rand(B, T - 1, env.action_size) * 2 - 1,
             "proprio": torch.rand(B, T, spec["proprio_size"]) * 2 - 1}
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        model.sample(batch, 3)
        seconds.append(time.perf_counter() - start)
    print(f"{name}: sample of {B} episodes x {T} frames: {min(seconds):.2f} s "
          f"(runs: {', '.join(f'{s:.2f}' for s in seconds)})")


if __name__ == "__main__":
    main()
