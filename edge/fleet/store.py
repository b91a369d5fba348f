"""The fleet database: a box's history schema plus the box each session came from.

Same tables as edge.history (it is migrated by the same code), so `hipflex history`,
`export` and `report --db FLEET` read it unchanged. Added on top, and ignored by those
readers: `sessions.box` and `sessions.box_session` (the box's own session key, unique per
box, which is what makes storing idempotent) and a `boxes` table for `hipflex fleet status`.

A session message replaces the stored copy of that session in one transaction: delivered
twice, it is stored once; delivered out of order, the older copy (fewer reps, or not yet
ended) is ignored.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.errors import HipflexError
from edge.history import REP_FIELDS, connect, migrate, utc_text

DEFAULT_FLEET_DB = Path("/var/lib/hipflex/fleet.db")

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


def open_fleet_db(path: Path) -> sqlite3.Connection:
    """The fleet database, created or brought up to date; one line on failure."""
    try:
        conn = connect(Path(path))
        migrate(conn)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if "box" not in columns:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _EXTRA:
                conn.execute(statement)
            conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise HipflexError(f"cannot open fleet database {path}: {exc}") from None
    return conn


def store_session(conn: sqlite3.Connection, box: str, session: dict[str, Any]) -> bool:
    """Store one box's session (the `history --json` object); False when what is stored is
    already as new. Raises ValueError for a payload that is not a session."""
    key = f"{int(session['id'])}@{session['started_at']}"
    reps = session["reps"]
    for rep in reps:
        missing = [k for k in REP_FIELDS if k not in rep]
        if missing:
            raise ValueError(f"rep lacks {', '.join(missing)}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT id, ended_at, (SELECT count(*) FROM reps WHERE session_id = sessions.id) "
            "FROM sessions WHERE box = ? AND box_session = ?",
            (box, key),
        ).fetchone()
        if row is not None and (
            len(reps) < row[2] or (row[1] is not None and session["ended_at"] is None)
        ):
            conn.execute("ROLLBACK")
            return False
        values = (
            session["started_at"], session["ended_at"], session["athlete"] or "",
            session["source"] or "", session["model"] or "", session["fps"],
            session["duration_s"],
        )  # fmt: skip
        if row is None:
            session_id = conn.execute(
                "INSERT INTO sessions (started_at, ended_at, athlete, source, model, fps, "
                "duration_s, box, box_session) VALUES (?,?,?,?,?,?,?,?,?)",
                (*values, box, key),
            ).lastrowid
        else:
            session_id = row[0]
            conn.execute(
                "UPDATE sessions SET started_at = ?, ended_at = ?, athlete = ?, source = ?, "
                "model = ?, fps = ?, duration_s = ? WHERE id = ?",
                (*values, session_id),
            )
            for table in ("reps", "sets", "status_periods"):
                conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
        _insert_children(conn, session_id, session)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


def _insert_children(conn: sqlite3.Connection, session_id: int, session: dict[str, Any]) -> None:
    set_ids: dict[int, int] = {}

    def set_id(number: int, leg: str | None, start: float | None, end: float | None) -> int:
        if number not in set_ids:
            set_ids[number] = conn.execute(
                "INSERT INTO sets (session_id, number, leg, started_s, ended_s) VALUES (?,?,?,?,?)",
                (session_id, number, leg, start, end),
            ).lastrowid
        return set_ids[number]

    for s in session["sets"]:
        set_id(int(s["set"]), s["leg"], s["start_s"], s["end_s"])
    for rep in session["reps"]:
        rep_id = conn.execute(
            "INSERT INTO reps (session_id, set_id, rep_index, leg, start_s, peak_s, end_s, "
            "peak_hip_flexion_deg, knee_flexion_at_peak_deg, pelvis_tilt_deg, lift_s) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                session_id,
                set_id(int(rep["set"]), rep["leg"], rep["start_s"], rep["end_s"]),
                int(rep["index"]),
                rep["leg"],
                *(rep[k] for k in REP_FIELDS[3:10]),
            ),
        ).lastrowid
        conn.executemany(
            "INSERT OR IGNORE INTO faults (rep_id, name) VALUES (?, ?)",
            [(rep_id, str(name)) for name in rep["faults"]],
        )
    conn.executemany(
        "INSERT INTO status_periods (session_id, start_s, end_s, status) VALUES (?,?,?,?)",
        [(session_id, p["start_s"], p["end_s"], p["status"]) for p in session["status"]],
    )


def store_health(
    conn: sqlite3.Connection, box: str, health: dict[str, Any], retained: bool = False
) -> None:
    """Remember a box's latest health message. Its arrival is when the box was last seen,
    unless the broker replays it as retained: then the box's own time of sending counts."""
    now = utc_text(datetime.now(UTC))
    if retained:
        now = str(health.get("at") or "") or now
    state = str(health.get("state") or "unknown")
    conn.execute(
        "INSERT INTO boxes (box, last_seen, state, health) VALUES (?,?,?,?) "
        "ON CONFLICT (box) DO UPDATE SET last_seen = excluded.last_seen, "
        "state = excluded.state, health = excluded.health",
        (box, now, state, json.dumps(health)),
    )


def seen(conn: sqlite3.Connection, box: str, error: str | None = None) -> None:
    """Note that a box's session message arrived: `error` says why it could not be stored,
    None (stored) clears the last one. The box's own errors are in its health."""
    conn.execute(
        "INSERT INTO boxes (box, last_seen, error) VALUES (?,?,?) ON CONFLICT (box) DO UPDATE "
        "SET last_seen = excluded.last_seen, error = excluded.error",
        (box, utc_text(datetime.now(UTC)), error),
    )


def boxes(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every box the collector has heard from, with its session count, by name."""
    rows = conn.execute(
        "SELECT b.*, (SELECT count(*) FROM sessions s WHERE s.box = b.box) AS sessions "
        "FROM boxes b ORDER BY b.box"
    ).fetchall()
    out = []
    for row in rows:
        health = json.loads(row["health"] or "{}")
        out.append(
            {
                "box": row["box"],
                "last_seen": row["last_seen"],
                "state": row["state"],
                "error": row["error"],
                "sessions": row["sessions"],
                "health": health,
            }
        )
    return out
