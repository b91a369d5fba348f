"""The small command-line items a coach met over SSH (issue 15): export times on the same
clock as --since, and athlete names matched whatever their case."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_data import make_analysis

from edge.history import History

HIPFLEX = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hipflex"
DAY0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 17:00 in Oslo (UTC+1 in March)


def hipflex(*args, tz: str = "Europe/Oslo") -> subprocess.CompletedProcess:
    return subprocess.run(
        [HIPFLEX, *map(str, args)], capture_output=True, text=True, env={**os.environ, "TZ": tz}
    )


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "h.db"
    with History(path) as h:
        for i, name in enumerate(("Mia", "mia", "Åsa", "Ola")):
            h.import_analysis(
                make_analysis(seed=80 + i, sets=(("left", 2),)),
                athlete=name,
                started_at=DAY0 + timedelta(days=i),
            )
    return path


def test_export_prints_local_time_that_since_reads_back(db):
    done = hipflex("export", "--format", "csv", "--db", db)
    assert done.returncode == 0, done.stderr
    started = [row["started_at"] for row in csv.DictReader(io.StringIO(done.stdout))]
    assert started[0] == "2026-03-01T17:00:00+01:00"
    # A time copied from the export, pasted into --since, keeps that session and later ones.
    third = "2026-03-03T17:00:00+01:00"
    assert third in started
    done = hipflex("export", "--format", "json", "--since", third[:16], "--db", db)
    document = json.loads(done.stdout)
    assert [s["started_at"] for s in document["sessions"]] == [
        "2026-03-03T17:00:00+01:00",
        "2026-03-04T17:00:00+01:00",
    ]
    assert document["exported_at"].endswith(("+01:00", "+02:00"))
    # One minute later (local) and that session is out.
    done = hipflex("export", "--format", "json", "--since", "2026-03-03T17:01", "--db", db)
    assert [s["id"] for s in json.loads(done.stdout)["sessions"]] == [4]


@pytest.mark.parametrize(
    ("asked", "found"), [("MIA", [1, 2]), ("mia", [1, 2]), ("åsa", [3]), ("ÅSA", [3])]
)
def test_athlete_filter_ignores_case(db, asked, found):
    done = hipflex("history", "--json", "--athlete", asked, "--db", db)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == found


def test_analyze_table_skips_zero_length_periods_and_says_1_rep():
    from edge.analysis import render_table

    result = make_analysis(seed=5, sets=(("right", 1),))
    result["status"] = [
        {"start_s": 0.0, "end_s": 0.0, "status": "no_athlete"},
        {"start_s": 0.0, "end_s": 2.4, "status": "not_lying"},
    ]
    text = render_table(result)
    assert "no_athlete" not in text
    assert "status not_lying from 0.0 s to 2.4 s" in text
    assert "summary: 1 rep (0 left, 1 right)" in text
