"""What each write does to the tables: a new session, a set, a rep with its faults, a
status change, a block of angle samples, the session's end.

Kept apart from the queueing around it (edge.history.writer) because two paths apply the
same writes: the live queue, and the replay of a spool left by a full disk
(edge.history.spool). Both must turn an event into exactly the same rows, so there is one
place that does.

The writer's position in the database (the current session's id, its sets' ids, the open
status period) lives here too: it is only valid for the writes already applied, which is
why ids are resolved when a write is applied, not when the event is recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np

from edge.history.schema import REP_FIELDS


class RowWriter:
    """The apply methods of History, one per kind of queued write."""

    _session_id: int | None
    _set_ids: dict[int, int]
    _open_status: tuple[int, str] | None  # (row id, status)

    def _apply_op(self, conn: sqlite3.Connection, kind: str, payload: Any) -> None:
        _APPLY[kind](self, conn, payload)

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


_APPLY: dict[str, Callable[[RowWriter, sqlite3.Connection, Any], None]] = {
    "session": RowWriter._apply_session,
    "set": RowWriter._apply_set,
    "rep": RowWriter._apply_rep,
    "status": RowWriter._apply_status,
    "series": RowWriter._apply_series,
    "end": RowWriter._apply_end,
}


def _real(value: Any) -> float | None:
    return None if value is None else float(value)
