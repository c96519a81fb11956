"""Packed frames to one value per pixel: boxlcd.unpack, for numpy arrays and torch tensors."""
from __future__ import annotations

import numpy as np

from boxlcd import _core
from boxlcd.packed import output_cols

NUMPY_DTYPES = (np.dtype(np.uint8), np.dtype(np.bool_), np.dtype(np.float32))


def _is_tensor(x) -> bool:
    # Without importing torch: only a tensor's class lives in torch.
    return type(x).__module__.split(".")[0] == "torch"


def unpack(frames, dtype=None, cols: int | None = None, out=None):
    """Packed frames (..., H, ceil(W/8)) uint8, bits most significant first, to (..., H, W)
    values 0/1 of `dtype`.

    numpy arrays: dtype uint8 (default), bool or float32, unpacked in C++ with the GIL released.
    torch tensors: dtype torch.uint8 (default), torch.bool or any float dtype; unpacked on the
    tensor's device (CPU tensors go through the same C++ code, without a copy), so a trainer
    can move the 8x smaller packed frames to the GPU and unpack them there.
    cols: W, the frame's columns (env.frame_shape[1]); by default 8 x the bytes per row, which
    is W for every built-in env. out: an array or tensor of the result's shape and dtype to
    write into (for instance pinned memory, see boxlcd.tensors); it is returned.
    """
    if _is_tensor(frames):
        from boxlcd.tensors import unpack as unpack_tensor

        return unpack_tensor(frames, dtype=dtype, cols=cols, out=out)
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"frames must be a numpy array or a torch tensor, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise TypeError(f"frames must be uint8 (packed bits), got {frames.dtype}")
    if frames.ndim < 1 or frames.shape[-1] < 1:
        raise ValueError(f"frames must have a last axis of packed bytes, got shape {frames.shape}")
    cols = output_cols(frames.shape[-1], cols)
    shape = (*frames.shape[:-1], cols)
    if out is None:
        dtype = np.dtype(np.uint8 if dtype is None else dtype)
        if dtype not in NUMPY_DTYPES:
            raise TypeError(f"dtype must be uint8, bool or float32, got {dtype}")
        out = np.empty(shape, dtype)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy array for numpy frames, got {type(out).__name__}")
        if dtype is not None and np.dtype(dtype) != out.dtype:
            raise TypeError(f"dtype {np.dtype(dtype)} differs from out's {out.dtype}")
        if out.shape != shape:
            raise ValueError(f"out must have shape {shape}, got {out.shape}")
    _core.unpack_into(np.ascontiguousarray(frames), out)
    return out
