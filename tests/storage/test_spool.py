"""The history spool on its own and through History: records survive torn writes, replay
is idempotent, and a full disk (a real tmpfs) still takes records in the reserved space."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import fill

from edge.events import Event
from edge.history import History
from edge.spool import Spool, encode_op, spool_path


def rep(i: int, t: float) -> Event:
    data = {
        "index": i, "leg": "left", "set": 1, "start_s": t, "peak_s": t + 1, "end_s": t + 2,
        "peak_hip_flexion_deg": 90.0, "knee_flexion_at_peak_deg": None,
        "pelvis_tilt_deg": 3.0, "lift_s": 1.0, "faults": ["lumbar_rounding"] if i % 2 else [],
    }  # fmt: skip
    return Event(t + 2, "rep", data)


def test_records_stop_at_the_zeros_and_skip_a_torn_tail(tmp_path):
    spool = Spool(tmp_path / "s")
    assert spool.reserve(4096) == 4096
    assert spool.append({"a": 1}) and spool.append({"b": "x\ny\0"})
    used = spool.used
    os.pwrite(os.open(spool.path, os.O_WRONLY), b'{"torn": ', used)  # a cut-off write
    again = Spool(spool.path)
    assert again.records() == [{"a": 1}, {"b": "x\ny\0"}]
    assert again.used == used  # the next record overwrites the torn bytes
    assert again.append({"c": 3})
    assert Spool(spool.path).records() == [{"a": 1}, {"b": "x\ny\0"}, {"c": 3}]
    again.clear()
    assert Spool(spool.path).records() == [] and os.path.getsize(spool.path) == 4096


def test_a_damaged_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(b'{"a": 1}\nnot json\n{"b": 2}\n' + b"\0" * 100)
    assert Spool(path).records() == [{"a": 1}, {"b": 2}]


def test_a_symlink_or_directory_is_refused(tmp_path):
    from edge.errors import HipflexError

    (tmp_path / "target").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(HipflexError, match="cannot open the history spool"):
        Spool(tmp_path / "link")
    assert (tmp_path / "target").read_text() == "keep"
    (tmp_path / "dir").mkdir()
    with pytest.raises(HipflexError):
        Spool(tmp_path / "dir")


def test_reps_in_a_spool_left_by_a_kill_are_stored_once_even_if_replayed_twice(tmp_path):
    db = tmp_path / "h.db"
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    h = History(db)
    h.start_session("Ada", "clip", "keypoints", 30.0, started_at=started)
    h.record(Event(0.5, "status", {"status": "not_lying"}))
    h.record(rep(1, 1.0))  # stored before the "kill"; the spool holds it too
    row = h._session_row
    h._conn.close()  # type: ignore[union-attr]  # the kill: the session is never ended
    h._spool.close()  # type: ignore[union-attr]
    spool = Spool(spool_path(db))
    ops = [("session", row), ("status", (0.5, "not_lying"))]
    ops += [("rep", (rep(i, 3.0 * i - 2).data, None)) for i in (1, 2, 3)]
    ops += [("status", (7.0, "ok")), ("end", ("2026-01-02T03:05:00Z", 9.0, None))]
    for _ in range(2):  # the same ops spooled twice over: a replay must not double them
        for kind, payload in ops:
            assert spool.append(encode_op(kind, payload, row))
    spool.close()
    with History(db):
        pass
    with History(db, readonly=True) as h:
        (session,) = h.sessions(last=None)
    assert [r["index"] for r in session["reps"]] == [1, 2, 3]
    assert session["status"] == [{"start_s": 0.5, "end_s": 7.0, "status": "not_lying"}]
    assert session["duration_s"] == 9.0
    assert Spool(spool_path(db)).records() == []


def test_on_a_full_disk_reps_go_to_the_reserved_spool_and_back_when_there_is_room(tiny_fs):
    db, filler = tiny_fs / "h.db", tiny_fs / "filler"
    h = History(db, retry_s=3600.0)  # no retry before flush(): the outage lasts
    h.start_session("Ada", "clip", "keypoints", 30.0)
    h.record(rep(1, 0.0))
    fill(filler)
    i = 1
    while h.pending == 0:  # the WAL's own free pages take a few first
        i += 1
        h.record(rep(i, 3.0 * i))
        assert i < 500, "the disk never filled"
    first = i
    for i in range(first + 1, first + 11):
        h.record(rep(i, 3.0 * i))
    # Whatever the database has not taken is in the spool (private state, read on purpose).
    waiting = {op.payload[0]["index"] for op in h._pending if op.kind == "rep"}
    spooled = {
        r["data"]["rep"]["index"] for r in Spool(spool_path(db)).records() if r["kind"] == "rep"
    }
    assert waiting and waiting <= spooled
    filler.unlink()
    assert h.flush()
    h.close()
    assert h.spooled_reps == 0
    with History(db, readonly=True) as h2:
        (session,) = h2.sessions()
    assert [r["index"] for r in session["reps"]] == list(range(1, i + 1))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_newer_schema_is_refused_before_anything_is_written(tmp_path):
    from edge.errors import HipflexError
    from edge.history import SCHEMA_VERSION

    db = tmp_path / "h.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(HipflexError, match="newer than this hipflex"):
        History(db)
    assert db.read_bytes() == before
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["h.db"]  # no WAL, no spool


def test_a_database_replaced_under_a_running_box_costs_no_rep(tmp_path):
    """An I/O error closes the connection; the file it reopens is no longer a database (a
    restore gone wrong). The rep waits in the spool until the right file is back."""
    db = tmp_path / "h.db"
    h = History(db, retry_s=3600.0)
    h.start_session("Ada", "clip", "keypoints", 30.0)
    h.record(rep(1, 0.0))
    h._conn.close()  # type: ignore[union-attr]  # what _write_failed does after an I/O error
    h._conn = None
    db.rename(tmp_path / "saved.db")
    db.write_text("not a database\n")
    h.record(rep(2, 3.0))
    assert h.pending and [r["kind"] for r in Spool(spool_path(db)).records()][-1] == "rep"
    (tmp_path / "saved.db").replace(db)
    assert h.flush()
    h.close()
    with History(db, readonly=True) as reader:
        (session,) = reader.sessions()
    assert [r["index"] for r in session["reps"]] == [1, 2]


def test_reps_that_neither_the_database_nor_a_spool_without_room_took_are_counted(tiny_fs):
    """The one way left to lose a rep (a disk already full when the box starts, before the
    spool could reserve anything) is not silent: close() counts them and the run exits 1."""
    db, filler = tiny_fs / "h.db", tiny_fs / "filler"
    with History(db) as h:
        h.start_session("Ada", "clip", "keypoints", 30.0)
    spool_path(db).unlink()
    fill(filler)
    h = History(db, retry_s=3600.0)
    assert h._spool is not None and h._spool.size == 0
    h.start_session("Ada", "clip2", "keypoints", 30.0)
    for i in range(1, 4):
        h.record(rep(i, 3.0 * i))
    h.close()
    assert h.lost_reps == 3 and h.spooled_reps == 0
