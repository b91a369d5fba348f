"""The history store on real SQLite: round trips, the live event path, durability under
SIGKILL, a full disk (a real tiny tmpfs), and schema migrations."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import fill
from history_data import expected_summary, make_analysis, make_series

from edge.analysis import summarize
from edge.config.faults import FAULTS
from edge.errors import HipflexError
from edge.events import Event
from edge.history import MIGRATIONS, SCHEMA_VERSION, SERIES_COLUMNS, History, migrate

REPO = Path(__file__).resolve().parents[2]


def test_a_stored_session_lists_its_faults_as_analyze_does(tmp_path):
    """One summary for both (edge.analysis.summarize): faults in the registry's order, and
    a name the registry does not know (a fault renamed since) after them, not dropped."""
    analysis = make_analysis(seed=7)
    analysis["reps"][0]["faults"] = ["zz_retired"]
    analysis["reps"][1]["faults"] = ["aa_retired", "lumbar_rounding"]
    analysis["reps"][2]["faults"] = ["too_fast"]
    with History(tmp_path / "h.db") as h:
        h.import_analysis(analysis)
        (session,) = h.sessions()
    faults = session["summary"]["faults"]
    assert faults == expected_summary(analysis["reps"])["faults"]  # the counts
    known = [name for name in FAULTS if name in faults]
    assert list(faults) == [*known, "aa_retired", "zz_retired"]
    assert session["summary"] == summarize(session["reps"])


def rep_rows(db: Path) -> list[tuple]:
    """Reps as seen by an independent connection: what survives if we die now."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT rep_index, leg, peak_hip_flexion_deg FROM reps ORDER BY id"
        ).fetchall()


def test_import_round_trips_every_rep_field(tmp_path):
    analysis = make_analysis(seed=1)
    started = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    with History(tmp_path / "h.db") as h:
        sid = h.import_analysis(analysis, athlete=" Mia ", started_at=started)
        (session,) = h.sessions()
    assert session["id"] == sid
    assert session["athlete"] == "Mia"
    assert session["started_at"] == "2026-03-02T09:30:00Z"
    assert session["ended_at"] is not None
    assert (session["source"], session["model"], session["fps"]) == (
        analysis["source"],
        "blazepose",
        30.0,
    )
    assert session["duration_s"] == analysis["duration_s"]
    assert session["reps"] == analysis["reps"]
    assert session["status"] == analysis["status"]
    assert session["summary"] == analysis["summary"]
    assert [(s["set"], s["leg"]) for s in session["sets"]] == [(1, "right"), (2, "left")]
    first_left = next(r for r in analysis["reps"] if r["leg"] == "left")
    assert session["sets"][1]["start_s"] == first_left["start_s"]
    assert session["sets"][1]["end_s"] == analysis["reps"][-1]["end_s"]


def test_live_events_commit_before_record_returns(tmp_path):
    db = tmp_path / "h.db"
    analysis = make_analysis(seed=2, sets=(("left", 3),))
    h = History(db)
    h.start_session(athlete="Ola", source="camera", model="movenet", fps=30.0)
    h.record(Event(0.5, "status", {"status": "not_lying"}))
    h.record(Event(2.0, "status", {"status": "ok"}))
    h.record(Event(3.9, "set", {"set": 1, "leg": "left"}))
    h.record(Event(4.1, "fault", {"fault": "lumbar_rounding", "leg": "left", "rep": 1}))
    for n, rep in enumerate(analysis["reps"], start=1):
        h.record(Event(rep["end_s"], "rep", rep))
        assert len(rep_rows(db)) == n  # visible to another process at once
    h.record(Event(20.0, "status", {"status": "tracking_lost"}))
    # Killed here: the session has no end, the open status period no end_s.
    with History(db, readonly=True) as reader:
        (session,) = reader.sessions()
        assert session["ended_at"] is None
        assert session["status"][-1] == {"start_s": 20.0, "end_s": None, "status": "tracking_lost"}
    h.end_session(duration_s=25.0)
    h.close()
    with History(db, readonly=True) as reader:
        (session,) = reader.sessions()
    assert session["reps"] == analysis["reps"]
    assert session["status"] == [
        {"start_s": 0.5, "end_s": 2.0, "status": "not_lying"},
        {"start_s": 20.0, "end_s": 25.0, "status": "tracking_lost"},
    ]
    assert session["duration_s"] == 25.0
    assert session["sets"] == [
        {"set": 1, "leg": "left", "start_s": 3.9, "end_s": analysis["reps"][-1]["end_s"]}
    ]


