"""A disk that stays full: reps go to the spool, the run says so and exits 75, and nothing is
lost, whether the run ends on the full disk, is killed on it, or is restarted with room.

A real `hipflex run` on a real 256 KiB tmpfs (needs root), filled after the first rep. Each
case ends with a run that has room again and checks that every rep the runs reported (their
events files) is in the database exactly once, and that the file passes integrity_check.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, fill
from synthetic import make_clip
from test_faults_disk import emitted_reps, wait_for_reps

from edge.history import REP_FIELDS, History
from edge.keypoints import save_keypoints
from edge.loop import EX_TEMPFAIL
from edge.spool import Spool, spool_path

pytestmark = pytest.mark.slow


def start(clip: Path, db: Path, events: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--feedback", "mock",
         "--no-live-view", "--db", str(db), "--events", str(events), *more],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip


def stored_reps(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with History(db, readonly=True) as history:
        return [
            {k: rep[k] for k in REP_FIELDS} | {"started_at": s["started_at"]}
            for s in history.sessions(last=None)
            for rep in s["reps"]
        ]


def key(rep: dict) -> tuple:
    return (rep["set"], rep["index"], rep["leg"], rep["start_s"])


def assert_all_stored(db: Path, *event_files: Path) -> None:
    """Every rep any run reported is in the database once; nothing else is."""
    reported = sorted(key(r) for f in event_files for r in emitted_reps(f))
    stored = sorted(key(r) for r in stored_reps(db))
    # The clips repeat rep keys across runs, so compare as multisets.
    assert stored == reported


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.npz"
    save_keypoints(path, make_clip(3, fault_rate=0.0).track)  # 6 reps over 23 s, ~3 s apart
    return path


def run_with_room(clip: Path, db: Path, events: Path) -> str:
    """A --fast run on a disk with room: replays the spool, exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--fast", "--feedback",
         "mock", "--no-live-view", "--db", str(db), "--events", str(events)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return done.stderr


def test_disk_full_to_the_end_spools_every_rep_exits_75_then_a_restart_stores_them(
    tiny_fs, tmp_path, clip
):
    db, filler = tiny_fs / "h.db", tiny_fs / "filler"
    events1, events2 = tmp_path / "run1.jsonl", tmp_path / "run2.jsonl"
    proc = start(clip, db, events1)
    try:
        wait_for_reps(proc, events1, 1)
        fill(filler)
        assert proc.wait(timeout=60) == EX_TEMPFAIL
    finally:
        proc.kill()
        proc.wait()
    log = proc.stderr.read()
    assert "Traceback" not in log
    assert len(emitted_reps(events1)) == 6
    spooled = [line for line in log.splitlines() if "reps are spooled in" in line]
    assert len(spooled) == 1 and str(spool_path(db)) in spooled[0]
    n = int(spooled[0].split("history: ")[1].split()[0])
    on_disk = len(stored_reps(db))
    assert n >= 5 - 1 and on_disk + n >= 6  # rep 1 (maybe 2) stored, the rest spooled
    in_spool = [r for r in Spool(spool_path(db)).records() if r["kind"] == "rep"]
    assert len(in_spool) == n

    filler.unlink()
    log = run_with_room(clip, db, events2)
    assert "from the spool" in log
    assert_all_stored(db, events1, events2)
    assert Spool(spool_path(db)).records() == []


def test_disk_full_then_sigkill_loses_no_reported_rep(tiny_fs, tmp_path, clip):
    db, filler = tiny_fs / "h.db", tiny_fs / "filler"
    events1, events2 = tmp_path / "run1.jsonl", tmp_path / "run2.jsonl"
    proc = start(clip, db, events1)
    try:
        wait_for_reps(proc, events1, 1)
        fill(filler)
        wait_for_reps(proc, events1, 4)  # three reps reported onto the full disk
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert len(stored_reps(db)) < len(emitted_reps(events1))  # some are only in the spool
    # Still full at the next start: the run goes on, spooling, and says so at the end.
    events_full = tmp_path / "full.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--fast", "--feedback",
         "mock", "--no-live-view", "--db", str(db), "--events", str(events_full)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    assert done.returncode == EX_TEMPFAIL, done.stderr[-2000:]
    assert sum("reps are spooled in" in line for line in done.stderr.splitlines()) == 1

    filler.unlink()
    run_with_room(clip, db, events2)
    assert_all_stored(db, events1, events_full, events2)


def test_a_rep_is_in_the_database_or_the_spool_before_it_is_reported(tiny_fs, tmp_path, clip):
    """The loop's promise, checked at the moment of a kill: every reported rep is durable."""
    db, filler = tiny_fs / "h.db", tiny_fs / "filler"
    events = tmp_path / "run.jsonl"
    proc = start(clip, db, events)
    try:
        wait_for_reps(proc, events, 1)
        fill(filler)
        wait_for_reps(proc, events, 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    reported = {key(r) for r in emitted_reps(events)}
    spooled = {key(r["data"]["rep"]) for r in Spool(spool_path(db)).records() if r["kind"] == "rep"}
    stored = {key(r) for r in stored_reps(db)}
    assert reported <= stored | spooled
    assert json.loads(events.read_text().splitlines()[0])  # the events file is intact
