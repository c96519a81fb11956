"""A run's checkpoint: what `boxlcd train` writes and everything that reads a trained model
(eval, results, the learned env) loads.

ckpt.pt holds the model's name, spec and settings (enough to rebuild it), its weights, the
optimizer and sampler state (to resume), the run's settings and the step reached. It is written
to a temporary file and renamed, so a crash leaves the previous checkpoint whole.
"""
from __future__ import annotations

import math
import os
import pickle
import warnings
from pathlib import Path

import torch

from boxlcd.files import replace_with
from boxlcd.models import TRAINABLE, build, kind
from boxlcd.models.spec import env_spec

CKPT = "ckpt.pt"
# What load_model needs; the rest (optimizer, sampler, rng) only a resumed run reads.
REQUIRED = {"model_name": str, "spec": dict, "model_config": dict, "model": dict, "run": dict, "step": int}


class CheckpointError(ValueError):
    """A checkpoint boxlcd will not load: unreadable, not data only, self-contradicting, or
    holding non-finite numbers. The message names the file and the problem on one line."""


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
    replace_with(path, lambda tmp: torch.save(state, tmp))


def read_checkpoint(path: str | os.PathLike, device: str = "cpu") -> tuple[Path, dict]:
    """(path, checkpoint dict) of a ckpt.pt or a run folder holding one, read as data only:
    torch's weights_only unpickler builds tensors, numbers, strings, lists and dicts and
    refuses anything else, so a crafted file cannot run code. Checked before it is returned:
    its fields' types, its spec against the env it names (a catalogue env, settings the engine
    takes, the shapes and keys that env makes) and that every tensor is finite."""
    path = checkpoint_path(path)
    try:
        ckpt = load_data(path, device)
    except pickle.UnpicklingError as e:
        if "GLOBAL " not in str(e):  # not a pickle of objects: bytes that are no checkpoint
            raise CheckpointError(f"{path}: not a readable boxlcd checkpoint ({' '.join(str(e).split())[:120]})") from None
        what = str(e).split("GLOBAL ")[-1].split(" ")[0]
        raise CheckpointError(
            f"{path}: holds {what}, not only tensors, numbers, strings, lists and dicts; boxlcd loads "
            "checkpoints as data and never runs what a file holds (re-save it as plain data only if "
            "you made it yourself)") from None
    except Exception as e:  # torch's readers raise many kinds on bytes that are not theirs
        reason = " ".join(f"{type(e).__name__}: {e}".split())[:200]
        raise CheckpointError(f"{path}: not a readable boxlcd checkpoint (truncated or not a torch file: {reason})") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a boxlcd checkpoint (a {type(ckpt).__name__}, not a dict)")
    for key, typ in REQUIRED.items():
        if key not in ckpt:
            raise CheckpointError(f"{path}: not a boxlcd checkpoint (no {key})")
        if not isinstance(ckpt[key], typ) or isinstance(ckpt[key], bool):
            raise CheckpointError(f"{path}: its {key} is a {type(ckpt[key]).__name__}, not a {typ.__name__}")
    if ckpt["model_name"] not in TRAINABLE:
        raise CheckpointError(f"{path}: unknown model {ckpt['model_name']!r}; boxlcd's: {', '.join(TRAINABLE)}")
    if ckpt["step"] < 0:
        raise CheckpointError(f"{path}: step {ckpt['step']} is negative")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in ckpt["model"].items()):
        raise CheckpointError(f"{path}: its model weights are not a dict of named tensors")
    if not all(isinstance(k, str) for k in ckpt["model_config"]):
        raise CheckpointError(f"{path}: its model_config has keys that are not names")
    check_spec(path, ckpt["spec"])
    for part in ("model", "optimizer"):
        bad = non_finite(ckpt.get(part))
        if bad is not None:
            raise CheckpointError(f"{path}: {part} {bad[0]} holds NaN, inf or complex numbers: the run "
                                  "diverged (or the file was changed); use an earlier checkpoint or train again")
    prompt = ckpt["run"].get("prompt")
    if prompt is not None and not (isinstance(prompt, int) and 1 <= prompt <= ckpt["spec"]["ep_len"]):
        raise CheckpointError(f"{path}: its prompt must be an int in [1, {ckpt['spec']['ep_len']}], got {prompt!r}")
    return path, ckpt