def test_samples_are_decimated_to_10_hz_and_stored_with_reps(tmp_path):
    analysis = make_analysis(seed=3, sets=(("right", 4),))
    series = make_series(analysis)
    h = History(tmp_path / "h.db")
    h.start_session(fps=30.0)
    reps = iter(analysis["reps"])
    rep = next(reps)
    for i, t in enumerate(series["t"]):
        (hl, hr), (kl, kr) = series["hip_flexion"][i], series["knee_flexion"][i]
        h.sample(float(t), hl, hr, kl, kr)
        if rep is not None and t >= rep["end_s"]:
            h.record(Event(float(t), "rep", rep))
            rep = next(reps, None)
    stored_before_end = h.series(h.session_id)
    h.end_session()
    data = h.series(h.session_id)
    h.close()
    duration = series["t"][-1]
    assert abs(len(data) - duration * 10) <= 2
    assert len(stored_before_end) > 0.8 * analysis["reps"][-1]["end_s"] * 10
    assert np.all(np.diff(data[:, 0]) > 0.09)
    frame = np.rint(data[:, 0] * 30).astype(int)  # samples are exact frames of the series
    np.testing.assert_allclose(data[:, 2], series["hip_flexion"][frame, 1], rtol=1e-6)
    np.testing.assert_allclose(data[:, 3], series["knee_flexion"][frame, 0], rtol=1e-6)
    assert data.shape[1] == len(SERIES_COLUMNS)


def test_imported_series_is_decimated(tmp_path):
    analysis = make_analysis(seed=4)
    series = make_series(analysis)
    with History(tmp_path / "h.db", series_capacity=50) as h:  # forces several chunks
        sid = h.import_analysis(analysis, series=series)
        data = h.series(sid)
    assert abs(len(data) - analysis["duration_s"] * 10) <= 2
    peak = analysis["reps"][0]
    near = np.abs(data[:, 0] - peak["peak_s"]) < 0.06
    assert np.all(np.abs(data[near, 2] - peak["peak_hip_flexion_deg"]) < 1.0)


def test_history_filters(tmp_path):
    day0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    with History(tmp_path / "h.db") as h:
        for i in range(6):
            h.import_analysis(
                make_analysis(seed=10 + i, sets=(("left", 2),)),
                athlete="Mia" if i % 2 == 0 else "Ola",
                started_at=day0 + timedelta(days=i),
            )
        assert [s["id"] for s in h.sessions(last=2)] == [5, 6]
        assert [s["id"] for s in h.sessions(athlete="Mia")] == [1, 3, 5]
        assert [s["id"] for s in h.sessions(athlete="Mia", last=2, until_id=4)] == [1, 3]
        assert [s["id"] for s in h.sessions(since=day0 + timedelta(days=4))] == [5, 6]
        assert h.latest_id() == 6
        with pytest.raises(HipflexError, match="no session 99"):
            h.session(99)


def test_readonly_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(HipflexError, match=r"no history database at .*nothere\.db"):
        History(tmp_path / "nothere.db", readonly=True)


