"""Is this path a history database hipflex can use? Answered before SQLite touches the file,
so a wrong path is refused with one line naming the problem, and nothing is written to a
file that is not ours (SQLite would otherwise create a WAL beside it, or switch its mode)."""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge.errors import HipflexError

SQLITE_MAGIC = b"SQLite format 3\0"


class HistoryUnusable(HipflexError):
    """`hipflex run` cannot use its history database; with --hold-on-error it waits for a
    fix instead of exiting (edge.commands.run)."""


def check_db_file(path: Path, writable: bool, newest: int) -> None:
    """Raise a one-line HipflexError unless `path` is a SQLite file whose schema version
    (user_version, read from the header) is at most `newest` (or, when `writable`, a
    missing file whose directory can be created and written)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if not writable:
            raise HipflexError(
                f"no history database at {path} (pass --db or set HIPFLEX_DB)"
            ) from None
        _check_parent(path)
        return
    except NotADirectoryError:
        raise HipflexError(
            f"history database {path}: a parent of it is a file, not a directory"
        ) from None
    except OSError as exc:
        raise HipflexError(f"history database {path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise HipflexError(f"history database {path} is a directory, not a database file")
    if not stat.S_ISREG(st.st_mode):
        raise HipflexError(f"history database {path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise HipflexError(f"history database {path}: permission denied (cannot read it)")
    if writable and not os.access(path, os.W_OK):
        raise HipflexError(
            f"history database {path} is read-only (for this user, or on its file system)"
        )
    if writable and not os.access(path.parent, os.W_OK):
        raise HipflexError(
            f"history database {path}: its directory is read-only (SQLite needs to write its "
            "journal there)"
        )
    if st.st_size == 0:
        if writable:
            return  # an empty file is a new database
        raise HipflexError(f"history database {path} is empty (no sessions recorded yet)")
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise HipflexError(f"history database {path}: {exc.strerror}") from None
    if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
        raise HipflexError(f"history database {path} is not a SQLite database")
    version = int.from_bytes(head[60:64], "big", signed=True)
    if version > newest:
        raise HipflexError(
            f"history database {path} is schema v{version}, newer than this hipflex "
            f"(v{newest}); upgrade hipflex"
        )


def check_contents(
    conn: sqlite3.Connection, path: Path, tables: Mapping[int, frozenset[str]]
) -> None:
    """Refuse a database that fails SQLite's quick_check, or lacks a table its version
    must have (`tables`: version -> names). Reads only; a new, empty database passes."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        shown = "; ".join(" ".join(p.split()) for p in problems)
        raise HipflexError(f"history database {path} is corrupt ({shown})")
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = sorted(tables.get(version, frozenset()) - names)
    if missing:
        raise HipflexError(
            f"history database {path} is schema v{version} but lacks the tables "
            f"{', '.join(missing)}; it was not made by hipflex"
        )


def _check_parent(path: Path) -> None:
    for parent in [path.parent, *path.parent.parents]:
        try:
            st = os.stat(parent)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise HipflexError(f"history database {path}: {parent}: {exc.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise HipflexError(f"history database {path}: {parent} is a file, not a directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise HipflexError(f"history database {path}: cannot create it in {parent} (read-only)")
        return


def reading(method: Callable) -> Callable:
    """A damaged database found while reading is a one-line error naming the file."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise HipflexError(f"history database {self.path} cannot be read: {exc}") from None

    return wrapper


def disk_full(exc: sqlite3.Error, path: Path) -> bool:
    """SQLite's error for a full disk, or the I/O error it gives when even the WAL index
    cannot be made (SQLITE_IOERR_SHMSIZE) on a disk with no room left."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL":
        return True
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return name.startswith("SQLITE_IOERR") and st.f_bavail * st.f_frsize < 64 * 1024
