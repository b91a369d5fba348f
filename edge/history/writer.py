"""The history writer: what the live loop calls to keep every rep, set, fault and status
period on the box, so that what a coach was shown survives a crash, a power cut or a full
SD card.

Crash safety. Each event is its own transaction, committed before `record` returns (the
durability settings are edge.history.schema's): a rep whose event was recorded survives a
kill and a power cut.

Write failures (full SD card, I/O errors) never reach the caller's loop: the event stays in a
bounded in-memory queue and in the spool (edge.history.spool), a warning is logged once per
outage, and the queue is written in order when a later write succeeds. Events are applied
strictly in order, so database ids (session, set, open status period) are resolved at write
time, not at call time (edge.history.rows).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis import analysis_events
from edge.dbfile import disk_full
from edge.errors import HipflexError
from edge.events import Event
from edge.history.reader import HistoryReader
from edge.history.schema import (
    REP_FIELDS,
    SCHEMA_VERSION,
    SERIES_COLUMNS,
    connect,
    default_db_path,
    migrate,
    utc_text,
)
from edge.history.spool import Op, SpoolWriter
from edge.spool import Spool, spool_path

log = logging.getLogger("edge.history")  # one logger for the whole store, as in the journal


class History(SpoolWriter, HistoryReader):
    """The history store. The live loop calls `start_session`, then `record` for each event
    and `sample` every frame, then `end_session`; reports and the CLI use the queries
    (edge.history.reader). The rows each write makes are edge.history.rows', the spool's
    part edge.history.spool's.

    Use it from one thread at a time; it may be created in one thread and used in another.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        readonly: bool = False,
        retry_s: float = 5.0,
        max_pending: int = 10_000,
        sample_hz: float = 10.0,
        series_capacity: int = 6_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path) if path is not None else default_db_path()
        self.readonly = readonly
        self._conn: sqlite3.Connection | None = None
        self._spool: Spool | None = None
        starts_full = False
        try:
            self._conn = connect(self.path, readonly)
            if readonly:
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    raise HipflexError(
                        f"history database {self.path} is schema v{version}, this hipflex "
                        f"reads v{SCHEMA_VERSION}; it is upgraded when `hipflex run` next starts"
                    )
            else:
                migrate(self._conn)
        except (sqlite3.Error, HipflexError) as exc:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if isinstance(exc, HipflexError):
                raise
            if readonly or not disk_full(exc, self.path):
                raise HipflexError(f"history database {self.path} cannot be used: {exc}") from None
            # Its header was checked (edge.dbfile); what it lacks is room for the WAL. Start
            # with every event going to the spool, and open the database once there is room.
            log.warning("history: %s is on a full disk (%s); events go to the spool until "
                        "there is room", self.path, exc)  # fmt: skip
            starts_full = True
        self._retry_s = retry_s
        self._clock = clock
        self._pending: deque[Op] = deque()
        self._session_row: dict[str, Any] = {}
        self.spooled_reps = 0  # after close(): reps left in the spool for the next start
        self.lost_reps = 0  # after close(): reps neither the database nor the spool took
        self._max_pending = max_pending
        self._dropped = 0
        self._failing = False
        self._spool_full = False
        self._next_retry = 0.0
        # Writer state, valid for the ops already applied to the database.
        self._session_id: int | None = None
        self._set_ids: dict[int, int] = {}
        self._open_status: tuple[int, str] | None = None  # (row id, status)
        # Caller state, valid for the ops already queued.
        self._session_open = False
        self._last_t = 0.0
        self._period = 1.0 / sample_hz
        self._samples = np.empty((series_capacity, len(SERIES_COLUMNS)), dtype=np.float32)
        self._n_samples = 0
        self._next_sample_t = -np.inf
        if not readonly:
            self._open_spool()
        if starts_full:
            self._failing = True
            self._next_retry = clock() + retry_s

    # ----------------------------------------------------------------- writing

    @property
    def pending(self) -> int:
        """Events waiting for the database (non-zero only while writes fail)."""
        return len(self._pending)

    @property
    def dropped(self) -> int:
        """Events lost because the pending queue was full."""
        return self._dropped

    def start_session(
        self,
        athlete: str = "",
        source: str = "",
        model: str = "",
        fps: float | None = None,
        started_at: datetime | None = None,
    ) -> None:
        if self._session_open:
            self.end_session()
        self._session_open = True
        self._last_t = 0.0
        self._n_samples = 0
        self._next_sample_t = -np.inf
        row = {
            "started_at": utc_text(started_at or datetime.now(UTC)),
            "athlete": athlete.strip(),
            "source": source,
            "model": model,
            "fps": fps,
        }
        self._session_row = row
        self._submit("session", row)

    @property
    def spool_path(self) -> Path:
        """Where events the database cannot take are kept until it can."""
        return spool_path(self.path)

    @property
    def session_id(self) -> int | None:
        """The database id of the current session, once its row is written."""
        return self._session_id

    def record(self, event: Event) -> None:
        """Store one judge event. "fault" events are not stored: each fault is stored with
        its rep, and a rep cut off by a crash is not a rep."""
        self._require_session()
        self._last_t = max(self._last_t, event.t)
        data = event.data
        if event.type == "rep":
            missing = [k for k in REP_FIELDS if k not in data]
            if missing:
                raise ValueError(f"rep event lacks {', '.join(missing)}")
            self._submit("rep", (dict(data), self._take_samples()))
        elif event.type == "set":
            self._submit("set", (int(data["set"]), data.get("leg"), event.t))
        elif event.type == "status":
            self._submit("status", (event.t, str(data["status"])))

    def sample(
        self, t: float, hip_left: float, hip_right: float, knee_left: float, knee_right: float
    ) -> None:
        """Offer one frame's angles (NaN when unknown); kept at `sample_hz`, written with the
        next rep. Cheap enough to call every frame: no allocation."""
        if t < self._next_sample_t - 1e-3:  # a millisecond of slack for frame-time jitter
            return
        self._next_sample_t += self._period
        if self._next_sample_t < t - self._period:  # the first sample, or after a gap
            self._next_sample_t = t + self._period
        row = self._samples[self._n_samples]
        row[0], row[1], row[2], row[3], row[4] = t, hip_left, hip_right, knee_left, knee_right
        self._n_samples += 1
        if self._n_samples == len(self._samples):
            self._submit("series", self._take_samples())

    def record_series(self, t: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> None:
        """Store a whole angle series at once (imports): t (n,), hip and knee (n, 2) as
        [left, right] columns, decimated to `sample_hz`."""
        self._require_session()
        t = np.asarray(t, dtype=np.float64)
        keep = _decimate(t, self._period)
        data = np.column_stack([t[keep], np.asarray(hip)[keep], np.asarray(knee)[keep]])
        for start in range(0, len(data), len(self._samples)):
            self._submit("series", data[start : start + len(self._samples)].astype(np.float32))

    def end_session(self, duration_s: float | None = None) -> None:
        if not self._session_open:
            return
        duration = self._last_t if duration_s is None else float(duration_s)
        self._submit("end", (utc_text(datetime.now(UTC)), duration, self._take_samples()))
        self._session_open = False

    def poll(self) -> None:
        """Retry pending writes if the retry delay has passed. Costs nothing when nothing is
        pending; call it every second or so, so a backlog is written even between reps."""
        if self._pending:
            self._drain()

    def flush(self) -> bool:
        """Try to write pending events now, whatever the retry delay; True when none remain."""
        self._next_retry = 0.0
        self._drain()
        return not self._pending

    def close(self) -> None:
        """Write what is pending; what cannot be written stays in the spool, and
        `spooled_reps` says how many reps that is (the caller exits non-zero on it)."""
        if not self.readonly:
            self.end_session()
            self.flush()
            self._close_spool()
            if self._conn is not None and not self._pending:
                # Leave a plain rollback-journal file behind: a WAL database can only be
                # opened read-only where its -shm file can be made, and a coach in the
                # hipflex group cannot create files in the state directory. The next run
                # switches back to WAL. Another reader still attached keeps it WAL: fine.
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA journal_mode = DELETE")
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_session(self) -> None:
        if self.readonly:
            raise RuntimeError("history opened read-only")
        if not self._session_open:
            raise RuntimeError("start_session() first")

    def _take_samples(self) -> np.ndarray | None:
        if self._n_samples == 0:
            return None
        chunk = self._samples[: self._n_samples].copy()
        self._n_samples = 0
        return chunk

    def _submit(self, kind: str, payload: Any) -> None:
        if len(self._pending) >= self._max_pending:
            if kind != "rep":
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 1000 == 0:
                    log.warning("history: pending queue full, %d events dropped", self._dropped)
                return
            # A rep is never dropped: its spool record is what keeps it; make room in memory
            # by forgetting the oldest op the spool already holds.
            spooled = next((op for op in self._pending if op.spooled), None)
            if spooled is not None:
                self._pending.remove(spooled)
        self._pending.append(Op(kind, payload, self._session_row))
        self._drain()
        if self._pending:
            self._spool_pending()

    def _drain(self) -> None:
        if self._failing and self._clock() < self._next_retry:
            return
        while self._pending:
            op = self._pending[0]
            kind, payload = op.kind, op.payload
            # Ids learnt inside a transaction that rolls back must be forgotten with it.
            saved = (self._session_id, dict(self._set_ids), self._open_status)
            try:
                conn = self._writable()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._apply_op(conn, kind, payload)
                    conn.execute("COMMIT")
                except BaseException:
                    self._session_id, self._set_ids, self._open_status = saved
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
                raise
            except (sqlite3.DatabaseError, OSError, HipflexError) as exc:
                # HipflexError: the file, reopened, is no longer one we can use (replaced or
                # damaged under us). Its events wait in memory and the spool like any other.
                self._write_failed(exc)
                return
            self._pending.popleft()
        if self._failing:
            self._failing = False
            log.warning("history: writes to %s resumed", self.path)
            # Hand the outage's WAL growth back to the disk while there is room to do it.
            with contextlib.suppress(sqlite3.Error):
                self._writable().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._replay_if_spooled()

    def _writable(self) -> sqlite3.Connection:
        """The connection, reopened after an error other than a full disk (an I/O error
        can leave it unusable; a full disk does not)."""
        if self._conn is None:
            self._conn = connect(self.path)
            migrate(self._conn)
        return self._conn

    def _write_failed(self, exc: Exception) -> None:
        if not self._failing:
            log.warning(
                "history: cannot write to %s (%s); keeping events in memory and retrying",
                self.path,
                exc,
            )
        self._failing = True
        self._next_retry = self._clock() + self._retry_s
        if self._conn is None:
            return
        if getattr(exc, "sqlite_errorname", "") != "SQLITE_FULL":
            self._conn.close()
            self._conn = None
            return
        # The WAL holds many copies of the same few pages: moving them into the database and
        # truncating it gives a full disk room back (a checkpoint that fails changes nothing).
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ------------------------------------------------------ import and retention

    def import_analysis(
        self,
        analysis: Mapping[str, Any],
        *,
        athlete: str = "",
        started_at: datetime | None = None,
        series: Mapping[str, np.ndarray] | None = None,
    ) -> int | None:
        """Store a whole `hipflex analyze --json` result as one session, through the same
        event path as the live loop. `series` optionally holds the angle arrays "t",
        "hip_flexion" and "knee_flexion" ((n, 2), [left, right]). Returns the session id."""
        self.start_session(
            athlete, analysis["source"], analysis["model"], analysis["fps"], started_at
        )
        if series is not None:
            self.record_series(series["t"], series["hip_flexion"], series["knee_flexion"])
        for event in analysis_events(analysis):
            self.record(event)
        self.end_session(analysis["duration_s"])
        return None if self._pending else self._session_id

    def forget_before(self, cutoff: datetime) -> int:
        """Delete every session that started before `cutoff`, with its sets, reps, faults,
        status periods and angle series (storage.history_max_age_days). Returns how many.
        A failure is logged, never raised: retention must not stop the box starting."""
        try:
            conn = self._writable()
            conn.execute("BEGIN IMMEDIATE")
            try:
                n = conn.execute(
                    "DELETE FROM sessions WHERE started_at < ?", (utc_text(cutoff),)
                ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except (sqlite3.DatabaseError, OSError) as exc:
            log.warning("history: could not delete old sessions from %s: %s", self.path, exc)
            return 0
        if n:
            log.info("history: deleted %d sessions that started before %s", n, utc_text(cutoff))
        return n


def _decimate(t: np.ndarray, period: float) -> np.ndarray:
    """Indices keeping about one sample per `period` seconds."""
    if len(t) == 0:
        return np.zeros(0, dtype=np.intp)
    bins = np.floor((t - t[0]) / period).astype(np.int64)
    return np.flatnonzero(np.r_[True, np.diff(bins) > 0])