def test_upgrade_from_v1_keeps_data(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, upto=1) == 1
    conn.execute(
        "INSERT INTO sessions (started_at, athlete, source, model, fps) "
        "VALUES ('2025-12-01T10:00:00Z', 'Mia', 'camera', 'blazepose', 30)"
    )
    conn.execute("INSERT INTO sets (session_id, number, leg, started_s) VALUES (1, 1, 'left', 4)")
    conn.execute(
        "INSERT INTO reps (session_id, set_id, rep_index, leg, start_s, peak_s, end_s, "
        "peak_hip_flexion_deg, knee_flexion_at_peak_deg, pelvis_tilt_deg, lift_s) "
        "VALUES (1, 1, 1, 'left', 4.0, 5.1, 6.3, 93.5, 88.0, 12.0, 1.1)"
    )
    conn.execute("INSERT INTO faults VALUES (1, 'lumbar_rounding')")
    conn.close()
    with pytest.raises(HipflexError, match="schema v1"):
        History(db, readonly=True)

    with History(db) as h:
        assert h._read().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        (old,) = h.sessions()
        assert old["duration_s"] is None
        # The v3 rebuild of the reps table kept its faults (no cascade on the drop).
        assert old["reps"][0]["faults"] == ["lumbar_rounding"]
        assert old["summary"]["good_reps"] == 0
        new = h.import_analysis(make_analysis(seed=5), series=make_series(make_analysis(seed=5)))
        assert len(h.series(new)) > 100
        assert h._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # while open
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "future.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(HipflexError, match="newer than this hipflex"):
        History(db)


def test_full_disk_buffers_then_resumes(tiny_fs, caplog):
    db = tiny_fs / "h.db"
    clock = [0.0]
    h = History(db, retry_s=5.0, clock=lambda: clock[0])
    analysis = make_analysis(seed=6, sets=(("left", 30), ("right", 30)))
    h.start_session(athlete="Mia", fps=30.0)
    filler = tiny_fs / "filler"
    fill(filler)
    # Each rep also carries a chunk of angle samples, so the database must grow.
    for i, rep in enumerate(analysis["reps"]):
        for k in range(12):  # 1.2 s: less than the spacing of reps
            h.sample(rep["start_s"] + k * 0.1, 10.0 + k, 8.0, 5.0 + k, 4.0)
        h.record(Event(rep["end_s"], "rep", rep))  # never raises into the loop
        clock[0] += 2.0
        if h.pending and i > 40:
            break
    assert h.pending > 0
    assert "cannot write" in caplog.text
    written = len(rep_rows(db))
    assert written < i + 1
    assert not h.flush()  # a forced retry fails too, and restarts the retry delay
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_fs)], check=True)
    filler.unlink()
    h.poll()  # space again, but the retry delay has not passed yet
    assert h.pending > 0 and len(rep_rows(db)) == written
    clock[0] += 10.0
    h.poll()
    assert h.pending == 0 and h.dropped == 0
    h.record(Event(analysis["reps"][i + 1]["end_s"], "rep", analysis["reps"][i + 1]))
    assert "resumed" in caplog.text
    h.close()
    with History(db, readonly=True) as reader:
        (session,) = reader.sessions()
        assert session["reps"] == analysis["reps"][: i + 2]
        assert reader.series(session["id"]).shape == ((i + 1) * 12, 5)
        assert reader._read().execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_pending_queue_is_bounded(tiny_fs, caplog):
    h = History(tiny_fs / "h.db", max_pending=5, retry_s=3600)
    h.start_session()
    fill(tiny_fs / "filler")
    for i in range(400):  # status periods until the disk refuses, then 8 more
        h.record(Event(float(i), "status", {"status": "not_lying" if i % 2 else "ok"}))
        if h.pending:
            break
    for k in range(8):
        h.record(Event(float(i + k), "status", {"status": "ok"}))
    assert (h.pending, h.dropped) == (5, 4)
    assert "queue full" in caplog.text


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from history_data import make_analysis
    from edge.events import Event
    from edge.history import History

    h = History({db!r})
    h.start_session(athlete="Mia", source="camera", model="blazepose", fps=30.0)
    print("session", flush=True)
    analysis = make_analysis(seed={seed}, sets=(("left", 40), ("right", 40)))
    for rep in analysis["reps"]:
        for k in range(12):
            h.sample(rep["start_s"] + k * 0.1, 40.0, 8.0, 30.0, 4.0)
        h.record(Event(rep["end_s"], "rep", rep))
        print("rep", rep["index"], flush=True)  # emitted only once record() returned
        time.sleep(0.005)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_emitted_rep(tmp_path):
    db = tmp_path / "h.db"
    rng = random.Random(20260302)
    emitted: list[tuple[int, int]] = []  # (run, rep index) printed before the kill
    for run in range(10):
        script = KILL_SCRIPT.format(tests=str(REPO / "tests"), db=str(db), seed=run)
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert proc.stdout.readline().strip() == "session"
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Every line the child printed before it died, read or not, is an emitted rep.
        emitted += [(run, int(line.split()[1])) for line in proc.stdout.read().splitlines()]
        proc.stdout.close()
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = set(
                conn.execute(
                    "SELECT s.id - 1, r.rep_index FROM reps r "
                    "JOIN sessions s ON s.id = r.session_id"
                ).fetchall()
            )
        missing = [e for e in emitted if e not in stored]
        assert not missing, f"run {run}: emitted reps missing after SIGKILL: {missing}"
    assert len(emitted) > 20  # the kills landed mid-session, not before any rep
    with History(db) as h:  # a killed database opens and takes a new session
        h.import_analysis(make_analysis(seed=99, sets=(("left", 2),)))
        assert len(h.sessions()) == 11
        assert h.sessions()[-1]["summary"] == expected_summary(h.sessions()[-1]["reps"])


