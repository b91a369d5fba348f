"""The history database's shape: its tables, how an older file is brought up to date, and
how a connection is opened. The writer, the reader and the fleet collector's store all open
and migrate the file through here, so a database has one schema whoever made it.

The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[i]` takes a database from
version i to i + 1, each step in one transaction. A step, once released, is never edited:
a box may be on any version, and each step must do to it exactly what it did then.

Durability. Writable connections are in WAL mode with `synchronous=FULL`: the WAL is
fsynced at every commit, so a rep whose event was recorded survives a kill *and* a power
cut. (`synchronous=NORMAL` would keep the file consistent but could lose the last commits
on power loss, which is the failure a gym box actually sees.) The cost is one fsync per rep,
set or status change: a few per minute.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from edge.dbfile import check_contents, check_db_file
from edge.errors import HipflexError

DEFAULT_DB = Path("/var/lib/hipflex/hipflex.db")
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
