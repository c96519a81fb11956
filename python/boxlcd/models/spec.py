"""The data a model meets: its spec (the shapes it is built for), the check that data fits a
model's spec, and its batches.

A batch is a dict of tensors on the model's device: "lcd" (B, T, H, W) float 0/1, "actions"
(B, T - 1, A) (action t leads from frame t to frame t + 1), "proprio" (B, T, P), "full_state"
(B, T, D).
"""
from __future__ import annotations

import json

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


def check_data_fits(model, data, fix: str, what: str = "the model") -> None:
    """A one-line error, naming the model's env and the data's, for data a model was not built
    for: another env (whose frames a model would score without complaint when the shapes
    agree), other frame shape, action size or vector keys, other physics, or longer episodes
    than a transformer's positions (torch would fail on shapes deep inside). data: Episodes;
    fix: what to do instead, ending the message; what: the model's name in it."""
    check_spec_fits(model.spec, data, fix, what, getattr(getattr(model, "vector", None), "key", "proprio"),
                    getattr(getattr(model, "core", None), "max_len", None))


def check_spec_fits(ours: dict, data, fix: str, what: str = "the model", vector: str = "proprio",
                    positions: int | None = None) -> None:
    """check_data_fits for a model's spec `ours`: vector, the per-frame vector it reads
    ("proprio" or "full_state"); positions, the frames a transformer has positions for."""
    theirs = data_spec(data)
    keys = ("env", "frame_shape", "action_size") + (("state_keys",) if vector == "full_state" else ("proprio_keys",))
    differ = [k for k in keys if list_of(ours.get(k)) != list_of(theirs[k])]
    if differ:
        sizes = "".join(f"; {k}: the model's {shown(ours.get(k))}, the data's {shown(theirs[k])}"
                        for k in differ if k != "env")
        raise ValueError(f"{what} is of {ours['env']} but the data {data.path} is of {theirs['env']}"
                         f"{' with other settings' if 'env' not in differ else ''}{sizes}: {fix}")
    check_physics(ours, data, fix, what)
    if positions is not None and data.ep_len + 1 > positions:
        raise ValueError(f"the data {data.path} has episodes of {data.ep_len} steps, longer than the model's "
                         f"{positions - 1} (it has positions for {positions} frames): use episodes "
                         f"of at most {positions - 1} steps")


def physics(env: str, overrides: dict) -> dict:
    """The world definition the engine builds for `env` with `overrides`, as JSON values, but
    ep_len: episode length is not physics (a model may be scored on shorter or longer episodes)."""
    import boxlcd
    from boxlcd.worlds import definition_summary

    summary = definition_summary(boxlcd.make(env, num_envs=1, frames=False, **overrides).definition)
    return {k: v for k, v in json.loads(json.dumps(summary)).items() if k != "ep_len"}


def check_physics(spec: dict, data, fix: str, what: str = "the model") -> None:
    """A clear error when the data's env settings (gravity, friction, ...) build other physics
    than the model's: the frames may have the same shapes, so scoring would not fail."""
    mine, theirs = spec.get("overrides") or {}, data.manifest.get("overrides") or {}
    if mine == theirs:
        return
    ours, others = physics(spec["env"], mine), physics(data.manifest["env"], theirs)
    differ = [k for k in ours if ours[k] != others.get(k)]
    if differ:
        k = differ[0]
        raise ValueError(f"{what} is of {spec['env']} with overrides {mine} but the data {data.path} was "
                         f"collected with overrides {theirs}: other physics ({k}: the model's {ours[k]!r}, the "
                         f"data's {others.get(k)!r}); {fix}")


def list_of(value):
    """Tuples and lists compare equal (a spec read back from a checkpoint holds lists)."""
    return list(value) if isinstance(value, (list, tuple)) else value


def shown(value) -> str:
    """A spec value in a message: a long key list by its length and first keys."""
    value = list_of(value)
    if isinstance(value, list) and len(value) > 4:
        return f"{len(value)} ({', '.join(map(str, value[:3]))}, ...)"
    return str(value)
