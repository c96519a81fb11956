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
import re
from pathlib import Path

import numpy as np

from boxlcd.worlds import World

FORMAT = "boxlcd-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = ("frames", "actions", "full_state", "proprio", "seeds")


class DatasetError(ValueError):
    """A dataset that cannot be read as it is: a malformed manifest, or a manifest, shard.json
    or array that disagrees with the others. The message names the file and what disagrees."""


class CorruptShardError(DatasetError):
    """A shard whose files are missing, truncated or do not match their checksums."""


def resume_error(cls: type, problem: str, errno: int | None = None) -> Exception:
    """An error of type `cls` saying `problem` and how to continue from Python (resume=True).
    Its resume_problem keeps the bare problem, so that the command line names its own flag."""
    message = f"{problem}; continue it with collect(..., resume=True) and the same arguments"
    error = cls(message) if errno is None else cls(errno, message)
    error.resume_problem = problem
    return error


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


SHARD_NAME = re.compile(r"shard-\d+")


def shard_episodes(episodes: int, shard_size: int, index: int) -> int:
    """How many episodes shard `index` holds: shard_size, fewer in the last shard."""
    return min(shard_size, episodes - index * shard_size)


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
    """The entry of a completed shard, or None if it was never finished (no shard.json, or one
    that is not this shard's: such a folder is collected again)."""
    path = root / shard_name(index) / "shard.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("name") == shard_name(index) else None


