"""The on-disk layout of a dataset and a memory-mapped reader that checks checksums.

Format: plain .npy files (numpy's own format: a header and the raw array), one folder per
shard, so arrays load memory-mapped without a copy and a dataset larger than RAM works; no
compression, since packed frames are already 8x smaller than pixels and random access matters
more than size. Each shard folder is written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

FORMAT = "boxlcd-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = ("frames", "actions", "full_state", "proprio", "seeds")


class CorruptShardError(RuntimeError):
    """A shard whose files are missing, truncated or do not match their checksums."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


def write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_shard(root: Path, index: int, arrays: dict[str, np.ndarray]) -> dict:
    """Writes one shard under a temporary name, then renames it; returns its manifest entry."""
    final = root / shard_name(index)
    tmp = root / f".{shard_name(index)}.tmp-{os.getpid()}"
    tmp.mkdir()
    files = {}
    for name in ARRAYS:
        path = tmp / f"{name}.npy"
        np.save(path, np.ascontiguousarray(arrays[name]))
        files[name] = {"sha256": sha256_of(path), "shape": list(arrays[name].shape),
                       "dtype": str(arrays[name].dtype)}
    entry = {"name": final.name, "episodes": int(arrays["seeds"].shape[0]), "files": files}
    write_json_atomically(tmp / "shard.json", entry)
    os.replace(tmp, final)
    return entry


def read_shard_entry(root: Path, index: int) -> dict | None:
    """The entry of a completed shard, or None if it was never finished."""
    path = root / shard_name(index) / "shard.json"
    if not path.exists():
        return None
    with open(path) as f:
        return json.load(f)


class Episodes:
    """A dataset's episodes, memory-mapped. Each episode has ep_len + 1 frames (the reset
    frame first) and ep_len actions: action t leads from frame t to frame t + 1.

    verify=True (default) checks every shard's files against their checksums once, here.
    """

    def __init__(self, path: str | os.PathLike, verify: bool = True):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            raise FileNotFoundError(f"{self.path} has no {MANIFEST}: not a boxlcd dataset")
        with open(manifest_path) as f:
            self.manifest = json.load(f)
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{manifest_path} is not a {FORMAT} manifest")
        if not self.manifest.get("complete"):
            raise ValueError(f"{self.path} is incomplete; finish it with collect(..., resume=True)")
        m = self.manifest
        self.ep_len = int(m["ep_len"])
        self.frame_shape = tuple(m["frame_shape"])
        self.state_keys, self.proprio_keys, self.action_keys = m["state_keys"], m["proprio_keys"], m["action_keys"]
        self._shards = []
        for entry in m["shards"]:
            self._shards.append(self._open_shard(entry, verify))
        counts = [len(s["seeds"]) for s in self._shards]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.num_episodes = int(self._first[-1])

    def _open_shard(self, entry: dict, verify: bool) -> dict[str, np.ndarray]:
        folder = self.path / entry["name"]
        arrays = {}
        for name, info in entry["files"].items():
            path = folder / f"{name}.npy"
            if not path.exists():
                raise CorruptShardError(f"{path} is missing")
            if verify and sha256_of(path) != info["sha256"]:
                raise CorruptShardError(f"{path} does not match its checksum: the shard is corrupted or truncated")
            try:
                arrays[name] = np.load(path, mmap_mode="r")
            except ValueError as e:  # a truncated file fails numpy's size check
                raise CorruptShardError(f"{path} cannot be read: {e}") from e
            if list(arrays[name].shape) != info["shape"] or str(arrays[name].dtype) != info["dtype"]:
                raise CorruptShardError(f"{path} has shape {arrays[name].shape}, expected {info['shape']}")
        return arrays

    def __len__(self) -> int:
        return self.num_episodes

    def locate(self, episode: int) -> tuple[int, int]:
        """(shard, row) of an episode index."""
        if not 0 <= episode < self.num_episodes:
            raise IndexError(f"episode {episode} is outside [0, {self.num_episodes})")
        shard = int(np.searchsorted(self._first, episode, side="right") - 1)
        return shard, int(episode - self._first[shard])

    def locate_many(self, episodes: np.ndarray) -> np.ndarray:
        """(N, 2) array of (shard, row) for valid episode indices."""
        shards = np.searchsorted(self._first, episodes, side="right") - 1
        return np.stack([shards, episodes - self._first[shards]], axis=1)

    def episode(self, episode: int) -> dict[str, np.ndarray]:
        """One episode's arrays (memory-mapped views): frames (T+1, H, ceil(W/8)), actions
        (T, A), full_state (T+1, D), proprio (T+1, P), seed."""
        shard, row = self.locate(episode)
        return {name: a[row] for name, a in self._shards[shard].items()}

    def shard_arrays(self, shard: int) -> dict[str, np.ndarray]:
        return self._shards[shard]

    @property
    def num_shards(self) -> int:
        return len(self._shards)

    def split(self, test_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Train and test episode indices: a seeded random split by episode."""
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        order = np.random.default_rng(seed).permutation(self.num_episodes)
        n_test = max(1, int(round(test_fraction * self.num_episodes)))
        return np.sort(order[n_test:]), np.sort(order[:n_test])