def load_data(source, device: str = "cpu"):
    """torch.load as data only (weights_only), without torch's warnings about a file's pickle
    protocol: whatever is wrong with a file is said once, by the caller's error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(source, map_location=device, weights_only=True)


def restore_optimizer(optimizer, state: dict, where) -> None:
    """Loads an optimizer's saved moments into `optimizer`, keeping its own settings (betas, eps,
    weight decay come from the run's checked settings, never from a file; the lr a schedule had
    reached is taken when it lies in [0, the optimizer's own lr]); one clear error when the
    moments do not fit its parameters or cannot be (a negative second moment, a negative step)."""
    own = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    try:
        listed = {i for group in state["param_groups"] for i in group["params"]}
        if not set(state["state"]) <= listed:  # torch would drop them without a word
            raise ValueError(f"moments of parameters {sorted(set(state['state']) - listed)[:3]} no group lists")
        optimizer.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
        raise CheckpointError(f"{where}: its optimizer state does not fit ({' '.join(str(e).split())[:160]})") from None
    for group, settings in zip(optimizer.param_groups, own):
        reached = group.get("lr")
        group.update(settings)
        if isinstance(reached, (int, float)) and 0 <= reached <= settings.get("lr", 0):
            group["lr"] = reached
        for p in group["params"]:
            moments = optimizer.state.get(p, {})
            for key, value in moments.items():
                if key == "step":
                    if not (float(value) >= 0 and math.isfinite(float(value))):
                        raise CheckpointError(f"{where}: its optimizer's step {float(value)} is not a count")
                elif not isinstance(value, torch.Tensor) or value.shape != p.shape or value.dtype != p.dtype:
                    raise CheckpointError(f"{where}: its optimizer's {key} does not fit its parameter (shape, dtype)")
                elif not torch.isfinite(value).all():
                    raise CheckpointError(f"{where}: its optimizer's {key} holds NaN or inf")
                elif key.endswith("_sq") and (value < 0).any():
                    raise CheckpointError(f"{where}: its optimizer's {key} is negative")


def check_spec(path: Path, spec: dict) -> None:
    """The spec must be the one its env makes: otherwise a model would be built for one env and
    stepped beside another (and an env name is used in file names)."""
    try:
        expected = env_spec(spec.get("env"), spec.get("overrides", {}))
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: its spec is not of an env boxlcd makes ({' '.join(str(e).split())})") from None
    differ = sorted(k for k in expected if k != "overrides" and spec.get(k) != expected[k])
    if differ:
        raise CheckpointError(f"{path}: its spec disagrees with {spec['env']} in {', '.join(differ)}")


def non_finite(value, where: str = "", seen: set | None = None) -> tuple[str, object] | None:
    """(where, what) of the first NaN, inf or complex number in a nest of tensors, numbers, lists
    and dicts, or None. Each list or dict is visited once, however often a file's pickle shares it."""
    seen = set() if seen is None else seen
    if isinstance(value, torch.Tensor):
        bad = value.is_complex() or (value.is_floating_point() and not torch.isfinite(value).all())
        return (where or "a tensor", value) if bad else None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where or "a number", value)
    if isinstance(value, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    if id(value) in seen:
        return None
    seen.add(id(value))
    return next((bad for name, v in items if (bad := non_finite(v, name, seen)) is not None), None)


def check_weights_fit(path, weights: dict, expected: dict, name: str) -> None:
    """The weights must have exactly the names, shapes and dtypes `expected` holds (name ->
    (shape, dtype), or a model's state dict): load_state_dict would copy a float64 or complex
    tensor into a float32 parameter, or fail with a torch error of many lines."""
    expected = {k: v if isinstance(v, tuple) else (tuple(v.shape), v.dtype) for k, v in expected.items()}
    stored = {k: (tuple(v.shape), v.dtype) for k, v in weights.items()}
    if stored != expected:
        wrong = sorted(k for k in set(expected) | set(stored) if expected.get(k) != stored.get(k))
        raise CheckpointError(f"{path}: its weights do not fit its {name} settings ({len(wrong)} differ in name, "
                              f"shape or dtype: {', '.join(wrong[:3])})")
    # Dense tensors whose bytes the file holds: a tensor stretched over a tiny storage (stride 0)
    # would make a few bytes of file claim gigabytes once the model is built from its settings.
    sparse = [k for k, v in weights.items() if v.layout != torch.strided]
    if sparse:
        raise CheckpointError(f"{path}: its weights {', '.join(sparse[:3])} are not dense tensors")
    views = {(v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape), v.stride()): v
             for v in weights.values()}  # a tied weight is one view, saved once
    declared = sum(v.numel() * v.element_size() for v in views.values())
    held = sum({v.untyped_storage().data_ptr(): v.untyped_storage().nbytes() for v in weights.values()}.values())
    if held < declared:
        raise CheckpointError(f"{path}: its weights claim {declared} bytes but the file holds {held}: "
                              "tensors stretched over storage they do not have")


def build_from(path: Path, ckpt: dict, device: str = "cpu"):
    """The checkpoint's model with its weights, in eval mode. Its settings are first tried on
    torch's meta device (no memory): the weights must have exactly the shapes they build, so
    settings in a file cannot allocate more than the file itself holds."""
    name, spec, config = ckpt["model_name"], ckpt["spec"], ckpt["model_config"]
    try:
        with torch.device("meta"):
            shapes = {k: (tuple(v.shape), v.dtype) for k, v in build(name, spec, **config).state_dict().items()}
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as e:
        raise CheckpointError(f"{path}: its model settings do not build a {name} ({' '.join(str(e).split())})") from None
    check_weights_fit(path, ckpt["model"], shapes, name)
    model = build(name, spec, **config).to(device)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model


def load_model(path: str | os.PathLike, device: str = "cpu", want: str = "world model"):
    """(model in eval mode, checkpoint dict) from a ckpt.pt or a run folder holding one, read as
    data only (read_checkpoint); a clear error when it holds another kind than `want` ("world
    model" or "arbiter")."""
    path, ckpt = read_checkpoint(path, device)
    if kind(ckpt["model_name"]) != want:
        use = ("it scores generated video: pass it as --arbiter" if want == "world model"
               else "an arbiter comes from `boxlcd train arbiter`")
        a = {"arbiter": "an arbiter", "world model": "a world model"}
        raise CheckpointError(f"{path} is {a[kind(ckpt['model_name'])]} ({ckpt['model_name']}), not {a[want]}: {use}")
    return build_from(path, ckpt, device), ckpt


def prompt_frames(ckpt: dict) -> int:
    """How many real frames prompt the checkpoint's model: its run's --prompt, else the default."""
    return int(ckpt.get("run", {}).get("prompt") or default_prompt(ckpt["spec"]["env"]))
