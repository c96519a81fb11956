"""The on-disk layout of a dataset and a memory-mapped reader that checks what it reads.

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

from boxlcd import _core
from boxlcd.env import envs, make
from boxlcd.files import read_bytes, replace_with
from boxlcd.worlds import World, definition_summary

FORMAT = "boxlcd-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = ("frames", "actions", "full_state", "proprio", "seeds")
FLOATS = ("actions", "full_state", "proprio")  # the arrays whose values Episodes checks
SCAN_BYTES = 8 << 20  # episodes read at a time when opening a dataset


class DatasetError(ValueError):
    """A dataset that cannot be read as it is: a malformed manifest, or a manifest, shard.json
    or array that disagrees with the others. The message names the file and what disagrees."""


class CorruptShardError(DatasetError):
    """A shard whose files are missing, truncated or do not match their checksums."""


def no_constant(name: str):
    """parse_constant for json.loads: NaN and Infinity, which Python's json reads by default,
    are not JSON numbers and mean nothing in a manifest."""
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: Path, error: type = DatasetError):
    """A JSON file's content; `error` naming the file if it is not valid (strict) JSON."""
    try:
        return json.loads(read_bytes(path), parse_constant=no_constant)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError and NaN or Infinity
        raise error(f"{path} is not valid JSON: {e}") from e


