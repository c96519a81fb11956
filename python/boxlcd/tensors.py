"""torch views of a batch's outputs, unpacking on any device, and pinned host buffers.

Needs torch (pip install 'boxlcd[torch]'; pin the version, e.g. torch==2.13.0 for a CPU build).

Lifetime of views(): each tensor shares memory with a numpy view of a C++ buffer, and that view
shares ownership of the batch's buffers, so they live as long as any tensor does, even after the
Env is gone or closed. Their contents are rewritten by every reset() and step(): clone what you keep.
"""
from __future__ import annotations

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised by a subprocess test
    raise ImportError("boxlcd.tensors needs torch: pip install 'boxlcd[torch]'") from e

import numpy as np

from boxlcd import _core
from boxlcd.packed import output_cols


def views(env) -> dict[str, torch.Tensor]:
    """Zero-copy CPU tensors of a boxlcd.Env's outputs: lcd (packed), full_state, proprio,
    reward, terminated, truncated, episode_step. See the module's note on their lifetime."""
    b = env.batch
    arrays = {"lcd": b.frames, "full_state": b.full_state, "proprio": b.proprio, "reward": b.reward,
              "terminated": b.terminated, "truncated": b.truncated, "episode_step": b.episode_step}
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def unpack(frames: torch.Tensor, dtype: torch.dtype | None = None, cols: int | None = None,
           out: torch.Tensor | None = None) -> torch.Tensor:
    """boxlcd.unpack for tensors, on the tensor's device (see boxlcd.unpack)."""
    if not isinstance(frames, torch.Tensor):
        raise TypeError(f"frames must be a torch tensor, got {type(frames).__name__}")
    if frames.dtype != torch.uint8:
        raise TypeError(f"frames must be torch.uint8 (packed bits), got {frames.dtype}")
    if frames.dim() < 1 or frames.shape[-1] < 1:
        raise ValueError(f"frames must have a last axis of packed bytes, got shape {tuple(frames.shape)}")
    cols = output_cols(frames.shape[-1], cols)
    shape = (*frames.shape[:-1], cols)
    if out is None:
        dtype = torch.uint8 if dtype is None else dtype
        if not isinstance(dtype, torch.dtype) or not (dtype in (torch.uint8, torch.bool) or dtype.is_floating_point):
            raise TypeError(f"dtype must be torch.uint8, torch.bool or a float dtype, got {dtype}")
        out = torch.empty(shape, dtype=dtype, device=frames.device)
    else:
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"out must be a torch tensor for tensor frames, got {type(out).__name__}")
        if dtype is not None and dtype != out.dtype:
            raise TypeError(f"dtype {dtype} differs from out's {out.dtype}")
        if tuple(out.shape) != shape:
            raise ValueError(f"out must have shape {shape}, got {tuple(out.shape)}")
        if out.device != frames.device:
            raise ValueError(f"out is on {out.device}, frames on {frames.device}")
    if (frames.device.type == "cpu" and out.dtype in (torch.uint8, torch.bool, torch.float32)
            and out.is_contiguous()):
        # The C++ unpacker, straight into out's memory (which may be pinned).
        _core.unpack_into(np.ascontiguousarray(frames.numpy()), out.numpy())
        return out
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=frames.device)
    bits = (frames.unsqueeze(-1) >> shifts) & 1  # (..., bytes, 8)
    out.copy_(bits.flatten(-2)[..., :cols])
    return out


def _empty(shape, dtype, pin_memory: bool) -> torch.Tensor:
    if not pin_memory:
        return torch.empty(shape, dtype=dtype)
    try:
        return torch.empty(shape, dtype=dtype, pin_memory=True)
    except RuntimeError as e:
        raise RuntimeError("pin_memory=True needs an accelerator (torch.cuda.is_available() is "
                           f"{torch.cuda.is_available()}); use pin_memory=False") from e


class HostBuffers:
    """Host tensors that receive a boxlcd.Env's observation after each step, page-locked
    (pinned) by default so that `.to("cuda", non_blocking=True)` overlaps with the next step.

    The C++ batch keeps its own buffers; update() copies them here (frames unpacked by the C++
    unpacker straight into pinned memory when unpack=True). The tensors are allocated once
    and rewritten by every update().
    """

    def __init__(self, env, unpack: bool = True, lcd_dtype: torch.dtype = torch.uint8, pin_memory: bool = True):
        self.env = env
        self.unpack = unpack
        n = env.num_envs
        rows, cols = env.frame_shape
        lcd_shape = (n, rows, cols) if unpack else (n, rows, (cols + 7) // 8)
        self.tensors = {
            "lcd": _empty(lcd_shape, lcd_dtype if unpack else torch.uint8, pin_memory),
            "full_state": _empty((n, len(env.state_keys)), torch.float32, pin_memory),
            "proprio": _empty((n, len(env.proprio_keys)), torch.float32, pin_memory),
        }
        self.pinned = pin_memory

    def update(self) -> dict[str, torch.Tensor]:
        """Writes the env's current observation into the host tensors and returns them."""
        b, t = self.env.batch, self.tensors
        if self.unpack:
            unpack(torch.from_numpy(b.frames), cols=self.env.frame_shape[1], out=t["lcd"])
        else:
            t["lcd"].copy_(torch.from_numpy(b.frames))
        t["full_state"].copy_(torch.from_numpy(b.full_state))
        t["proprio"].copy_(torch.from_numpy(b.proprio))
        return t

    def to(self, device, non_blocking: bool = True) -> dict[str, torch.Tensor]:
        """The host tensors copied to `device` (asynchronously from pinned memory)."""
        return {k: v.to(device, non_blocking=non_blocking) for k, v in self.tensors.items()}


__all__ = ["HostBuffers", "unpack", "views"]
