"""A run's checkpoint: what `boxlcd train` writes and everything that reads a trained model
(eval, results, the learned env) loads.

ckpt.pt holds the model's name, spec and settings (enough to rebuild it), its weights, the
optimizer and sampler state (to resume), the run's settings and the step reached. It is written
to a temporary file and renamed, so a crash leaves the previous checkpoint whole.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from boxlcd.models import build, kind

CKPT = "ckpt.pt"


def default_prompt(env: str) -> int:
    """Real frames a rollout starts from: 3, as the original evaluated, and 1 for Dropbox."""
    return 1 if env == "Dropbox" else 3


def checkpoint_path(path: str | os.PathLike) -> Path:
    """The ckpt.pt of a run folder, or the file itself; a clear error when there is none."""
    path = Path(path)
    if path.is_dir():
        path = path / CKPT
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint there (a {CKPT} or a run folder holding one)")
    return path


def save_checkpoint(path: Path, model, optimizer, step: int, run: dict, sampler: torch.Generator,
                    elapsed: float, torch_rng_ranks: list | None = None) -> None:
    """torch_rng_ranks: every rank's generator state, for a run on several processes."""
    state = {"model_name": run["model"], "spec": model.spec, "model_config": model.config, "run": run,
             "model": model.state_dict(), "optimizer": optimizer.state_dict() if optimizer else None,
             "step": step, "sampler": sampler.get_state(), "torch_rng": torch.get_rng_state(), "elapsed": elapsed}
    if torch_rng_ranks:
        state["torch_rng_ranks"] = torch_rng_ranks
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_model(path: str | os.PathLike, device: str = "cpu", want: str = "world model"):
    """(model in eval mode, checkpoint dict) from a ckpt.pt or a run folder holding one; a clear
    error when it holds another kind than `want` ("world model" or "arbiter")."""
    path = checkpoint_path(path)
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as e:
        raise ValueError(f"{path}: not a readable boxlcd checkpoint ({e})") from e
    if not isinstance(ckpt, dict) or not {"model_name", "spec", "model_config", "model"} <= set(ckpt):
        raise ValueError(f"{path}: not a boxlcd checkpoint (no model_name, spec, model_config, model)")
    if kind(ckpt["model_name"]) != want:
        use = ("it scores generated video: pass it as --arbiter" if want == "world model"
               else "an arbiter comes from `boxlcd train arbiter`")
        a = {"arbiter": "an arbiter", "world model": "a world model"}
        raise ValueError(f"{path} is {a[kind(ckpt['model_name'])]} ({ckpt['model_name']}), not {a[want]}: {use}")
    model = build(ckpt["model_name"], ckpt["spec"], **ckpt["model_config"]).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


def prompt_frames(ckpt: dict) -> int:
    """How many real frames prompt the checkpoint's model: its run's --prompt, else the default."""
    return int(ckpt.get("run", {}).get("prompt") or default_prompt(ckpt["spec"]["env"]))
