"""The data a model meets: its spec (the shapes it is built for) and its batches.

A batch is a dict of tensors on the model's device: "lcd" (B, T, H, W) float 0/1, "actions"
(B, T - 1, A) (action t leads from frame t to frame t + 1), "proprio" (B, T, P), "full_state"
(B, T, D).
"""
from __future__ import annotations

import torch


def proprio_width(spec: dict) -> int:
    """How many proprio values a model reads and predicts: none for envs without a robot."""
    return spec["proprio_size"] if spec["robot"] else 0


def data_spec(episodes) -> dict:
    """The shapes a model needs, from an Episodes manifest."""
    m = episodes.manifest
    state_keys, proprio_keys = list(m["state_keys"]), list(m["proprio_keys"])
    robot = proprio_keys != ["zero"]
    return {"env": m["env"], "frame_shape": list(m["frame_shape"]), "action_size": len(m["action_keys"]),
            "proprio_size": len(proprio_keys), "robot": robot, "ep_len": int(m["ep_len"]),
            "overrides": dict(m.get("overrides", {})), "state_keys": state_keys, "proprio_keys": proprio_keys,
            "proprio_index": [state_keys.index(k) for k in proprio_keys] if robot else []}


def env_spec(env: str, overrides: dict) -> dict:
    """The spec (as data_spec's) of data that `env` with `overrides` makes: what a spec read
    from a file is checked against. A clear error for an env outside the catalogue."""
    import boxlcd

    if not isinstance(env, str) or env not in boxlcd.envs():
        raise ValueError(f"env {env!r} is not a built-in env ({', '.join(boxlcd.envs())})")
    if not isinstance(overrides, dict):
        raise ValueError(f"overrides must be an object of settings, got {type(overrides).__name__}")
    probe = boxlcd.make(env, num_envs=1, frames=False, **overrides)
    state_keys, proprio_keys = list(probe.state_keys), list(probe.proprio_keys)
    robot = proprio_keys != ["zero"]
    return {"env": env, "frame_shape": list(probe.frame_shape), "action_size": len(probe.action_keys),
            "proprio_size": len(proprio_keys), "robot": robot, "ep_len": int(probe.definition.ep_len),
            "overrides": dict(overrides), "state_keys": state_keys, "proprio_keys": proprio_keys,
            "proprio_index": [state_keys.index(k) for k in proprio_keys] if robot else []}


def prepare(batch: dict, device) -> dict:
    """Windows' tensors as floats on `device`."""
    keys = ("lcd", "actions", "proprio", "full_state")
    return {k: batch[k].to(device=device, dtype=torch.float32) for k in keys if k in batch}
