"""`hipflex run` on a history database it cannot use: one line and exit 1, or, with
--hold-on-error (as the unit runs it), the solid amber light and a wait until SIGHUP finds
the file fixed. It never runs with history off."""

from __future__ import annotations

import signal
import time

import pytest
from test_run_config import amber
from test_run_signals import STOP_S, new_config, running_boxes, write_long_set

from edge.history import History


@pytest.fixture(scope="module")
def long_set(tmp_path_factory):
    return write_long_set(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def start_box(tmp_path):
    with running_boxes(tmp_path) as start:
        yield start


def test_a_database_that_is_not_sqlite_stops_the_run_with_one_line(tmp_path, long_set, start_box):
    db = tmp_path / "history.db"
    db.write_text("reps,written,by,hand\n")
    box = start_box(long_set, new_config(tmp_path))
    assert box.proc.wait(timeout=60) == 1
    lines = box.log().strip().splitlines()
    assert lines[-1] == f"hipflex: error: history database {db} is not a SQLite database"
    assert "Traceback" not in box.log() and box.reps() == []
    assert db.read_text() == "reps,written,by,hand\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("history")) == [
        "history.db"
    ]  # no WAL, no spool beside a file that is not ours


def test_hold_on_error_waits_with_amber_for_a_usable_database(tmp_path, long_set, start_box):
    db = tmp_path / "history.db"
    db.mkdir()  # a directory where the database should be
    box = start_box(long_set, new_config(tmp_path), "--hold-on-error", "--feedback", "timeline")
    box.wait_for("the hold", lambda: "history database unusable, not starting" in box.log())
    box.wait_for("the status light", lambda: amber(box)[-1:] == ["ON"])
    time.sleep(1.2)
    assert amber(box)[-1:] == ["ON"] and box.reps() == []
    assert f"history database {db} is a directory" in box.log()

    db.rmdir()  # fixed: SIGHUP retries, the run starts and stores its reps
    box.send(signal.SIGHUP)
    box.wait_for("the retry", lambda: "retrying the history database" in box.log())
    reps = box.wait_reps(1)
    code, seconds = box.terminate()
    assert code == 0 and seconds < STOP_S
    assert "Traceback" not in box.log()
    with History(db, readonly=True) as history:
        (session,) = history.sessions()
    assert len(session["reps"]) >= len(reps) >= 1
