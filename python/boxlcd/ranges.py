"""Settings refused by name when out of range, before a run makes anything: torch, SB3 and
numpy would otherwise fail deep inside, or train on nonsense."""
from __future__ import annotations


def check_ranges(values: dict, ranges: dict[str, tuple]) -> None:
    """Raises ValueError naming the first of `ranges`' settings in `values` outside its range. A
    range is (lowest, highest or None, whether the lowest itself is allowed); an int lowest
    makes the setting a count, a whole number."""
    for key, (low, high, low_allowed) in ranges.items():
        value = values[key]
        count = isinstance(low, int)
        if isinstance(value, bool) or not isinstance(value, int if count else (int, float)):
            raise ValueError(f"{key} must be a {'whole ' if count else ''}number, got {value!r}")
        if value < low or (value == low and not low_allowed) or (high is not None and value > high):
            bound = f"{'>=' if low_allowed else '>'} {low}" + (f" and <= {high}" if high is not None else "")
            raise ValueError(f"{key} must be {bound}, got {value!r}")
