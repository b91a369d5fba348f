"""The history read back: sessions as `hipflex history --json` prints them (the analyze
schema's session with its sets, status periods, reps and summary), and their angle series.

Everything that shows what the box remembers reads through here: `hipflex history`,
`export` and `report`, and the fleet publisher. So a session has one shape whichever
command shows it, and on the wire.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.analysis import summarize
from edge.dbfile import reading
from edge.errors import HipflexError
from edge.history.schema import SERIES_COLUMNS, utc_text


class HistoryReader:
    """The query methods of History; the attributes below are History's."""

    path: Path
    _conn: sqlite3.Connection | None

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


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()
