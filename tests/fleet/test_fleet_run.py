"""`hipflex run` with fleet reporting on, against a real Mosquitto: the box coaches whatever
the broker says, holds no socket but the broker's, and two boxes make one gym report."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO
from fleet_broker import Broker, make_certs, require_mosquitto, wait_for
from netstat import NET_TABLES, socket_inodes, table_inodes
from synthetic import make_clip
from test_fleet_broker import Running, box_reps, fleet_reps, record_session

from edge.config.fleet import FleetConfig
from edge.fleet.publisher import Publisher
from edge.history import History
from edge.keypoints import save_keypoints


@pytest.fixture(autouse=True)
def _mosquitto():
    require_mosquitto()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def broker(tmp_path, certs):
    b = Broker(tmp_path / "broker", certs[0])
    b.start()
    yield b
    b.kill()


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "clip.npz"
    save_keypoints(path, make_clip(3, fault_rate=0.0).track)
    return path


def config_file(path: Path, fleet: FleetConfig) -> Path:
    lines = [f"{k} = {json.dumps(v)}" for k, v in fleet.model_dump().items()]
    path.write_text("[fleet]\n" + "\n".join(lines) + "\n")
    path.chmod(0o644)
    return path


def run_box(tmp_path: Path, clip: Path, config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--feedback", "mock",
         "--config", str(config), "--db", str(tmp_path / "box.db"),
         "--events", str(tmp_path / "events.jsonl"), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip


def test_a_wrong_password_is_one_line_and_the_box_keeps_coaching(tmp_path, broker, clip):
    (tmp_path / "wrong").write_text("nope\n")
    fleet = broker.fleet("mat-1", box="mat-1", password_file=str(tmp_path / "wrong"))
    proc = run_box(tmp_path, clip, config_file(tmp_path / "box.toml", fleet), "--no-live-view")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    fleet_lines = [line for line in stderr.splitlines() if "fleet:" in line]
    assert len(fleet_lines) == 1, stderr
    assert "refused user 'mat-1'" in fleet_lines[0] and "Traceback" not in stderr
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    reps = [e for e in events if e["type"] == "rep"]
    assert reps and len(box_reps(tmp_path / "box.db")) == len(reps)  # coached and stored


def test_with_fleet_on_the_box_holds_only_the_broker_connection(tmp_path, broker, clip):
    fleet_db = tmp_path / "fleet.db"
    running = Running(broker, fleet_db)
    fleet = broker.fleet("mat-1", box="mat-1")
    proc = run_box(tmp_path, clip, config_file(tmp_path / "box.toml", fleet))
    try:
        wait_for(lambda: (tmp_path / "box.db.fleet.json").exists(), 60, what="a first ack")
        held = socket_inodes(proc.pid)
        remote_ports = []
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{proc.pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[9]) in held:
                    remote_ports.append(int(fields[2].rsplit(":", 1)[1], 16))
        network = set().union(*(table_inodes(proc.pid, t) for t in NET_TABLES))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
        expected = box_reps(tmp_path / "box.db")
        wait_for(lambda: fleet_reps(fleet_db, "mat-1") == expected, what="the whole session")
    finally:
        if proc.poll() is None:
            proc.kill()
        running.stop()
    assert remote_ports == [broker.port]  # one socket, to the broker
    assert len(held & network) == 1


def test_report_from_the_fleet_db_shows_one_athlete_across_two_boxes(tmp_path, broker):
    fleet_db = tmp_path / "fleet.db"
    running = Running(broker, fleet_db)
    try:
        for box, seed in (("mat-1", 11), ("mat-2", 12)):
            db = tmp_path / f"{box}.db"
            record_session(db, seed=seed, athlete="Ana")
            publisher = Publisher(broker.fleet(box, box=box), db)
            publisher.start()
            wait_for(lambda db=db, box=box: fleet_reps(fleet_db, box) == box_reps(db))
            publisher.stop()
    finally:
        running.stop()
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "edge", "report", "latest", "--db", str(fleet_db),
         "--out", str(out)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "Trend · Ana <small>last 2 sessions</small>" in page
    with History(fleet_db, readonly=True) as h:
        assert [s["athlete"] for s in h.sessions()] == ["Ana", "Ana"]


def test_a_dead_broker_leaves_the_frame_loop_alone(tmp_path, certs, clip):
    """A broker that accepts TCP but never answers (the slowest failure): the run does the
    same frames and events as with fleet off, and does not hang at exit. How long frames
    take with the broker down is a benchmark (bench/fleet_loop.py), not a timed test: on a
    shared machine a run's wall time varies by seconds."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    broker = Broker(tmp_path / "broker", certs[0], port=port)  # files only, never started
    stop = threading.Event()

    def run(config: Path, name: str) -> tuple[float, list[str]]:
        out = tmp_path / name
        out.mkdir()
        t0 = time.monotonic()
        proc = run_box(out, clip, config, "--no-live-view", "--fast")
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        events = [json.loads(x)["type"] for x in (out / "events.jsonl").read_text().splitlines()]
        return time.monotonic() - t0, events

    try:
        off = config_file(tmp_path / "off.toml", FleetConfig())
        on = config_file(tmp_path / "on.toml", broker.fleet("mat-1", box="mat-1"))
        (t_off, events_off), (t_on, events_on) = run(off, "off"), run(on, "on")
    finally:
        stop.set()
        silent.close()
    assert events_on == events_off
    assert t_on < t_off + 30.0  # the publisher's 3 s stop timeout, never a hang


def test_fleet_publish_refuses_to_run_beside_the_box(tmp_path, broker, clip):
    config = config_file(tmp_path / "box.toml", broker.fleet("mat-1", box="mat-1"))
    proc = run_box(tmp_path, clip, config, "--no-live-view")
    try:
        wait_for(lambda: (tmp_path / "events.jsonl").exists(), 60, what="the box running")
        done = subprocess.run(
            [sys.executable, "-m", "edge", "fleet", "publish", "--config", str(config),
             "--db", str(tmp_path / "box.db")],
            capture_output=True, text=True, cwd=REPO, timeout=30,
        )  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "already running" in done.stderr, done.stderr
