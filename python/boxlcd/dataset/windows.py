"""A torch Dataset of windows of consecutive steps, read from memory-mapped shards.

Fetching is batched: DataLoader calls __getitems__ with a whole batch of indices, and the
frames of all its windows are gathered and unpacked in a few numpy calls, not one per item.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from boxlcd.dataset.store import Episodes


def pass_through(batch):
    """collate_fn for Windows: __getitems__ already returns a collated batch."""
    return batch


class Windows(torch.utils.data.Dataset):
    """Windows of `window` consecutive frames from the given episodes (all by default).

    An item (or a batch, from __getitems__) is a dict of tensors: "lcd" (window, H, W) frames,
    unpacked to `dtype` (uint8 0/1, bool or float32; or packed bytes with unpack=False),
    "actions" (window - 1, A) where action t leads from frame t to frame t + 1, "full_state"
    (window, D), "proprio" (window, P), and "episode" and "start" (the window's place).
    """

    def __init__(self, data: str | os.PathLike | Episodes, window: int = 16, episodes=None,
                 dtype: torch.dtype = torch.uint8, unpack: bool = True):
        self.data = data if isinstance(data, Episodes) else Episodes(data)
        if not isinstance(window, int) or not 1 <= window <= self.data.ep_len + 1:
            raise ValueError(f"window must be an int in [1, {self.data.ep_len + 1}], got {window!r}")
        if dtype not in (torch.uint8, torch.bool, torch.float32):
            raise ValueError(f"dtype must be torch.uint8, torch.bool or torch.float32, got {dtype}")
        self.window, self.dtype, self.unpack = window, dtype, unpack
        self.episodes = np.arange(len(self.data)) if episodes is None else np.asarray(episodes, np.int64)
        if self.episodes.size and (self.episodes.min() < 0 or self.episodes.max() >= len(self.data)):
            raise ValueError(f"episode indices must be in [0, {len(self.data)})")
        self.starts_per_episode = self.data.ep_len + 2 - window
        self.width = self.data.frame_shape[1]

    def __len__(self) -> int:
        return len(self.episodes) * self.starts_per_episode

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        batch = self.__getitems__([index])
        return {k: v[0] for k, v in batch.items()}

    def __getitems__(self, indices) -> dict[str, torch.Tensor]:
        indices = np.asarray(indices, np.int64)
        if indices.size and (indices.min() < -len(self) or indices.max() >= len(self)):
            raise IndexError(f"window index out of range [0, {len(self)})")
        indices = indices % max(1, len(self))
        episodes = self.episodes[indices // self.starts_per_episode]
        starts = indices % self.starts_per_episode
        out = {"lcd": [], "actions": [], "full_state": [], "proprio": []}
        order = []
        located = self.data.locate_many(episodes)
        steps = np.arange(self.window)
        for shard in np.unique(located[:, 0]):
            picked = np.nonzero(located[:, 0] == shard)[0]
            rows = located[picked, 1][:, None]
            t = starts[picked][:, None] + steps
            arrays = self.data.shard_arrays(int(shard))
            out["lcd"].append(arrays["frames"][rows, t])
            out["full_state"].append(arrays["full_state"][rows, t])
            out["proprio"].append(arrays["proprio"][rows, t])
            out["actions"].append(arrays["actions"][rows, t[:, :-1]])
            order.append(picked)
        inverse = np.argsort(np.concatenate(order))
        batch = {k: np.concatenate(v)[inverse] for k, v in out.items()}
        if self.unpack:
            bits = np.unpackbits(batch["lcd"], axis=-1, count=self.width)
            lcd = torch.from_numpy(bits)
            batch["lcd"] = lcd.to(self.dtype) if self.dtype != torch.uint8 else lcd
        else:
            batch["lcd"] = torch.from_numpy(batch["lcd"])
        for k in ("actions", "full_state", "proprio"):
            batch[k] = torch.from_numpy(batch[k])
        batch["episode"] = torch.from_numpy(episodes)
        batch["start"] = torch.from_numpy(starts)
        return batch

    def loader(self, batch_size: int = 64, shuffle: bool = True, **kwargs) -> torch.utils.data.DataLoader:
        """A DataLoader that fetches whole batches at once (any DataLoader options pass on)."""
        return torch.utils.data.DataLoader(self, batch_size=batch_size, shuffle=shuffle,
                                           collate_fn=pass_through, **kwargs)
