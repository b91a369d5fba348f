"""History's spool side: what the database cannot take goes to the spool (edge.spool)
before the caller goes on, and back into the database when it can, in this run or the next.

A mixin of edge.history.History, kept apart so the store's queueing and its full-disk
handling can each be read on their own. Replayed ops go through the same row writer
(edge.history.rows) as live ones.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.errors import HipflexError
from edge.history.rows import RowWriter
from edge.history.schema import SERIES_COLUMNS
from edge.spool import MIN_RESERVE, Spool, decode_op, encode_op, reserve_size, spool_path

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger("edge.history")  # one logger for the whole store, as in the journal


@dataclass
class Op:
    """One write waiting for the database, with the session it belongs to (by row, for the
    spool) and whether the spool holds it yet."""

    kind: str
    payload: Any
    session: dict[str, Any]
    spooled: bool = False


class SpoolWriter(RowWriter):
    """The spool methods of History; the attributes below are History's."""

    path: Path
    _conn: sqlite3.Connection | None
    _spool: Spool | None
    _pending: deque[Op]
    spooled_reps: int
    lost_reps: int
    _spool_full: bool

    def _writable(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _write_failed(self, exc: Exception) -> None:
        raise NotImplementedError

    def _open_spool(self) -> None:
        """Replay what an earlier run left in the spool, then reserve its space for this
        run while the disk still has room."""
        self._spool = Spool(spool_path(self.path))
        # A run that ended on a full disk leaves a WAL it could not checkpoint: fold it into
        # the database first, which gives the disk back the room of its stale page copies.
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if self._spool.used:
            try:
                self._replay_spool()
            except (sqlite3.DatabaseError, OSError) as exc:  # the disk is still full
                log.warning("history: cannot replay the spool %s into %s yet (%s); retrying "
                            "while running", self._spool.path, self.path, exc)  # fmt: skip
        size = self._spool.reserve(reserve_size(self.path.parent))
        if size < MIN_RESERVE:
            log.warning(
                "history: only %d bytes free for the spool %s; a full disk may lose reps",
                size,
                self._spool.path,
            )

    def _spool_pending(self) -> None:
        """Put every pending op not yet in the spool there. Done before `record` returns, so
        a rep the loop goes on to report survives a kill even on a full disk."""
        if self._spool is None:
            return
        for op in self._pending:
            if op.spooled:
                continue
            record = encode_op(op.kind, op.payload, op.session)
            if not self._spool.append(record):
                if op.kind == "series":
                    continue  # an angle series is not worth a rep's room
                slim = encode_op(op.kind, op.payload, op.session, with_samples=False)
                if not self._spool.append(slim):
                    if not self._spool_full:
                        log.error("history: the spool %s is full; events are kept in memory "
                                  "only", self._spool.path)  # fmt: skip
                    self._spool_full = True
                    return
            op.spooled = True

    def _replay_spool(self) -> None:
        """Write every spooled op to the database in one transaction, then empty the spool.
        Idempotent (a rep already stored is not stored twice), since the spool may hold ops
        that were written before a kill. On a failure the spool is kept for a later try."""
        assert self._spool is not None
        records = self._spool.records()
        saved = (self._session_id, dict(self._set_ids), self._open_status)
        conn = self._writable()
        reps = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            current: dict[str, Any] | None = None
            for record in records:
                kind, payload, row = decode_op(record, len(SERIES_COLUMNS))
                if row != current:
                    current = row
                    self._enter_session(conn, row)
                if not self._stored(conn, kind, payload):
                    self._apply_op(conn, kind, payload)
                    reps += kind == "rep"
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._session_id, self._set_ids, self._open_status = saved
        self._spool.clear()
        if reps:
            log.warning("history: %d reps from the spool %s written to %s",
                        reps, self._spool.path, self.path)  # fmt: skip

    def _enter_session(self, conn: sqlite3.Connection, row: dict[str, Any]) -> None:
        """Point the writer at the session `row` names, inserting it if it is not there."""
        found = conn.execute(
            "SELECT id FROM sessions WHERE started_at = :started_at AND athlete = :athlete "
            "AND source = :source AND model = :model AND fps IS :fps ORDER BY id DESC LIMIT 1",
            row,
        ).fetchone()
        if found is None:
            self._apply_session(conn, row)
            return
        self._session_id, self._set_ids = found[0], {}
        open_period = conn.execute(
            "SELECT id, status FROM status_periods WHERE session_id = ? AND end_s IS NULL "
            "ORDER BY start_s DESC, id DESC LIMIT 1",
            (self._session_id,),
        ).fetchone()
        self._open_status = None if open_period is None else (open_period[0], open_period[1])

    def _stored(self, conn: sqlite3.Connection, kind: str, payload: Any) -> bool:
        """Whether a replayed op is already in the database."""
        sid = self._session_id
        if kind == "session":
            return True  # _enter_session found or made it
        if kind == "rep":
            rep = payload[0]
            return conn.execute(
                "SELECT 1 FROM reps r JOIN sets s ON s.id = r.set_id WHERE r.session_id = ? "
                "AND s.number = ? AND r.rep_index = ? AND r.leg = ? AND r.start_s = ?",
                (sid, int(rep["set"]), int(rep["index"]), rep["leg"], float(rep["start_s"])),
            ).fetchone() is not None  # fmt: skip
        if kind == "series":
            return payload is None or conn.execute(
                "SELECT 1 FROM series WHERE session_id = ? AND t0_s = ? AND samples = ?",
                (sid, float(payload[0, 0]), len(payload)),
            ).fetchone() is not None  # fmt: skip
        if kind == "status":
            return conn.execute(
                "SELECT 1 FROM status_periods WHERE session_id = ? AND "
                "(start_s > ? OR end_s >= ? OR (start_s = ? AND status = ?))",
                (sid, payload[0], payload[0], payload[0], payload[1]),
            ).fetchone() is not None  # fmt: skip
        return False  # "set" and "end" are idempotent updates

    def _replay_if_spooled(self) -> None:
        """Once the queue has drained, what the spool holds goes to the database too."""
        if self._spool is not None and self._spool.used:
            try:
                self._replay_spool()
            except (sqlite3.DatabaseError, OSError, HipflexError) as exc:
                self._write_failed(exc)
            else:
                self._spool_full = False

    def _close_spool(self) -> None:
        """At close, after the last flush: spool what is still pending, and count the reps
        the spool holds for the next start (`spooled_reps`; the loop exits 75 on it)."""
        if self._pending:
            self._spool_pending()
            lost = sum(1 for op in self._pending if op.kind == "rep" and not op.spooled)
            if lost:
                log.error("history: %d reps could be written neither to %s nor to its spool "
                          "and are lost", lost, self.path)  # fmt: skip
            self.lost_reps = lost
        if self._spool is not None:
            self.spooled_reps = sum(1 for rec in self._spool.records() if rec.get("kind") == "rep")
            self._spool.close()
            self._spool = None