def test_forget_before_deletes_old_sessions_and_everything_they_hold(tmp_path):
    from datetime import UTC, datetime

    db = tmp_path / "h.db"
    with History(db) as h:
        old = h.import_analysis(make_analysis(seed=1), started_at=datetime(2025, 1, 5, tzinfo=UTC))
        new = h.import_analysis(make_analysis(seed=2), started_at=datetime(2026, 6, 1, tzinfo=UTC))
        assert h.forget_before(datetime(2026, 1, 1, tzinfo=UTC)) == 1
        assert [s["id"] for s in h.sessions()] == [new]
    with sqlite3.connect(db) as conn:
        for table in ("sets", "reps", "status_periods", "series"):
            assert (
                conn.execute(
                    f"SELECT count(*) FROM {table} WHERE session_id = ?", (old,)
                ).fetchone()[0]
                == 0
            )
        assert (
            conn.execute(
                "SELECT count(*) FROM faults WHERE rep_id NOT IN (SELECT id FROM reps)"
            ).fetchone()[0]
            == 0
        )
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_cleanly_closed_database_opens_read_only_for_a_user_who_cannot_write_beside_it():
    """A coach in the hipflex group reads the history over SSH with the service stopped:
    they cannot create a -shm file in the state directory, which a WAL database needs even
    to be read. A clean close leaves a rollback-journal file, which they can read."""
    import os
    import shutil
    import tempfile

    # outside pytest's own 0700 temporary tree, which another user cannot enter
    state = Path(tempfile.mkdtemp(prefix="hipflex-state-"))
    db = state / "hipflex.db"
    with History(db) as h:
        h.start_session(athlete="Mia", source="camera", model="blazepose", fps=30.0)
    assert not (state / "hipflex.db-wal").exists() and not (state / "hipflex.db-shm").exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if os.geteuid() != 0 or shutil.which("runuser") is None or system_python is None:
        pytest.skip("needs root, runuser and /usr/bin/python3 to read as another user")
    os.chmod(state, 0o755)  # like /var/lib/hipflex for the group: read and enter, no write
    os.chmod(db, 0o644)
    # what History(readonly=True) opens: the file read-only through SQLite, as `nobody`
    code = (
        "import sqlite3; "
        f"c = sqlite3.connect({db.resolve().as_uri() + '?mode=ro'!r}, uri=True); "
        "print(c.execute('SELECT count(*) FROM sessions').fetchone()[0])"
    )
    try:
        done = subprocess.run(["runuser", "-u", "nobody", "--", system_python, "-c", code],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        shutil.rmtree(state)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
