"""The history spool: events the database could not take, kept in a file that needs no new
disk space to be written.

Why a file that is already allocated: the usual reason the database cannot take a rep is a
full SD card, and then nothing else can grow either. So the spool is created beside the
database when the box starts, filled with zeros while there is still room, and records are
later written *over* those zeros (in place: no new blocks), each followed by an fdatasync.
A kill leaves the file as it is; the next start replays it into the database.

Format: one JSON object per line from offset 0, then zeros to the end of the file. A reader
stops at the first NUL byte; a last line without its newline was cut off and is ignored.
JSON escapes every control character, so neither NUL nor a newline ever occurs inside a record.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import HipflexError

log = logging.getLogger(__name__)

DEFAULT_RESERVE = 2 * 1024 * 1024  # about 1,500 reps with their angle samples
MIN_RESERVE = 8 * 1024
_CHUNK = 64 * 1024


def spool_path(db: Path) -> Path:
    return db.with_name(db.name + ".spool")


class Spool:
    """A pre-allocated, append-in-place record file. Not thread-safe (History owns it)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise HipflexError(f"cannot open the history spool {path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise HipflexError(f"history spool {path} is not a regular file")
        self._fd: int | None = fd
        self._used = len(self._valid_prefix(self._raw()))

    # ------------------------------------------------------------------ reading

    def _raw(self) -> bytes:
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        return os.pread(self._fd, size, 0) if size else b""

    @staticmethod
    def _valid_prefix(raw: bytes) -> bytes:
        end = raw.find(b"\0")
        if end >= 0:
            raw = raw[:end]
        cut = raw.rfind(b"\n")
        return raw[: cut + 1]

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, oldest first. A line that is not a JSON object (a torn
        write after a power cut) is skipped with a warning."""
        found = []
        for number, line in enumerate(self._valid_prefix(self._raw()).splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                found.append(record)
            else:
                log.warning("history spool %s: line %d is damaged; skipped", self.path, number)
        return found

    @property
    def used(self) -> int:
        """Bytes of records in the spool (0: empty)."""
        return self._used

    # ------------------------------------------------------------------ writing

    def reserve(self, nbytes: int) -> int:
        """Make the file at least `nbytes` long, zero-filled beyond the records, while there
        is room. Real zeros, not a sparse hole or fallocate: overwriting them later must not
        need a block. Returns the size reached (smaller when the disk is short)."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        zeros = b"\0" * _CHUNK
        with contextlib.suppress(OSError):
            while size < nbytes:
                size += os.pwrite(self._fd, zeros[: min(_CHUNK, nbytes - size)], size)
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        return os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        assert self._fd is not None
        return os.fstat(self._fd).st_size

    def append(self, record: dict[str, Any]) -> bool:
        """Write one record durably; False when it fits neither the reserved space nor
        any space the disk still has (the caller keeps it in memory)."""
        assert self._fd is not None
        line = (json.dumps(record, separators=(",", ":"), allow_nan=True) + "\n").encode()
        end = self._used + len(line)
        try:
            if end > self.size:
                self.reserve(end)  # the reserve is used up: grow, if the disk lets us
                if end > self.size:
                    return False
            os.pwrite(self._fd, line, self._used)
            os.fdatasync(self._fd)
        except OSError as exc:
            log.error("history spool %s: cannot write: %s", self.path, exc.strerror)
            return False
        self._used = end
        return True

    def clear(self) -> None:
        """Forget every record (all are in the database now): zeros over them, in place."""
        assert self._fd is not None
        if self._used:
            os.pwrite(self._fd, b"\0" * self._used, 0)
            os.fdatasync(self._fd)
            self._used = 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def reserve_size(directory: Path, wanted: int = DEFAULT_RESERVE) -> int:
    """How much to reserve: `wanted`, but never more than a sixteenth of the free space, so
    a small card is not filled by the reserve itself."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return MIN_RESERVE
    return max(MIN_RESERVE, min(wanted, st.f_bavail * st.f_frsize // 16))


# ---------------------------------------------------------------------- the op codec
# History's write ops, as records that name their session by its row (started_at, athlete,
# source, model, fps) rather than by a database id: the id may not exist yet when the op is
# spooled, and a replay after a restart has no in-memory state to resolve it from.


def _samples_out(samples: np.ndarray | None) -> str | None:
    if samples is None or len(samples) == 0:
        return None
    return base64.b64encode(np.asarray(samples, dtype="<f4").tobytes()).decode("ascii")


def _samples_in(text: str | None, columns: int) -> np.ndarray | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(-1, columns).copy()


def _plain(value: Any) -> Any:
    """numpy scalars (the judge's floats) as Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def encode_op(kind: str, payload: Any, session: dict[str, Any], with_samples: bool = True) -> dict:
    """One spool record for a History op. `with_samples=False` drops the angle samples
    (when the spool is short of room, the rep itself matters more)."""
    rec: dict[str, Any] = {"kind": kind, "session": _plain(session)}
    if kind == "session":
        rec["data"] = _plain(payload)
    elif kind == "rep":
        rep, samples = payload
        rec["data"] = {
            "rep": _plain(rep),
            "samples": _samples_out(samples) if with_samples else None,
        }
    elif kind in ("set", "status"):
        rec["data"] = _plain(payload)
    elif kind == "series":
        rec["data"] = _samples_out(payload) if with_samples else None
    elif kind == "end":
        ended_at, duration, samples = payload
        rec["data"] = [ended_at, _plain(duration), _samples_out(samples) if with_samples else None]
    else:
        raise ValueError(f"unknown history op {kind!r}")
    return rec


def decode_op(rec: dict[str, Any], columns: int) -> tuple[str, Any, dict[str, Any]]:
    """(kind, payload, session row) back from `encode_op`'s record."""
    kind, data, session = rec["kind"], rec["data"], rec["session"]
    if kind == "rep":
        payload: Any = (data["rep"], _samples_in(data["samples"], columns))
    elif kind == "set":
        payload = (int(data[0]), data[1], float(data[2]))
    elif kind == "status":
        payload = (float(data[0]), str(data[1]))
    elif kind == "series":
        payload = _samples_in(data, columns)
    elif kind == "end":
        payload = (data[0], data[1], _samples_in(data[2], columns))
    elif kind == "session":
        payload = data
    else:
        raise ValueError(f"unknown history op {kind!r}")
    return kind, payload, session