def inside(path: Path, root: Path, error: type = DatasetError, what: str = "the dataset") -> Path:
    """`path`, if it resolves inside `root` (already resolved); else `error`: no link, `..` or
    absolute name read from a file leads out of the folder."""
    if not path.resolve().is_relative_to(root):
        raise error(f"{path} leads to {path.resolve()}, outside {what} {root}")
    return path


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
    def write(tmp: Path) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())

    replace_with(path, write)


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
        entry = json.loads(read_bytes(path), parse_constant=no_constant)
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
    itself (shard count, names and sizes, shapes) and against what the engine builds for its env
    and overrides (check_against_engine); raises DatasetError naming what is wrong."""
    m = read_json(path)
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
    check_against_engine(path, m)
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


def _json(value) -> str:
    """A value as JSON, to compare two values exactly (True is not 1, 10.0 is not 10)."""
    return json.dumps(value, sort_keys=True)


def check_against_engine(path: Path, m: dict) -> None:
    """Refuses a manifest whose definition, key names or shapes are not what the engine builds
    for its env and overrides: a reader (the engine oracle, a replay) rebuilds the env from these
    two, so anything else would describe other physics. The env must be a built-in one: the
    manifest keeps a summary of the definition, not its bodies, so it cannot carry a world."""
    env, overrides = m["env"], m["overrides"]
    if env not in envs():
        raise DatasetError(f"{path}: env is {env!r}, not a built-in env ({', '.join(envs())})")
    unknown = sorted(set(overrides) - set(_core.override_names()))
    if unknown:
        raise DatasetError(f"{path}: overrides has {unknown[0]!r}, not a setting "
                           f"({', '.join(_core.override_names())})")
    built = f"{env} with overrides {overrides}" if overrides else env
    try:
        probe = make(env, num_envs=1, frames=False, **overrides)
    except (TypeError, ValueError, OverflowError) as e:
        raise DatasetError(f"{path}: overrides {overrides} do not build {env}: {e}") from e
    definition = json.loads(json.dumps(definition_summary(probe.definition)))
    for key in [*definition, *(k for k in m["definition"] if k not in definition)]:  # name first
        if key not in definition:
            raise DatasetError(f"{path}: definition.{key} is not a field of a world definition")
        if key not in m["definition"]:
            raise DatasetError(f"{path}: definition.{key} is missing ({built} builds {definition[key]!r})")
        if _json(m["definition"][key]) != _json(definition[key]):
            raise DatasetError(f"{path}: definition.{key} is {m['definition'][key]!r}, but {built} builds "
                               f"{definition[key]!r}")
    frame_shape = list(probe.frame_shape)
    expected = {"ep_len": definition["ep_len"], "fps": definition["fps"], "frame_shape": frame_shape,
                "frame_row_bytes": -(-frame_shape[1] // 8), "state_keys": probe.state_keys,
                "proprio_keys": probe.proprio_keys, "action_keys": probe.action_keys}
    for key, want in expected.items():
        have = m[key]
        if _json(have) == _json(want):
            continue
        if key.endswith("_keys"):
            k = next((i for i, (a, b) in enumerate(zip(have, want)) if a != b), None)
            if k is None:
                raise DatasetError(f"{path}: {key} has {len(have)} names, but {built} builds {len(want)}")
            raise DatasetError(f"{path}: {key}[{k}] is {have[k]!r}, but {built} builds {want[k]!r}")
        raise DatasetError(f"{path}: {key} is {have!r}, but {built} builds {want!r}")


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

    Nothing in the folder is trusted: the manifest is checked against itself, against what the
    engine builds for its env and overrides, against each shard's shard.json and against the
    arrays' shapes, dtypes and seeds, and every file must lie inside the folder. The values are
    checked once, here: actions, full_state and proprio must be finite, every cos and sin entry
    of full_state in [-1, 1], and proprio the robot's entries of full_state. verify=True
    (default) also checks every file against its checksum and that no frame lights pixels past
    frame_shape's width, in the same pass over the files; verify=False skips both, and so
    reads the float arrays but not the frames. Any disagreement raises DatasetError naming the
    file.
    """

    def __init__(self, path: str | os.PathLike, verify: bool = True):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            raise FileNotFoundError(f"{self.path} has no {MANIFEST}: not a boxlcd dataset")
        root = self.path.resolve()
        inside(manifest_path, root)
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
            inside(path, root)  # a link out of the dataset
        if not shard_json.is_file():
            raise CorruptShardError(f"{shard_json} is missing: {folder} is not a finished shard")
        own = read_json(shard_json, CorruptShardError)
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
            try:
                arrays[name] = np.load(path, mmap_mode="r")
            except (ValueError, EOFError) as e:  # a truncated file fails numpy's size check
                raise CorruptShardError(f"{path} cannot be read: {e}") from e
            if list(arrays[name].shape) != info["shape"] or str(arrays[name].dtype) != info["dtype"]:
                raise CorruptShardError(f"{path} is {list(arrays[name].shape)} {arrays[name].dtype}, but "
                                        f"{self.path / MANIFEST} says {info['shape']} {info['dtype']}")
            if not arrays[name].flags.c_contiguous:  # numpy's fortran_order: not how write_shard stores it
                raise CorruptShardError(f"{path} is stored in Fortran order, not C order as a shard's arrays are")
        # The seeds place the shard in the dataset: episode e started from seed + e.
        want = self.manifest["seed"] + first + np.arange(entry["episodes"])
        if not np.array_equal(arrays["seeds"], want):
            raise DatasetError(f"{folder / 'seeds.npy'} holds seeds {int(arrays['seeds'][0])}.., but "
                               f"{self.path / MANIFEST} places this shard at episodes {first}.. "
                               f"(seeds {int(want[0])}..)")
        self._scan(folder, arrays, entry["files"], first, verify)
        return arrays

    def _scan(self, folder: Path, arrays: dict[str, np.ndarray], files: dict, first: int, verify: bool) -> None:
        """One pass over a shard, a few MiB of episodes at a time: the values (check_values) and,
        with verify, the checksums and the frames' padding, so each page is read once."""
        names = ARRAYS if verify else FLOATS
        hashes = {}
        for name in names if verify else ():
            # A file is numpy's header, the array, and (in a tampered file) bytes after it.
            with open(folder / f"{name}.npy", "rb") as f:
                hashes[name] = hashlib.sha256(f.read(arrays[name].offset))
        padding = 8 * self.manifest["frame_row_bytes"] - self.frame_shape[1]
        n = len(arrays["seeds"])
        step = max(1, SCAN_BYTES // max(1, sum(arrays[k][:1].nbytes for k in names)))
        for lo in range(0, n, step):
            chunk = {k: arrays[k][lo:lo + step] for k in names}
            for name, h in hashes.items():
                h.update(chunk[name])
            self.check_values(folder, chunk, first + lo)
            if verify and padding and np.any(chunk["frames"][..., -1] & ((1 << padding) - 1)):
                raise DatasetError(f"{folder / 'frames.npy'} has lit pixels right of column {self.frame_shape[1]}: "
                                   f"the frames are wider than {self.path / MANIFEST}'s frame_shape "
                                   f"{list(self.frame_shape)}")
        for name, h in hashes.items():
            path = folder / f"{name}.npy"
            with open(path, "rb") as f:
                f.seek(arrays[name].offset + arrays[name].nbytes)
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != files[name]["sha256"]:
                raise CorruptShardError(f"{path} does not match its checksum: the shard is corrupted or truncated")

    def check_values(self, folder: Path, chunk: dict[str, np.ndarray], first: int) -> None:
        """Refuses values no engine writes: a non-finite number (the checksums say that bytes are
        intact, not that they are valid), an action or a cos or sin outside [-1, 1], or a proprio
        entry other than its full_state entry (0 for the "zero" of an env without a robot).
        Positions are not bounded: a body may leave the world (walls=False, pass_through)."""
        keys = {"actions": self.action_keys, "full_state": self.state_keys, "proprio": self.proprio_keys}

        def refuse(name: str, where: np.ndarray, problem: str):
            e, t, k = (int(i) for i in np.argwhere(where)[0])
            raise DatasetError(f"{folder / f'{name}.npy'} {problem} at episode {first + e}, step {t} "
                               f"({keys[name][k]}): {float(chunk[name][e, t, k])}")

        for name in FLOATS:
            bad = ~np.isfinite(chunk[name])
            if bad.any():
                refuse(name, bad, "holds a number that is not finite")
        outside = np.abs(chunk["actions"]) > 1
        if outside.any():  # the engine clips actions to [-1, 1], and collect stores what it applied
            refuse("actions", outside, "holds an action outside [-1, 1]")
        state = chunk["full_state"]
        angles = [k for k, key in enumerate(self.state_keys) if key.endswith((":cos", ":sin"))]
        outside = np.zeros(state.shape, bool)
        outside[..., angles] = np.abs(state[..., angles]) > 1
        if outside.any():
            refuse("full_state", outside, "holds a cos or sin outside [-1, 1]")
        index = {key: k for k, key in enumerate(self.state_keys)}
        if all(key in index for key in self.proprio_keys):
            want = state[..., [index[key] for key in self.proprio_keys]]
        else:  # an env without a robot: one "zero" entry
            want = np.zeros_like(chunk["proprio"])
        differ = chunk["proprio"] != want
        if differ.any():
            refuse("proprio", differ, "differs from its full_state entry")

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
