"""The fleet database: a box's history schema plus the box each session came from.

SQLite (a path): the same tables as edge.history, migrated by the same code, so `hipflex
history`, `export` and `report --db FLEET` read it unchanged. Added on top, and ignored by
those readers: `sessions.box` and `sessions.box_session` (the box's own session key, unique
per box, which is what makes storing idempotent) and a `boxes` table for `fleet status`.

PostgreSQL (a `postgresql://` URL, for a chain of gyms): the same tables and columns in
PostgreSQL's types (edge.fleet.pg), written by the same statements below.

A session message replaces the stored copy of that session in one transaction: delivered
twice, it is stored once; delivered out of order, the older copy (fewer reps, or not yet
ended) is ignored.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.errors import HipflexError
from edge.history import REP_FIELDS, connect, migrate, utc_text

DEFAULT_FLEET_DB = "/var/lib/hipflex/fleet.db"

_EXTRA = (
    "ALTER TABLE sessions ADD COLUMN box TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE sessions ADD COLUMN box_session TEXT",
    "CREATE UNIQUE INDEX sessions_by_box ON sessions (box, box_session)",
    """CREATE TABLE boxes (
        box TEXT PRIMARY KEY,
        last_seen TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'unknown',
        health TEXT NOT NULL DEFAULT '{}',
        error TEXT)""",
)


def is_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


class FleetStore:
    """One fleet database, SQLite or PostgreSQL. `transient` are the errors a retry may
    fix (disk full, server away); `bad_data` those a message causes (a CHECK it breaks)."""

    def __init__(self, conn: Any, *, postgres: bool = False):
        self.conn = conn
        self.postgres = postgres
        if postgres:
            import psycopg

            self.transient: tuple[type[Exception], ...] = (psycopg.OperationalError,)
            self.bad_data: tuple[type[Exception], ...] = (
                psycopg.IntegrityError,
                psycopg.DataError,
            )
        else:
            self.transient = (sqlite3.OperationalError, sqlite3.DatabaseError)
            self.bad_data = (sqlite3.IntegrityError,)

    def _run(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s") if self.postgres else sql, params)

    def _many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.cursor().executemany(sql.replace("?", "%s") if self.postgres else sql, rows)

    def close(self) -> None:
        self.conn.close()

    def store_session(self, box: str, session: dict[str, Any]) -> bool:
        """Store one box's session (the `history --json` object); False when what is stored
        is already as new. Raises ValueError/KeyError/TypeError for a payload that is not a
        session, and one of `bad_data` for values the schema refuses."""
        key = f"{int(session['id'])}@{session['started_at']}"
        reps = session["reps"]
        for rep in reps:
            missing = [k for k in REP_FIELDS if k not in rep]
            if missing:
                raise ValueError(f"rep lacks {', '.join(missing)}")
        self._run("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        try:
            row = self._run(
                "SELECT id, ended_at, (SELECT count(*) FROM reps WHERE session_id = sessions.id) "
                "FROM sessions WHERE box = ? AND box_session = ?",
                (box, key),
            ).fetchone()
            if row is not None and (
                len(reps) < row[2] or (row[1] is not None and session["ended_at"] is None)
            ):
                self._run("ROLLBACK")
                return False
            values = (
                session["started_at"], session["ended_at"], session["athlete"] or "",
                session["source"] or "", session["model"] or "", session["fps"],
                session["duration_s"],
            )  # fmt: skip
            if row is None:
                session_id = self._run(
                    "INSERT INTO sessions (started_at, ended_at, athlete, source, model, fps, "
                    "duration_s, box, box_session) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                    (*values, box, key),
                ).fetchone()[0]
            else:
                session_id = row[0]
                self._run(
                    "UPDATE sessions SET started_at = ?, ended_at = ?, athlete = ?, source = ?, "
                    "model = ?, fps = ?, duration_s = ? WHERE id = ?",
                    (*values, session_id),
                )
                for table in ("reps", "sets", "status_periods"):
                    self._run(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            self._insert_children(session_id, session)
            self._run("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                self._run("ROLLBACK")
            raise
        return True

    def _insert_children(self, session_id: int, session: dict[str, Any]) -> None:
        set_ids: dict[int, int] = {}

        def set_id(number: int, leg: str | None, start: float | None, end: float | None) -> int:
            if number not in set_ids:
                set_ids[number] = self._run(
                    "INSERT INTO sets (session_id, number, leg, started_s, ended_s) "
                    "VALUES (?,?,?,?,?) RETURNING id",
                    (session_id, number, leg, start, end),
                ).fetchone()[0]
            return set_ids[number]

        for s in session["sets"]:
            set_id(int(s["set"]), s["leg"], s["start_s"], s["end_s"])
        for rep in session["reps"]:
            rep_id = self._run(
                "INSERT INTO reps (session_id, set_id, rep_index, leg, start_s, peak_s, end_s, "
                "peak_hip_flexion_deg, knee_flexion_at_peak_deg, pelvis_tilt_deg, lift_s) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (
                    session_id,
                    set_id(int(rep["set"]), rep["leg"], rep["start_s"], rep["end_s"]),
                    int(rep["index"]),
                    rep["leg"],
                    *(rep[k] for k in REP_FIELDS[3:10]),
                ),
            ).fetchone()[0]
            self._many(
                "INSERT INTO faults (rep_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(rep_id, str(name)) for name in rep["faults"]],
            )
        self._many(
            "INSERT INTO status_periods (session_id, start_s, end_s, status) VALUES (?,?,?,?)",
            [(session_id, p["start_s"], p["end_s"], p["status"]) for p in session["status"]],
        )

    def store_health(self, box: str, health: dict[str, Any], retained: bool = False) -> None:
        """Remember a box's latest health message. Its arrival is when the box was last
        seen, unless the broker replays it as retained: then the box's own time counts."""
        now = utc_text(datetime.now(UTC))
        if retained:
            now = str(health.get("at") or "") or now
        state = str(health.get("state") or "unknown")
        self._run(
            "INSERT INTO boxes (box, last_seen, state, health) VALUES (?,?,?,?) "
            "ON CONFLICT (box) DO UPDATE SET last_seen = excluded.last_seen, "
            "state = excluded.state, health = excluded.health",
            (box, now, state, json.dumps(health)),
        )

    def seen(self, box: str, error: str | None = None) -> None:
        """Note that a box's session message arrived: `error` says why it could not be
        stored, None (stored) clears the last one. The box's own errors are in its health."""
        self._run(
            "INSERT INTO boxes (box, last_seen, error) VALUES (?,?,?) ON CONFLICT (box) "
            "DO UPDATE SET last_seen = excluded.last_seen, error = excluded.error",
            (box, utc_text(datetime.now(UTC)), error),
        )

    def boxes(self) -> list[dict[str, Any]]:
        """Every box the collector has heard from, with its session count, by name."""
        rows = self._run(
            "SELECT b.box, b.last_seen, b.state, b.error, b.health, "
            "(SELECT count(*) FROM sessions s WHERE s.box = b.box) FROM boxes b ORDER BY b.box"
        ).fetchall()
        keys = ("box", "last_seen", "state", "error")
        return [
            {**dict(zip(keys, row[:4], strict=True)), "sessions": row[5], "health": _obj(row[4])}
            for row in rows
        ]


def _obj(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def open_fleet_db(target: str | Path, readonly: bool = False) -> FleetStore:
    """The fleet database at a path (SQLite) or a postgresql:// URL, created or brought up
    to date unless `readonly`; one line on failure."""
    if is_url(target):
        from edge.fleet.pg import connect_pg

        return FleetStore(connect_pg(str(target), create=not readonly), postgres=True)
    path = Path(target)
    if readonly and not path.exists():
        raise HipflexError(f"no fleet database at {path} (pass --db; `fleet collect` makes it)")
    try:
        conn = connect(path, readonly=readonly)
        if not readonly:
            migrate(conn)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if "box" not in columns:
            if readonly:
                raise HipflexError(f"{path} is a box's history, not a fleet database")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _EXTRA:
                conn.execute(statement)
            conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise HipflexError(f"cannot open fleet database {path}: {exc}") from None
    return FleetStore(conn)
