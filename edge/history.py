"""Session history: every rep, set, fault and status period, in SQLite on the box.

Crash safety. Each event is its own transaction, committed before `record` returns, in WAL
mode with `synchronous=FULL`: the WAL is fsynced at every commit, so a rep whose event was
recorded survives a kill *and* a power cut. (`synchronous=NORMAL` would keep the file
consistent but could lose the last commits on power loss, which is the failure a gym box
actually sees.) The cost is one fsync per rep, set or status change: a few per minute.

Write failures (full SD card, I/O errors) never reach the caller's loop: the event stays in a
bounded in-memory queue, a warning is logged once per outage, and the queue is written in
order when a later write succeeds. Events are applied strictly in order, so database ids
(session, set, open status period) are resolved at write time, not at call time.

The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[i]` takes a database from
version i to i + 1, each step in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.dbfile import check_contents, check_db_file, disk_full, reading
from edge.errors import HipflexError
from edge.events import Event
from edge.history_spool import Op, SpoolWriter
from edge.spool import Spool, spool_path

log = logging.getLogger(__name__)

DEFAULT_DB = Path("/var/lib/hipflex/hipflex.db")
LEGS = ("left", "right")
REP_FIELDS = (
    "index",
    "leg",
    "set",
    "start_s",
    "peak_s",
    "end_s",
    "peak_hip_flexion_deg",
    "knee_flexion_at_peak_deg",
    "pelvis_tilt_deg",
    "lift_s",
    "faults",
)
# Columns of one angle-series sample, stored as little-endian float32 rows.
SERIES_COLUMNS = ("t", "hip_left", "hip_right", "knee_left", "knee_right")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: sessions, sets, reps, faults, status periods.
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            athlete TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            fps REAL)""",
        "CREATE INDEX sessions_by_athlete ON sessions (athlete, started_at)",
        """CREATE TABLE sets (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            leg TEXT CHECK (leg IN ('left', 'right')),
            started_s REAL,
            ended_s REAL,
            UNIQUE (session_id, number))""",
        """CREATE TABLE reps (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            set_id INTEGER NOT NULL REFERENCES sets (id) ON DELETE CASCADE,
            rep_index INTEGER NOT NULL,
            leg TEXT NOT NULL CHECK (leg IN ('left', 'right')),
            start_s REAL NOT NULL,
            peak_s REAL NOT NULL,
            end_s REAL NOT NULL,
            peak_hip_flexion_deg REAL NOT NULL,
            knee_flexion_at_peak_deg REAL NOT NULL,
            pelvis_tilt_deg REAL NOT NULL,
            lift_s REAL NOT NULL)""",
        "CREATE INDEX reps_by_session ON reps (session_id, start_s)",
        """CREATE TABLE faults (
            rep_id INTEGER NOT NULL REFERENCES reps (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            PRIMARY KEY (rep_id, name)) WITHOUT ROWID""",
        """CREATE TABLE status_periods (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            start_s REAL NOT NULL,
            end_s REAL,
            status TEXT NOT NULL)""",
        "CREATE INDEX status_by_session ON status_periods (session_id, start_s)",
    ),
    # v2: session duration, and the decimated angle series the report plots.
    (
        "ALTER TABLE sessions ADD COLUMN duration_s REAL",
        """CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            t0_s REAL NOT NULL,
            samples INTEGER NOT NULL,
            data BLOB NOT NULL)""",
        "CREATE INDEX series_by_session ON series (session_id, t0_s)",
    ),
    # v3: the knee angle and pelvis tilt of a rep may be unknown (null): the judge reports
    # None when the ankle or the resting baseline was not seen. SQLite cannot relax a
    # NOT NULL in place, so the table is rebuilt (migrate() turns foreign keys off for it).
    (
        """CREATE TABLE reps_v3 (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            set_id INTEGER NOT NULL REFERENCES sets (id) ON DELETE CASCADE,
            rep_index INTEGER NOT NULL,
            leg TEXT NOT NULL CHECK (leg IN ('left', 'right')),
            start_s REAL NOT NULL,
            peak_s REAL NOT NULL,
            end_s REAL NOT NULL,
            peak_hip_flexion_deg REAL NOT NULL,
            knee_flexion_at_peak_deg REAL,
            pelvis_tilt_deg REAL,
            lift_s REAL NOT NULL)""",
        "INSERT INTO reps_v3 SELECT * FROM reps",
        "DROP TABLE reps",
        "ALTER TABLE reps_v3 RENAME TO reps",
        "CREATE INDEX reps_by_session ON reps (session_id, start_s)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
# The tables a database of each version has, for edge.dbfile.check_contents.
TABLES_V1 = frozenset({"sessions", "sets", "reps", "faults", "status_periods"})
TABLES = {1: TABLES_V1, 2: TABLES_V1 | {"series"}, 3: TABLES_V1 | {"series"}}


def default_db_path() -> Path:
    return Path(os.environ.get("HIPFLEX_DB") or DEFAULT_DB)


def utc_text(moment: datetime) -> str:
    """One sortable UTC text form for every timestamp in the database."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> int:
    """Apply the missing migration steps up to version `upto`; return the version reached."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HipflexError(
            f"history database is schema v{version}, newer than this hipflex "
            f"(v{SCHEMA_VERSION}); upgrade hipflex"
        )
    # Table rebuilds must not cascade deletes: foreign keys are off while steps run (the
    # pragma only takes effect outside a transaction) and checked before each commit.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for step in range(version, upto):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise HipflexError(f"history migration to v{step + 1} broke a reference")
                conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            version = step + 1
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return version


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the durability
    settings above. Read-only connections never create or migrate the file. The file is
    checked first (edge.dbfile), and the schema version before anything is written: a
    database from a newer hipflex is not even switched to WAL."""
    check_db_file(path, writable=not readonly, newest=SCHEMA_VERSION)
    if readonly:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=5.0
        )
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HipflexError(f"cannot create {path.parent}: {exc.strerror}") from None
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
    try:
        # Corrupt, or made by something else: refused before the first write (WAL included),
        # not found at the first rep.
        check_contents(conn, path, TABLES)
    except BaseException:
        conn.close()
        raise
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA journal_size_limit = 4194304")
        # Fold the WAL into the database every 16 pages (64 KiB; about every other rep), not
        # SQLite's 1,000: a WAL only shrinks after a checkpoint, and on a nearly full card the
        # room it holds is what the next reps need. A checkpoint here costs a millisecond.
        conn.execute("PRAGMA wal_autocheckpoint = 16")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


class History(SpoolWriter):
    """The history store. The live loop calls `start_session`, then `record` for each event
    and `sample` every frame, then `end_session`; reports and the CLI use the queries.

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

    def _apply_op(self, conn: sqlite3.Connection, kind: str, payload: Any) -> None:
        _APPLY[kind](self, conn, payload)

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

    def _apply_session(self, conn: sqlite3.Connection, row: dict) -> None:
        cur = conn.execute(
            "INSERT INTO sessions (started_at, athlete, source, model, fps) "
            "VALUES (:started_at, :athlete, :source, :model, :fps)",
            row,
        )
        self._session_id = cur.lastrowid
        self._set_ids = {}
        self._open_status = None

    def _set_id(self, conn: sqlite3.Connection, number: int, leg: str | None, t: float) -> int:
        if number not in self._set_ids:
            conn.execute(
                "INSERT OR IGNORE INTO sets (session_id, number, leg, started_s) VALUES (?,?,?,?)",
                (self._session_id, number, leg, t),
            )
            self._set_ids[number] = conn.execute(
                "SELECT id FROM sets WHERE session_id = ? AND number = ?",
                (self._session_id, number),
            ).fetchone()[0]
        return self._set_ids[number]

    def _apply_set(self, conn: sqlite3.Connection, payload: tuple) -> None:
        number, leg, t = payload
        set_id = self._set_id(conn, number, leg, t)
        conn.execute("UPDATE sets SET leg = coalesce(?, leg) WHERE id = ?", (leg, set_id))

    def _apply_rep(self, conn: sqlite3.Connection, payload: tuple) -> None:
        rep, samples = payload
        set_id = self._set_id(conn, int(rep["set"]), rep["leg"], float(rep["start_s"]))
        cur = conn.execute(
            "INSERT INTO reps (session_id, set_id, rep_index, leg, start_s, peak_s, end_s, "
            "peak_hip_flexion_deg, knee_flexion_at_peak_deg, pelvis_tilt_deg, lift_s) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                self._session_id,
                set_id,
                int(rep["index"]),
                rep["leg"],
                *(_real(rep[k]) for k in REP_FIELDS[3:10]),  # start_s .. lift_s
            ),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO faults (rep_id, name) VALUES (?, ?)",
            [(cur.lastrowid, str(name)) for name in rep["faults"]],
        )
        conn.execute(
            "UPDATE sets SET ended_s = max(coalesce(ended_s, ?), ?), "
            "leg = coalesce(leg, ?) WHERE id = ?",
            (rep["end_s"], rep["end_s"], rep["leg"], set_id),
        )
        self._apply_series(conn, samples)

    def _apply_status(self, conn: sqlite3.Connection, payload: tuple) -> None:
        t, status = payload
        if self._open_status is not None:
            if self._open_status[1] == status:
                return
            conn.execute(
                "UPDATE status_periods SET end_s = ? WHERE id = ?", (t, self._open_status[0])
            )
            self._open_status = None
        if status != "ok":
            cur = conn.execute(
                "INSERT INTO status_periods (session_id, start_s, status) VALUES (?,?,?)",
                (self._session_id, t, status),
            )
            self._open_status = (cur.lastrowid, status)

    def _apply_series(self, conn: sqlite3.Connection, samples: np.ndarray | None) -> None:
        if samples is None or len(samples) == 0:
            return
        conn.execute(
            "INSERT INTO series (session_id, t0_s, samples, data) VALUES (?,?,?,?)",
            (
                self._session_id,
                float(samples[0, 0]),
                len(samples),
                samples.astype("<f4", copy=False).tobytes(),
            ),
        )

    def _apply_end(self, conn: sqlite3.Connection, payload: tuple) -> None:
        ended_at, duration, samples = payload
        if self._open_status is not None:
            conn.execute(
                "UPDATE status_periods SET end_s = ? WHERE id = ?", (duration, self._open_status[0])
            )
            self._open_status = None
        conn.execute(
            "UPDATE sessions SET ended_at = ?, duration_s = ? WHERE id = ?",
            (ended_at, duration, self._session_id),
        )
        self._apply_series(conn, samples)

    # ------------------------------------------------------------------ import

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

    # ----------------------------------------------------------------- reading

    @reading
    def sessions(
        self,
        *,
        last: int | None = None,
        athlete: str | None = None,
        since: datetime | None = None,
        until_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Sessions oldest first, each as a superset of the `analyze --json` object."""
        where, params = [], []
        if athlete is not None:
            # names match whatever their case: "mia" finds Mia (Unicode case folding)
            self._read().create_function("casefold", 1, _casefold, deterministic=True)
            where.append("casefold(athlete) = ?")
            params.append(athlete.strip().casefold())
        if since is not None:
            where.append("started_at >= ?")
            params.append(utc_text(since))
        if until_id is not None:
            where.append("id <= ?")
            params.append(until_id)
        sql = "SELECT * FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC, id DESC"
        if last is not None:
            sql += " LIMIT ?"
            params.append(last)
        rows = self._read().execute(sql, params).fetchall()[::-1]
        return self._expand(rows)

    @reading
    def session(self, session_id: int) -> dict[str, Any]:
        rows = self._read().execute("SELECT * FROM sessions WHERE id = ?", (session_id,))
        found = self._expand(rows.fetchall())
        if not found:
            raise HipflexError(f"no session {session_id} in {self.path}")
        return found[0]

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

    @reading
    def latest_id(self) -> int | None:
        row = (
            self._read()
            .execute("SELECT id FROM sessions ORDER BY started_at DESC, id DESC LIMIT 1")
            .fetchone()
        )
        return None if row is None else row[0]

    @reading
    def series(self, session_id: int) -> np.ndarray:
        """The session's angle samples, (n, 5) float32 in SERIES_COLUMNS order, by time."""
        blobs = self._read().execute(
            "SELECT data FROM series WHERE session_id = ? ORDER BY t0_s, id", (session_id,)
        )
        parts = [
            np.frombuffer(row[0], dtype="<f4").reshape(-1, len(SERIES_COLUMNS)) for row in blobs
        ]
        if not parts:
            return np.empty((0, len(SERIES_COLUMNS)), dtype=np.float32)
        data = np.concatenate(parts)
        return data[np.argsort(data[:, 0], kind="stable")]

    def _read(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HipflexError(f"history database {self.path} is not available")
        return self._conn

    def _expand(self, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
        if not rows:
            return []
        conn = self._read()
        ids = [row["id"] for row in rows]
        marks = ",".join("?" * len(ids))
        by_id: dict[int, dict[str, Any]] = {}
        for row in rows:
            by_id[row["id"]] = {
                "id": row["id"],
                "started_at": row["started_at"],
                "ended_at": row["ended_at"],
                "athlete": row["athlete"],
                "source": row["source"],
                "model": row["model"],
                "fps": row["fps"],
                "duration_s": row["duration_s"],
                "sets": [],
                "status": [],
                "reps": [],
            }
        for s in conn.execute(
            f"SELECT * FROM sets WHERE session_id IN ({marks}) ORDER BY number", ids
        ):
            by_id[s["session_id"]]["sets"].append(
                {
                    "set": s["number"],
                    "leg": s["leg"],
                    "start_s": s["started_s"],
                    "end_s": s["ended_s"],
                }
            )
        for p in conn.execute(
            f"SELECT * FROM status_periods WHERE session_id IN ({marks}) ORDER BY start_s, id",
            ids,
        ):
            by_id[p["session_id"]]["status"].append(
                {"start_s": p["start_s"], "end_s": p["end_s"], "status": p["status"]}
            )
        faults: dict[int, list[str]] = {}
        for f in conn.execute(
            "SELECT f.rep_id, f.name FROM faults f JOIN reps r ON r.id = f.rep_id "
            f"WHERE r.session_id IN ({marks}) ORDER BY f.name",
            ids,
        ):
            faults.setdefault(f["rep_id"], []).append(f["name"])
        for r in conn.execute(
            "SELECT r.*, s.number AS set_number FROM reps r JOIN sets s ON s.id = r.set_id "
            f"WHERE r.session_id IN ({marks}) ORDER BY r.start_s, r.id",
            ids,
        ):
            by_id[r["session_id"]]["reps"].append(
                {
                    "index": r["rep_index"],
                    "leg": r["leg"],
                    "set": r["set_number"],
                    "start_s": r["start_s"],
                    "peak_s": r["peak_s"],
                    "end_s": r["end_s"],
                    "peak_hip_flexion_deg": r["peak_hip_flexion_deg"],
                    "knee_flexion_at_peak_deg": r["knee_flexion_at_peak_deg"],
                    "pelvis_tilt_deg": r["pelvis_tilt_deg"],
                    "lift_s": r["lift_s"],
                    "faults": faults.get(r["id"], []),
                }
            )
        out = []
        for session_id in ids:
            session = by_id[session_id]
            session["summary"] = summarize(session["reps"])
            out.append(session)
        return out


_APPLY: dict[str, Callable[[History, sqlite3.Connection, Any], None]] = {
    "session": History._apply_session,
    "set": History._apply_set,
    "rep": History._apply_rep,
    "status": History._apply_status,
    "series": History._apply_series,
    "end": History._apply_end,
}


def summarize(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `summary` object of the analyze schema, computed from reps."""
    reps = list(reps)
    counts: dict[str, int] = {}
    for rep in reps:
        for name in rep["faults"]:
            counts[name] = counts.get(name, 0) + 1
    return {
        "reps": len(reps),
        "good_reps": sum(1 for rep in reps if not rep["faults"]),
        "by_leg": {leg: sum(1 for rep in reps if rep["leg"] == leg) for leg in LEGS},
        "faults": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def analysis_events(analysis: Mapping[str, Any]) -> list[Event]:
    """The events a live run would have emitted for an `analyze` result, in time order:
    a "set" event when each set starts, a "rep" event when each rep ends, and a "status"
    event at each status change."""
    events: list[Event] = []
    seen_sets: set[int] = set()
    for rep in analysis["reps"]:
        if rep["set"] not in seen_sets:
            seen_sets.add(rep["set"])
            events.append(Event(rep["start_s"], "set", {"set": rep["set"], "leg": rep["leg"]}))
        events.append(Event(rep["end_s"], "rep", dict(rep)))
    periods = sorted(analysis["status"], key=lambda p: p["start_s"])
    for i, period in enumerate(periods):
        events.append(Event(period["start_s"], "status", {"status": period["status"]}))
        following = periods[i + 1]["start_s"] if i + 1 < len(periods) else None
        if following is None or following > period["end_s"]:
            events.append(Event(period["end_s"], "status", {"status": "ok"}))
    order = {"status": 0, "set": 1, "rep": 2}
    return sorted(events, key=lambda e: (e.t, order[e.type]))


def _decimate(t: np.ndarray, period: float) -> np.ndarray:
    """Indices keeping about one sample per `period` seconds."""
    if len(t) == 0:
        return np.zeros(0, dtype=np.intp)
    bins = np.floor((t - t[0]) / period).astype(np.int64)
    return np.flatnonzero(np.r_[True, np.diff(bins) > 0])


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def _real(value: Any) -> float | None:
    return None if value is None else float(value)
