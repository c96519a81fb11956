"""Writing into folders a user may have been sent (run folders, suites, --out): never through a
link placed there.

A whole file is written under a fresh temporary name beside it (created exclusively, so no link
can stand there) and renamed over the target: os.replace swaps the name and never follows a link
at it, and a crash leaves the old file whole. A file that grows (log.csv) is opened with
O_NOFOLLOW, so a link there is an error, not a write elsewhere.
"""
from __future__ import annotations

import fcntl
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, TextIO


def replace_with(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Calls write(tmp) for a fresh file beside `path` (same suffix, so writers that go by it
    choose the same format), then renames it to `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    replace_with(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | os.PathLike, value) -> None:
    """`value` as indented JSON; NaN and infinities are refused (JSON has none)."""
    write_text(path, json.dumps(value, indent=1, allow_nan=False) + "\n")


def open_append(path: str | os.PathLike) -> TextIO:
    """`path` opened to append text (created if missing); a link there, symbolic or hard (a
    name shared with a file elsewhere), or anything but a regular file raises OSError."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as e:
        if Path(path).is_symlink():
            raise OSError(f"{path} is a link: boxlcd does not write through links in a folder") from None
        raise OSError(f"cannot append to {path}: {e.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        os.close(fd)
        raise OSError(f"{path} is {'a hard link' if stat.S_ISREG(info.st_mode) else 'not a regular file'}: "
                      "boxlcd does not write through links in a folder")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "a", newline="")


def make_folder(path: str | os.PathLike) -> Path:
    """`path` made (with its parents) as a folder of its own: a link in its place is refused,
    so what is written into it stays where it seems to be."""
    path = Path(path)
    if path.is_symlink():
        raise OSError(f"{path} is a link: boxlcd does not write through links in a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_bytes(path: str | os.PathLike) -> bytes:
    """A file's bytes; a FIFO, device or folder in its place is an OSError, not a hang."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise OSError(f"{path} is not a regular file")
    return path.read_bytes()


def lock_file(path: str | os.PathLike) -> int | None:
    """An open descriptor holding an exclusive lock on `path` (created if missing), or None when
    another process holds it. Opened with O_NOFOLLOW: a link planted there raises OSError rather
    than lock a file elsewhere. The kernel drops the lock with the process, so a crashed run
    leaves none behind; closing the descriptor releases it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def lock_folder(folder: Path, name: str, owner: str, user: str, error: type[Exception]) -> int:
    """A descriptor holding the lock file `name` of `folder` (lock_file), so that a second
    `user` working there fails at once; otherwise `error` with one line naming the file: a
    lock held elsewhere, or a path that is not a plain file of the `owner`."""
    path = Path(folder) / name
    try:
        fd = lock_file(path)
    except OSError as e:
        raise error(f"cannot lock {path} ({e.strerror}): it must be a plain file of the {owner}") from None
    if fd is None:
        raise error(f"{folder} is in use by another {user} (it holds the lock {path}); wait for it to end")
    return fd
