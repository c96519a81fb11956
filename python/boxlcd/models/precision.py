"""The numeric precision a model or a policy computes in, and whether bf16 pays on this CPU."""
from __future__ import annotations

import warnings

import torch

PRECISIONS = ("fp32", "bf16")  # the `precision` settings of models and of rl's policies


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def cpu_flags() -> set[str]:
    """This CPU's feature flags (Linux's /proc/cpuinfo); empty where there is none to read."""
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        return set()


def warn_if_bf16_is_slow(device) -> None:
    """bf16 autocast pays on a GPU or on a CPU with AVX512-BF16 or AMX; elsewhere torch emulates
    bf16 matrix products (on an AVX2 EPYC with torch 2.13 the frame transformer trained 7x slower:
    bench/ddp_speed.py), so a bf16 setting there is a slowdown, said once rather than found in a
    log."""
    if torch.device(device).type != "cpu":
        return
    flags = cpu_flags()
    if flags and not {"avx512_bf16", "amx_bf16"} & flags:
        warnings.warn("precision=bf16 on a CPU without AVX512-BF16 or AMX: torch emulates bf16 matrix "
                      "products there, several times slower than fp32", RuntimeWarning, stacklevel=2)
