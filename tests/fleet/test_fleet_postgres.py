"""The collector writing to a real PostgreSQL (Debian's, started here on 127.0.0.1): the same
sessions as in SQLite, exactly once, and `hipflex fleet status` reading it."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO
from fleet_broker import Broker, free_port, make_certs, require_mosquitto, wait_for
from test_fleet_broker import Running, box_reps, record_session

from edge.fleet.publisher import Publisher, state_path

psycopg = pytest.importorskip("psycopg")


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing; .ci/run installs the postgresql package")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql)")
    return Path(found[-1]).parent


@pytest.fixture
def postgres():
    """A throw-away cluster with trust auth on 127.0.0.1; yields its URL."""
    bindir = pg_bin()
    # PostgreSQL refuses to run as root: as root, run it as the postgres user, in a directory
    # it can reach (pytest's own temporary root is private to us).
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="hipflex-pg-"))
    root.chmod(0o755)
    data, port = root / "pg", free_port()
    data.mkdir()
    if as_user:
        shutil.chown(data, "postgres")
    subprocess.run([*as_user, bindir / "initdb", "-D", data, "-U", "postgres",
                    "--auth=trust"], check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-o", options, "-l",
                    data / "log", "-w", "start"], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def broker(tmp_path):
    require_mosquitto()
    b = Broker(tmp_path / "broker", make_certs(tmp_path / "certs")[0])
    b.start()
    yield b
    b.kill()


def pg_reps(url: str, box: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT s.box_session, r.rep_index, r.leg, r.peak_hip_flexion_deg FROM reps r "
            "JOIN sessions s ON s.id = r.session_id WHERE s.box = %s ORDER BY 1, 2",
            (box,),
        ).fetchall()
    return [tuple(row) for row in rows]


def test_collector_stores_into_postgresql_exactly_once(tmp_path, postgres, broker):
    box_db = tmp_path / "box.db"
    record_session(box_db, seed=21)
    record_session(box_db, seed=22)
    running = Running(broker, postgres)
    try:
        expected = box_reps(box_db)
        for _ in range(2):  # the second publisher has no watermark: everything is sent again
            state_path(box_db).unlink(missing_ok=True)
            publisher = Publisher(broker.fleet("mat-1", box="mat-1"), box_db)
            publisher.start()
            wait_for(lambda p=publisher: p.unacked() == 0, what="every ack")
            publisher.stop()
            wait_for(lambda: pg_reps(postgres, "mat-1") == expected, what="every rep, once")
    finally:
        running.stop()
    assert len(expected) == 32
    status = subprocess.run(
        [sys.executable, "-m", "edge", "fleet", "status", "--db", postgres, "--json"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    row = json.loads(status)
    assert (row["box"], row["sessions"], row["state"]) == ("mat-1", 2, "offline")


def test_an_unreachable_postgresql_is_one_line(tmp_path):
    url = f"postgresql://hipflex:secret@127.0.0.1:{free_port()}/fleet"
    done = subprocess.run(
        [sys.executable, "-m", "edge", "fleet", "status", "--db", url],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    line = done.stderr.strip()
    assert line.startswith("hipflex: error: cannot open fleet database postgresql://hipflex:***@")
    assert "secret" not in line
