"""A full disk under a running `hipflex run`: history writes fail, the cues go on, and once
there is space again every rep emitted during the outage reaches the database.

The database lives on a real 256 KiB tmpfs (needs root, like tests/storage/test_history.py), which
the test fills after the first rep and frees after two more.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, fill
from synthetic import make_clip

from edge.history import REP_FIELDS, History
from edge.keypoints import save_keypoints


def emitted_reps(events: Path) -> list[dict]:
    if not events.exists():
        return []
    return [e for e in map(json.loads, events.read_text().splitlines()) if e["type"] == "rep"]


def wait_for_reps(proc: subprocess.Popen, events: Path, n: int, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while len(emitted_reps(events)) < n:
        assert proc.poll() is None, "the run ended early"
        assert time.monotonic() < deadline, f"fewer than {n} reps after {timeout} s"
        time.sleep(0.05)


@pytest.mark.slow
def test_reps_emitted_while_the_disk_is_full_reach_the_database_when_it_frees(tiny_fs, tmp_path):
    clip = tmp_path / "clip.npz"
    save_keypoints(clip, make_clip(3, fault_rate=0.0).track)  # 6 reps over 23 s, ~3 s apart
    db, events, filler = tiny_fs / "h.db", tmp_path / "events.jsonl", tiny_fs / "filler"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--feedback", "mock",
         "--no-live-view", "--db", str(db), "--events", str(events)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        wait_for_reps(proc, events, 1)
        fill(filler)
        wait_for_reps(proc, events, 3)  # two reps emitted onto a full disk
        filler.unlink()
        wait_for_reps(proc, events, 6)
        # History retries a backlog every 5 s: it must be written before the run ends.
        with History(db, readonly=True) as history:
            (session,) = history.sessions()
            stored_mid_run = len(session["reps"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
    log = proc.stderr.read()
    assert "history: cannot write to" in log and "history: writes to" in log and "resumed" in log
    assert "Traceback" not in log
    assert stored_mid_run >= 3  # the outage's reps arrived while the loop was still running
    with History(db, readonly=True) as history:
        (session,) = history.sessions()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reps = emitted_reps(events)
    assert len(reps) == 6
    assert [{k: r[k] for k in REP_FIELDS} for r in session["reps"]] == [
        {k: r[k] for k in REP_FIELDS} for r in reps
    ]
