"""`hipflex run` then `hipflex history`, as a coach would use them, and SIGKILL at random
moments: the database stays sound and holds every rep whose event was emitted."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from synthetic import make_clip

from edge.keypoints import KeypointTrack, save_keypoints

HIPFLEX = [sys.executable, "-m", "edge"]


def test_run_then_history_lists_the_session_with_the_right_reps(tmp_path):
    clip = make_clip(4, fault_rate=0.45)  # 12 reps, two with lumbar rounding, 24 fps
    npz, db = tmp_path / "clip.npz", tmp_path / "h.db"
    save_keypoints(npz, clip.track)
    subprocess.run(
        [*HIPFLEX, "run", "--source", str(npz), "--fast", "--feedback", "mock",
         "--no-live-view", "--db", str(db), "--athlete", "Ada Lovelace"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    out = subprocess.run(
        [*HIPFLEX, "history", "--json", "--db", str(db)],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    (session,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert session["athlete"] == "Ada Lovelace"
    got = [(r["leg"], sorted(r["faults"])) for r in session["reps"]]
    assert got == [(r.leg, sorted(r.faults)) for r in clip.reps]
    assert session["summary"]["reps"] == 12
    assert session["summary"]["faults"]["lumbar_rounding"] == 2


def long_clip(path: Path) -> None:
    """Two hours of reps at 30 fps (a few clips, repeated): enough that a --fast run is
    still going when it is killed."""
    parts = []
    seed = 0
    while len(parts) < 4:
        clip = make_clip(seed)
        seed += 1
        if clip.track.fps == 30.0 and clip.track.width == 640:
            parts.append(clip.track.keypoints)
    one = np.concatenate(parts)
    keypoints = np.concatenate([one] * (216_000 // len(one) + 1))
    save_keypoints(path, KeypointTrack(keypoints, 30.0, 640, 360, "synthetic"))


def first_event(events: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until the run has written its first event line (it writes them line-buffered)."""
    deadline = time.monotonic() + timeout
    while not (events.exists() and b"\n" in events.read_bytes()):
        assert proc.poll() is None, f"the run exited ({proc.returncode}) before any event"
        assert time.monotonic() < deadline, f"no event in {timeout:.0f} s"
        time.sleep(0.02)


def test_sigkill_at_ten_random_moments_keeps_every_emitted_rep(tmp_path):
    npz, db = tmp_path / "long.npz", tmp_path / "h.db"
    long_clip(npz)
    rng = random.Random(7)
    for kill in range(10):
        events = tmp_path / f"events{kill}.jsonl"
        proc = subprocess.Popen(
            [*HIPFLEX, "run", "--source", str(npz), "--fast", "--feedback", "mock",
             "--no-live-view", "--db", str(db), "--events", str(events)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Start-up alone takes 1-1.6 s on a busy machine: the random moment counts from the
        # first event line, so a kill never lands before the box is running.
        first_event(events, proc)
        time.sleep(rng.uniform(0.8, 3.0))
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        emitted = [
            (e["index"], e["start_s"], e["leg"], sorted(e["faults"]))
            for e in map(json.loads, events.read_text().splitlines())
            if e["type"] == "rep"
        ]
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            rows = conn.execute(
                "SELECT r.rep_index, r.start_s, r.leg, "
                "(SELECT group_concat(name) FROM faults f WHERE f.rep_id = r.id) "
                "FROM reps r WHERE r.session_id = (SELECT max(id) FROM sessions) ORDER BY r.id"
            ).fetchall()
            sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        assert sessions == kill + 1  # each run's session survived the kills after it
        stored = [(i, s, leg, sorted(f.split(",")) if f else []) for i, s, leg, f in rows]
        assert len(emitted) > 0, f"kill {kill}: nothing was emitted"
        # Every rep that reached the events file is in the database (which may hold one
        # more: committed, then killed before its line was written).
        assert stored[: len(emitted)] == emitted, f"kill {kill}"
        assert len(stored) - len(emitted) <= 1


def test_run_forgets_sessions_older_than_the_configured_age(tmp_path):
    from datetime import UTC, datetime

    from history_data import make_analysis

    from edge.history import History

    db, npz, config = tmp_path / "h.db", tmp_path / "clip.npz", tmp_path / "config.toml"
    with History(db) as h:
        h.import_analysis(make_analysis(seed=3), started_at=datetime(2020, 1, 1, tzinfo=UTC))
    save_keypoints(npz, make_clip(0, fault_rate=0.0).track)
    config.write_text("[storage]\nhistory_max_age_days = 30\n")
    subprocess.run(
        [*HIPFLEX, "run", "--source", str(npz), "--fast", "--feedback", "mock",
         "--no-live-view", "--db", str(db), "--config", str(config)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with History(db, readonly=True) as h:
        (session,) = h.sessions()
    assert not session["started_at"].startswith("2020")