def _is_int(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _is_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# What a reader relies on in a manifest: key -> (test, what it should be).
MANIFEST_FIELDS = {
    "format_version": (lambda v: v == FORMAT_VERSION, f"{FORMAT_VERSION} (this boxlcd's format)"),
    "env": (lambda v: isinstance(v, str), "a string"),
    "overrides": (lambda v: isinstance(v, dict), "an object"),
    "episodes": (lambda v: _is_int(v, 1), "an int >= 1"),
    "shard_size": (lambda v: _is_int(v, 1), "an int >= 1"),
    "seed": (lambda v: _is_int(v, 0) and v < 2**62, "an int in [0, 2**62)"),  # seeds.npy is int64
    "policy": (lambda v: isinstance(v, str), "a string"),
    "boxlcd_version": (lambda v: isinstance(v, str), "a string"),
    "ep_len": (lambda v: _is_int(v, 1), "an int >= 1"),
    "fps": (_is_number, "a number > 0"),
    "frame_shape": (lambda v: isinstance(v, list) and len(v) == 2 and all(_is_int(x, 1) for x in v),
                    "[rows, columns], ints >= 1"),
    "frame_row_bytes": (lambda v: _is_int(v, 1), "an int >= 1"),
    "state_keys": (_is_names, "a list of strings"),
    "proprio_keys": (_is_names, "a list of strings"),
    "action_keys": (_is_names, "a list of strings"),
    "definition": (lambda v: isinstance(v, dict) and _is_int(v.get("lcd_base"), 1)
                   and _is_number(v.get("wh_ratio")), "an object with lcd_base and wh_ratio"),
    "shards": (lambda v: isinstance(v, list), "a list"),
}
FILE_FIELDS = {
    "sha256": (lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None, "a sha256 hex digest"),
    "shape": (lambda v: isinstance(v, list) and all(_is_int(x, 0) for x in v), "a list of ints"),
    "dtype": (lambda v: isinstance(v, str), "a string"),
}


def _check_fields(path: Path, where: str, value, fields: dict) -> None:
    if not isinstance(value, dict):
        what = where.rstrip(".") or "the manifest"
        raise DatasetError(f"{path}: {what} must be a JSON object, not {type(value).__name__}")
    for key, (test, wanted) in fields.items():
        if key not in value:
            raise DatasetError(f"{path}: {where}{key} is missing")
        if not test(value[key]):
            raise DatasetError(f"{path}: {where}{key} is {value[key]!r}, expected {wanted}")


def load_manifest(path: Path) -> dict:
    """The manifest at `path`, checked for the keys and types a reader relies on and against
    itself (shard count, names and sizes, shapes); raises DatasetError naming what is wrong."""
    try:
        m = json.loads(path.read_bytes())
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise DatasetError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a {FORMAT} manifest")
    if m.get("complete") is not True:
        raise resume_error(DatasetError, f"{path.parent} is an incomplete collection")
    _check_fields(path, "", m, MANIFEST_FIELDS)
    d = m["definition"]
    for key in ("ep_len", "fps"):
        if d.get(key) != m[key]:
            raise DatasetError(f"{path}: {key} is {m[key]!r} but definition.{key} is {d.get(key)!r}")
    # The engine's own rule for the frame size, from the definition's lcd_base and wh_ratio.
    try:
        frame_shape = list(World(lcd_base=d["lcd_base"], wh_ratio=d["wh_ratio"]).frame_shape)
    except (TypeError, ValueError, OverflowError) as e:
        raise DatasetError(f"{path}: definition's lcd_base and wh_ratio make no frame: {e}") from e
    if m["frame_shape"] != frame_shape:
        raise DatasetError(f"{path}: frame_shape is {m['frame_shape']} but the definition's lcd_base "
                           f"{d['lcd_base']} and wh_ratio {d['wh_ratio']} make {frame_shape}")
    if m["frame_row_bytes"] != -(-frame_shape[1] // 8):
        raise DatasetError(f"{path}: frame_row_bytes is {m['frame_row_bytes']} but frames "
                           f"{frame_shape[1]} pixels wide pack into {-(-frame_shape[1] // 8)}")
    expected = -(-m["episodes"] // m["shard_size"])
    if len(m["shards"]) != expected:
        raise DatasetError(f"{path} lists {len(m['shards'])} shards, but {m['episodes']} episodes in shards "
                           f"of {m['shard_size']} make {expected}")
    for index, entry in enumerate(m["shards"]):
        where = f"shards[{index}]."
        _check_fields(path, where, entry, {"name": (lambda v: v == shard_name(index), repr(shard_name(index))),
                                           "episodes": (lambda v: _is_int(v, 1), "an int >= 1"),
                                           "files": (lambda v: isinstance(v, dict), "an object")})
        n = shard_episodes(m["episodes"], m["shard_size"], index)
        if entry["episodes"] != n:
            raise DatasetError(f"{path}: {where}episodes is {entry['episodes']}, but shard {index} of "
                               f"{m['episodes']} episodes in shards of {m['shard_size']} holds {n}")
        if sorted(entry["files"]) != sorted(ARRAYS):
            raise DatasetError(f"{path}: {where}files are {sorted(entry['files'])}, expected {sorted(ARRAYS)}")
        for name, (shape, dtype) in array_layout(m, n).items():
            info = entry["files"][name]
            _check_fields(path, f"{where}files.{name}.", info, FILE_FIELDS)
            if info["shape"] != shape or info["dtype"] != dtype:
                raise DatasetError(f"{path}: {where}files.{name} is {info['shape']} {info['dtype']}, but ep_len, "
                                   f"frame_shape and the key names make {shape} {dtype}")
    return m


def array_layout(m: dict, n: int) -> dict[str, tuple[list[int], str]]:
    """Shape and dtype of each array of a shard of n episodes, from its manifest."""
    T, rows = m["ep_len"], m["frame_shape"][0]
    return {"frames": ([n, T + 1, rows, m["frame_row_bytes"]], "uint8"),
            "actions": ([n, T, len(m["action_keys"])], "float32"),
            "full_state": ([n, T + 1, len(m["state_keys"])], "float32"),
            "proprio": ([n, T + 1, len(m["proprio_keys"])], "float32"),
            "seeds": ([n], "int64")}


class Episodes:
    """A dataset's episodes, memory-mapped. Each episode has ep_len + 1 frames (the reset
    frame first) and ep_len actions: action t leads from frame t to frame t + 1.

    Nothing in the folder is trusted: the manifest is checked against itself, against each
    shard's shard.json and against the arrays' shapes, dtypes and seeds, and every file must lie
    inside the folder; a disagreement raises DatasetError naming the file. verify=True
    (default) also checks every file against its checksum once, here.
    """

    def __init__(self, path: str | os.PathLike, verify: bool = True):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            raise FileNotFoundError(f"{self.path} has no {MANIFEST}: not a boxlcd dataset")
        root = self.path.resolve()
        if not manifest_path.resolve().is_relative_to(root):
            raise DatasetError(f"{manifest_path} leads to {manifest_path.resolve()}, outside the dataset {root}")
        self.manifest = m = load_manifest(manifest_path)
        self.ep_len = m["ep_len"]
        self.frame_shape = tuple(m["frame_shape"])
        self.state_keys, self.proprio_keys, self.action_keys = m["state_keys"], m["proprio_keys"], m["action_keys"]
        listed = {entry["name"] for entry in m["shards"]}
        extra = sorted(p.name for p in self.path.iterdir() if SHARD_NAME.fullmatch(p.name) and p.name not in listed)
        if extra:
            raise DatasetError(f"{self.path} holds {', '.join(extra)}, which {manifest_path} does not list "
                               f"(it lists {len(listed)} shards for {m['episodes']} episodes)")
        self._shards = []
        first = 0
        for entry in m["shards"]:
            self._shards.append(self._open_shard(root, entry, first, verify))
            first += entry["episodes"]
        counts = [len(s["seeds"]) for s in self._shards]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.num_episodes = int(self._first[-1])

    def _open_shard(self, root: Path, entry: dict, first: int, verify: bool) -> dict[str, np.ndarray]:
        folder = self.path / entry["name"]
        shard_json = folder / "shard.json"
        for path in (folder, shard_json, *(folder / f"{name}.npy" for name in ARRAYS)):
            if not path.resolve().is_relative_to(root):  # a symlink out of the dataset
                raise DatasetError(f"{path} leads to {path.resolve()}, outside the dataset {root}")
        try:
            own = json.loads(shard_json.read_bytes())
        except FileNotFoundError as e:
            raise CorruptShardError(f"{shard_json} is missing: {folder} is not a finished shard") from e
        except ValueError as e:
            raise CorruptShardError(f"{shard_json} is not valid JSON: {e}") from e
        if own != entry:
            own = own if isinstance(own, dict) else {}
            differ = sorted(k for k in set(own) | set(entry) if own.get(k) != entry.get(k))
            raise DatasetError(f"{shard_json} disagrees with {self.path / MANIFEST} about this shard "
                               f"({', '.join(differ)})")
        arrays = {}
        for name, info in entry["files"].items():
            path = folder / f"{name}.npy"
            if not path.is_file():
                raise CorruptShardError(f"{path} is missing")
            if verify and sha256_of(path) != info["sha256"]:
                raise CorruptShardError(f"{path} does not match its checksum: the shard is corrupted or truncated")
            try:
                arrays[name] = np.load(path, mmap_mode="r")
            except ValueError as e:  # a truncated file fails numpy's size check
                raise CorruptShardError(f"{path} cannot be read: {e}") from e
            if list(arrays[name].shape) != info["shape"] or str(arrays[name].dtype) != info["dtype"]:
                raise CorruptShardError(f"{path} is {list(arrays[name].shape)} {arrays[name].dtype}, but "
                                        f"{self.path / MANIFEST} says {info['shape']} {info['dtype']}")
        # The seeds place the shard in the dataset: episode e started from seed + e.
        want = self.manifest["seed"] + first + np.arange(entry["episodes"])
        if not np.array_equal(arrays["seeds"], want):
            raise DatasetError(f"{folder / 'seeds.npy'} holds seeds {int(arrays['seeds'][0])}.., but "
                               f"{self.path / MANIFEST} places this shard at episodes {first}.. "
                               f"(seeds {int(want[0])}..)")
        # The engine packs zeros past the last column: lit bits there mean frame_shape is too narrow.
        padding = 8 * self.manifest["frame_row_bytes"] - self.frame_shape[1]
        if verify and padding and np.any(arrays["frames"][..., -1] & ((1 << padding) - 1)):
            raise DatasetError(f"{folder / 'frames.npy'} has lit pixels right of column {self.frame_shape[1]}: the "
                               f"frames are wider than {self.path / MANIFEST}'s frame_shape {list(self.frame_shape)}")
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


# What two datasets must share to be read as one: every episode has the same arrays and meaning.
JOINABLE = ("env", "overrides", "ep_len", "fps", "frame_shape", "frame_row_bytes", "state_keys", "proprio_keys",
            "action_keys", "format_version")


class JoinedEpisodes(Episodes):
    """Several datasets of one env read as one: the first's episodes, then the second's, and so
    on (random-action episodes beside a policy's, say). They must agree on what an episode holds
    (JOINABLE); the manifest is the first's, with the total episode count and the parts' paths."""

    def __init__(self, parts: list, verify: bool = True):
        parts = [p if isinstance(p, Episodes) else Episodes(p, verify) for p in parts]
        if len(parts) < 2:
            raise ValueError(f"joining needs two or more datasets, got {len(parts)}")
        first = parts[0]
        for part in parts[1:]:
            differ = [k for k in JOINABLE if part.manifest.get(k) != first.manifest.get(k)]
            if differ:
                raise DatasetError(f"{part.path} and {first.path} differ in {', '.join(differ)}: "
                                   "they cannot be read as one dataset")
        self.parts = parts
        self.path = first.path
        self.ep_len, self.frame_shape = first.ep_len, first.frame_shape
        self.state_keys, self.proprio_keys, self.action_keys = first.state_keys, first.proprio_keys, first.action_keys
        self._shards = [shard for part in parts for shard in part._shards]
        counts = [len(s["seeds"]) for s in self._shards]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.num_episodes = int(self._first[-1])
        self.manifest = {**first.manifest, "episodes": self.num_episodes, "parts": [str(p.path) for p in parts]}


def open_episodes(data: str | os.PathLike | list, verify: bool = True) -> Episodes:
    """A dataset folder, or several as one (a list, or folders joined by ',')."""
    parts = data if isinstance(data, (list, tuple)) else str(data).split(",") if "," in str(data) else [data]
    return Episodes(parts[0], verify) if len(parts) == 1 else JoinedEpisodes(list(parts), verify)
