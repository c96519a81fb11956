"""The packed frame format both unpackers share (frames for numpy, tensors for torch): rows of
ceil(W / 8) bytes, most significant bit first. frames may import tensors, never the reverse."""
from __future__ import annotations

import numpy as np


def output_cols(row_bytes: int, cols: int | None) -> int:
    """W for rows of row_bytes bytes: cols checked against them, or 8 x row_bytes by default."""
    if cols is None:
        return 8 * row_bytes
    if isinstance(cols, bool) or not isinstance(cols, (int, np.integer)):
        raise TypeError(f"cols must be an int, got {type(cols).__name__}")
    if not 8 * row_bytes - 7 <= cols <= 8 * row_bytes:
        raise ValueError(f"cols must be in [{8 * row_bytes - 7}, {8 * row_bytes}] for rows of "
                         f"{row_bytes} bytes, got {cols}")
    return int(cols)
