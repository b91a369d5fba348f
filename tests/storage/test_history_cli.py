"""`hipflex history` and `hipflex export` run as a coach would, on a real database."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_data import expected_summary, make_analysis

from edge.events import Event
from edge.history import History

REPO = Path(__file__).resolve().parents[2]
HIPFLEX = REPO / ".venv" / "bin" / "hipflex"
DAY0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


def hipflex(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [HIPFLEX, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", **(env or {})},
    )


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "h.db"
    with History(path) as h:
        for i in range(4):
            h.import_analysis(
                make_analysis(seed=60 + i),
                athlete=("Mia", "Ola")[i % 2],
                started_at=DAY0 + timedelta(days=i),
            )
    return path


def test_history_json_lists_sessions_with_their_reps(db):
    done = hipflex("history", "--json", "--db", db)
    assert done.returncode == 0, done.stderr
    sessions = [json.loads(line) for line in done.stdout.splitlines()]
    assert [s["id"] for s in sessions] == [1, 2, 3, 4]
    for i, s in enumerate(sessions):
        analysis = make_analysis(seed=60 + i)
        assert s["reps"] == analysis["reps"]
        assert s["summary"] == analysis["summary"]
        assert s["status"] == analysis["status"]
        assert (s["source"], s["model"], s["fps"]) == (analysis["source"], "blazepose", 30.0)
    done = hipflex("history", "--json", "--athlete", "Ola", "--last", "1", "--db", db)
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [4]


def test_history_reads_while_a_session_is_being_written(tmp_path):
    """The coach runs `hipflex history` while `hipflex run` holds the database open."""
    db = tmp_path / "h.db"
    writer = History(db)
    writer.start_session(athlete="Mia", source="camera", model="blazepose", fps=30.0)
    reps = make_analysis(seed=70, sets=(("left", 3),))["reps"]
    for rep in reps:
        writer.record(Event(rep["end_s"], "rep", rep))
    done = hipflex("history", "--json", "--db", db)
    (session,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert session["reps"] == reps and session["ended_at"] is None
    assert session["summary"] == expected_summary(reps)
    table = hipflex("history", "--db", db).stdout
    assert "(interrupted)" in table  # no end yet
    writer.close()


def test_history_table(db):
    done = hipflex("history", "--db", db, env={"COLUMNS": "160"})
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "hipflex sessions" in lines[0]
    first = make_analysis(seed=60)["summary"]
    row = next(line for line in lines if "Sun 01 Mar 2026 16:00" in line)
    assert "Mia" in row and f"{first['by_leg']['left']}/{first['by_leg']['right']}" in row
    assert f"{100 * first['good_reps'] / first['reps']:.0f}%" in row
    assert hipflex("history", "--athlete", "Nobody", "--db", db).stdout == (
        "no sessions recorded for athlete 'Nobody'\n"
    )


def test_history_uses_hipflex_db_and_says_when_missing(db, tmp_path):
    done = hipflex("history", "--json", env={"HIPFLEX_DB": str(db)})
    assert len(done.stdout.splitlines()) == 4
    done = hipflex("history", "--db", tmp_path / "nope.db")
    assert done.returncode == 1
    assert done.stderr == (
        f"hipflex: error: no history database at {tmp_path / 'nope.db'} "
        "(pass --db or set HIPFLEX_DB)\n"
    )
    done = hipflex("history", "--last", "0", "--db", db)
    assert done.returncode == 2 and "'0' is not a positive whole number" in done.stderr


def test_export_csv_one_row_per_rep(db, tmp_path):
    done = hipflex("export", "--format", "csv", "--since", "2026-03-03", "--db", db)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    expected = make_analysis(seed=62)["reps"] + make_analysis(seed=63)["reps"]
    assert len(rows) == len(expected)
    for row, rep in zip(rows, expected, strict=True):
        assert int(row["index"]) == rep["index"] and row["leg"] == rep["leg"]
        assert float(row["peak_hip_flexion_deg"]) == rep["peak_hip_flexion_deg"]
        assert row["faults"] == ";".join(rep["faults"])
        assert row["good"] == ("0" if rep["faults"] else "1")
    assert {row["session"] for row in rows} == {"3", "4"}
    assert rows[0]["started_at"] == "2026-03-03T16:00:00+00:00"  # local time, TZ=UTC here


def test_export_json_to_file(db, tmp_path):
    out = tmp_path / "all.json"
    done = hipflex("export", "--format", "json", "--out", out, "--db", db)
    assert done.returncode == 0 and "4 sessions" in done.stderr
    document = json.loads(out.read_text())
    assert [s["id"] for s in document["sessions"]] == [1, 2, 3, 4]
    assert document["sessions"][2]["reps"] == make_analysis(seed=62)["reps"]


def test_export_rejects_a_bad_date(db):
    done = hipflex("export", "--since", "last tuesday", "--db", db)
    assert done.returncode == 2
    assert "'last tuesday' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)" in done.stderr
