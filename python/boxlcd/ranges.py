"""Settings refused by name when out of range, before a run makes anything: torch, SB3 and
numpy would otherwise fail deep inside, or train on nonsense."""
from __future__ import annotations

import math
import numbers

MAX_THREADS = 1024  # threads of one process (torch's or stepping envs): more only contend, each holds a stack


def check_ranges(values: dict, ranges: dict[str, tuple]) -> None:
    """Raises ValueError naming the first of `ranges`' settings in `values` outside its range. A
    range is (lowest, highest or None, whether the lowest itself is allowed); an int lowest
    makes the setting a count, a whole number. NaN and infinities are never in range: a
    comparison with NaN is always false, so without this check NaN passed every bound."""
    for key, (low, high, low_allowed) in ranges.items():
        value = values[key]
        count = isinstance(low, int)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if count else numbers.Real):
            raise ValueError(f"{key} must be a {'whole ' if count else ''}number, got {value!r}")
        if not isinstance(value, numbers.Integral) and not math.isfinite(value):  # ints are finite
            raise ValueError(f"{key} must be a finite number, got {value!r}")
        if value < low or (value == low and not low_allowed) or (high is not None and value > high):
            bound = f"{'>=' if low_allowed else '>'} {low}" + (f" and <= {high}" if high is not None else "")
            raise ValueError(f"{key} must be {bound}, got {value!r}")


def check_flags(values: dict, keys) -> None:
    """Raises ValueError naming the first of `keys` in `values` that is not true or false."""
    for key in keys:
        if values[key] not in (True, False):
            raise ValueError(f"{key} must be true or false, got {values[key]!r}")


def check_heads(values: dict) -> None:
    """A transformer's d_model must split evenly over its heads (torch asserts it, unnamed)."""
    if values["d_model"] % values["heads"]:
        raise ValueError(f"heads must divide d_model: d_model {values['d_model']} is not a multiple of "
                         f"heads {values['heads']}")
