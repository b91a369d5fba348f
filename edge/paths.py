"""Checks on the paths a command is given, each failing with one line that names the path.

Two rules. A file that is read must be a regular file: a FIFO or /dev/zero would block or
never end. A file that is written is never one of the command's inputs, nor the history
database or the files SQLite and the spool keep beside it: a typo in `--out` must not
destroy the history.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from edge.errors import HipflexError

SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL


def input_file(path: str | os.PathLike, what: str) -> Path:
    """`path` if it is a readable regular file."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HipflexError(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise HipflexError(f"{what} {path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise HipflexError(f"{what} {path} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise HipflexError(f"{what} {path} is not a regular file (a pipe or a device)")
    if not os.access(path, os.R_OK):
        raise HipflexError(f"{what} {path}: permission denied")
    return path


def database_files(db: str | os.PathLike) -> list[Path]:
    """The history database and every file kept beside it."""
    db = Path(db)
    return [db] + [db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal", ".spool")]


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is missing: compare where they would be
        return os.path.abspath(a) == os.path.abspath(b)


def not_an_input(
    path: str | os.PathLike, what: str, inputs: Iterable[tuple[str, str | os.PathLike]]
) -> Path:
    """`path` unless it is one of `inputs`, (name, path) pairs."""
    path = Path(path)
    for name, other in inputs:
        if same_file(path, Path(other)):
            raise HipflexError(f"{what} {path} is the {name}; refusing to write over it")
    return path


def output_file(
    path: str | os.PathLike,
    what: str,
    inputs: Iterable[tuple[str, str | os.PathLike]] = (),
    makes_parent: bool = False,
) -> Path:
    """`path` if writing it destroys nothing it must not: not an input (a (name, path) pair
    of `inputs`), not a directory, pipe or socket, in a directory that exists and is
    writable (or, with `makes_parent`, that the caller will create)."""
    path = not_an_input(path, what, inputs)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise HipflexError(f"{what} {path}: {exc.strerror}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise HipflexError(f"{what} {path} is a directory")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise HipflexError(f"{what} {path} is not a regular file (a pipe or a socket)")
        if not os.access(path, os.W_OK):
            raise HipflexError(f"{what} {path}: permission denied")
        return path
    parent = path.parent
    if makes_parent:
        return path
    if not parent.is_dir():
        why = "does not exist" if not parent.exists() else "is not a directory"
        raise HipflexError(f"{what} {path}: the directory {parent} {why}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise HipflexError(f"{what} {path}: the directory {parent} is not writable")
    return path


def socket_file(path: str | os.PathLike, what: str = "--socket", replaces: bool = True) -> Path:
    """A Unix socket path that fits sun_path, and where anything already there is a socket
    (only a socket is ever replaced; a client, `replaces=False`, only connects to one)."""
    path = Path(path)
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise HipflexError(
            f"{what} {str(path)[:40]}...: {len(os.fsencode(path))} bytes, longer than a Unix "
            f"socket path can be ({SOCKET_PATH_MAX})"
        )
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise HipflexError(f"{what} {path}: {exc.strerror}") from None
    if not stat.S_ISSOCK(st.st_mode):
        why = "refusing to replace it" if replaces else "not hipflex's live view"
        raise HipflexError(f"{what} {path} exists and is not a socket; {why}")
    return path
