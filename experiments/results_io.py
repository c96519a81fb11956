"""What the analyses share: print the figure's line, keep the figures as JSON."""
from __future__ import annotations

import json


def finish(result: dict, line: str, out: str | None) -> dict:
    """Prints `line` and, with `out`, writes `result` there as JSON; returns `result`."""
    print(line)
    if out:
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
    return result
