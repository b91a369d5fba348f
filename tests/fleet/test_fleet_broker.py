"""Fleet reporting against a real Mosquitto with TLS, a password file and the example ACL:
a box's sessions reach the collector's database exactly once, whatever dies on the way."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO
from fleet_broker import GYM, USERS, Broker, make_certs, require_mosquitto, wait_for
from history_data import make_analysis

from edge import __version__
from edge.analysis import analysis_events
from edge.config.fleet import FleetConfig
from edge.fleet import HEALTH, SESSION, box_topic
from edge.fleet.collector import Collector
from edge.fleet.mqtt import make_client
from edge.fleet.publisher import MAX_INFLIGHT, Publisher
from edge.fleet.store import open_fleet_db
from edge.history import History
from edge.livefeed import LiveFeed


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


class Running:
    """A collector in a thread, stopped at the end of the test."""

    def __init__(self, broker: Broker, db: Path):
        self.collector = Collector(broker.fleet("collector"), db)
        self.thread = threading.Thread(target=self.collector.run, daemon=True)
        self.thread.start()
        wait_for(self.collector.subscribed.is_set, what="the collector's subscription")

    def stop(self) -> None:
        self.collector.stop()
        self.thread.join(10)


def fleet_reps(db: Path, box: str) -> list[tuple]:
    conn = open_fleet_db(db).conn
    try:
        rows = conn.execute(
            "SELECT s.box_session, r.rep_index, r.leg, r.peak_hip_flexion_deg FROM reps r "
            "JOIN sessions s ON s.id = r.session_id WHERE s.box = ? ORDER BY 1, 2",
            (box,),
        )
        return [tuple(row) for row in rows]
    finally:
        conn.close()


def box_reps(db: Path) -> list[tuple]:
    with History(db, readonly=True) as h:
        return sorted(
            (f"{s['id']}@{s['started_at']}", r["index"], r["leg"], r["peak_hip_flexion_deg"])
            for s in h.sessions(last=None)
            for r in s["reps"]
        )


def record_session(db: Path, seed: int, athlete: str = "Ana", pause=None, at: int = -1) -> None:
    """One live session written event by event; `pause()` runs before event number `at`."""
    analysis = make_analysis(seed)
    with History(db) as h:
        h.start_session(athlete, analysis["source"], analysis["model"], analysis["fps"])
        for i, event in enumerate(analysis_events(analysis)):
            if i == at and pause is not None:
                pause()
            h.record(event)
        h.end_session(analysis["duration_s"])


def test_a_box_session_reaches_the_collector_and_the_reports(tmp_path, broker):
    fleet_db, box_db = tmp_path / "fleet.db", tmp_path / "box.db"
    running = Running(broker, fleet_db)
    publisher = Publisher(broker.fleet("mat-1", box="mat-1"), box_db, model="blazepose")
    publisher.start()
    try:
        record_session(box_db, seed=1)
        expected = box_reps(box_db)
        wait_for(lambda: fleet_reps(fleet_db, "mat-1") == expected, what="the session")
        wait_for(lambda: publisher.unacked() == 0, what="the acks")
    finally:
        publisher.stop()
        running.stop()
    # The fleet database is a history database: the box's own commands read it unchanged.
    with History(fleet_db, readonly=True) as fleet, History(box_db, readonly=True) as box:
        got, want = fleet.sessions()[0], box.sessions()[0]
    for key in ("started_at", "ended_at", "athlete", "duration_s", "sets", "status", "reps"):
        assert got[key] == want[key], key
    assert got["summary"] == want["summary"]
    out = subprocess.run(
        [sys.executable, "-m", "edge", "history", "--db", str(fleet_db), "--json"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    assert json.loads(out)["reps"] == want["reps"]
    # Health: retained, and "offline" once the box stopped.
    status = subprocess.run(
        [sys.executable, "-m", "edge", "fleet", "status", "--db", str(fleet_db), "--json"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    row = json.loads(status)
    assert (row["box"], row["sessions"], row["online"]) == ("mat-1", 1, False)
    assert row["state"] == "offline"
    table = subprocess.run(
        [sys.executable, "-m", "edge", "fleet", "status", "--db", str(fleet_db)],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    line = next(line for line in table.splitlines() if "mat-1" in line)
    assert "offline" in line and "min ago" in line


def test_broker_killed_mid_session_and_restarted_every_rep_once(tmp_path, broker):
    fleet_db, box_db = tmp_path / "fleet.db", tmp_path / "box.db"
    running = Running(broker, fleet_db)
    publisher = Publisher(broker.fleet("mat-1", box="mat-1"), box_db)
    publisher.start()

    def kill_and_restart() -> None:
        wait_for(lambda: len(fleet_reps(fleet_db, "mat-1")) > 0, what="the first reps")
        broker.kill(signal.SIGKILL)
        broker.start()

    try:
        record_session(box_db, seed=2, pause=kill_and_restart, at=12)
        expected = box_reps(box_db)
        wait_for(lambda: fleet_reps(fleet_db, "mat-1") == expected, 60, what="every rep")
    finally:
        publisher.stop()
        running.stop()
    assert len(expected) == 16
    assert len(set(expected)) == len(expected)


def test_box_sigkilled_with_unacked_reps_sends_them_after_restart(tmp_path, broker):
    fleet_db, box_db = tmp_path / "fleet.db", tmp_path / "box.db"
    config = tmp_path / "box.toml"
    fleet = broker.fleet("mat-2", box="mat-2")
    lines = [f"{k} = {json.dumps(v)}" for k, v in fleet.model_dump().items()]
    config.write_text("[fleet]\n" + "\n".join(lines) + "\n")
    publish = [sys.executable, "-m", "edge", "fleet", "publish", "--config", str(config)]
    broker.kill()  # the broker is down: nothing the box records is acknowledged
    box = subprocess.Popen([*publish, "--db", str(box_db)], cwd=REPO, stderr=subprocess.PIPE)
    record_session(box_db, seed=3)
    record_session(box_db, seed=4)
    box.send_signal(signal.SIGKILL)
    box.wait(10)
    assert (
        not (box_db.parent / "box.db.fleet.json").exists()
        or json.loads((box_db.parent / "box.db.fleet.json").read_text())["acked"] == {}
    )
    broker.start()
    running = Running(broker, fleet_db)
    box = subprocess.Popen([*publish, "--db", str(box_db)], cwd=REPO, stderr=subprocess.PIPE)
    try:
        expected = box_reps(box_db)
        wait_for(lambda: fleet_reps(fleet_db, "mat-2") == expected, 60, what="every rep")
    finally:
        box.send_signal(signal.SIGTERM)
        assert box.wait(10) == 0
        running.stop()
    assert len(expected) == 32


def test_box_credentials_cannot_speak_for_another_box_or_read_the_fleet(tmp_path, broker):
    fleet_db = tmp_path / "fleet.db"
    running = Running(broker, fleet_db)
    received: list[str] = []
    mat1 = make_client(broker.fleet("mat-1", box="mat-1"), "spy", clean_session=True)
    granted: list[bool] = []
    mat1.on_message = lambda c, u, m: received.append(m.topic)
    mat1.on_subscribe = lambda c, u, mid, reasons, p: granted.extend(
        not r.is_failure for r in reasons
    )
    mat1.connect("127.0.0.1", broker.port)
    mat1.loop_start()
    try:
        wait_for(mat1.is_connected, what="mat-1 connected")
        mat1.subscribe(f"hipflex/v1/{GYM}/#", qos=1)
        wait_for(lambda: granted, what="the suback")
        session = {**forged_session(), "id": 99}
        forged = mat1.publish(box_topic(broker.fleet("mat-1", box="mat-1"), SESSION, "mat-2"),
                              json.dumps(session), qos=1)  # fmt: skip
        forged.wait_for_publish(5)
        own = mat1.publish(box_topic(broker.fleet("mat-1", box="mat-1"), HEALTH),
                           json.dumps({"state": "online"}), qos=1)  # fmt: skip
        own.wait_for_publish(5)
        # Real traffic mat-1 would see if it could read the fleet: mat-2's own session.
        mat2 = Publisher(broker.fleet("mat-2", box="mat-2"), tmp_path / "mat2.db")
        record_session(tmp_path / "mat2.db", seed=7)
        mat2.start()
        wait_for(lambda: len(fleet_reps(fleet_db, "mat-2")) == 16, what="mat-2's session")
        mat2.stop()
        wait_for(lambda: _box_names(fleet_db) == ["mat-1", "mat-2"], what="both boxes' health")
    finally:
        mat1.loop_stop()
        mat1.disconnect()
        running.stop()
    # Mosquitto 2.0 grants the subscription but delivers nothing the ACL does not allow.
    assert granted
    assert received == []
    # The forged session under mat-2's name was dropped: mat-2 has only its own one.
    sessions = {row[0] for row in fleet_reps(fleet_db, "mat-2")}
    assert len(sessions) == 1 and not any(key.startswith("99@") for key in sessions)


def forged_session() -> dict:
    analysis = make_analysis(5)
    return {
        **{k: analysis[k] for k in ("source", "model", "fps", "duration_s")},
        "started_at": "2026-01-01T10:00:00Z", "ended_at": "2026-01-01T10:10:00Z",
        "athlete": "Mallory", "sets": [], "status": [], "reps": analysis["reps"],
    }  # fmt: skip


def _box_names(db: Path) -> list[str]:
    conn = open_fleet_db(db).conn
    try:
        return [row[0] for row in conn.execute("SELECT box FROM boxes ORDER BY box")]
    finally:
        conn.close()


@pytest.mark.parametrize("mistake", ["ca", "password"])
def test_wrong_ca_or_password_is_one_clear_line(tmp_path, broker, certs, caplog, mistake):
    over: dict = {}
    if mistake == "ca":
        over["ca_file"] = str(certs[1] / "ca.crt")
    else:
        (tmp_path / "wrong").write_text("not-the-password\n")
        over["password_file"] = str(tmp_path / "wrong")
    box_db = tmp_path / "box.db"
    record_session(box_db, seed=6)
    publisher = Publisher(broker.fleet("mat-1", box="mat-1", **over), box_db)
    caplog.set_level(logging.DEBUG, logger="hipflex.fleet")
    publisher.start()
    try:
        # Three attempts (back-off 1 s, 2 s): the same problem is reported once.
        wait_for(lambda: publisher._attempt >= 3, what="three attempts")
    finally:
        publisher.stop()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    line = warnings[0].getMessage()
    assert "\n" not in line and warnings[0].exc_info is None
    if mistake == "ca":
        assert "certificate" in line and "does not trust" in line and over["ca_file"] in line
    else:
        assert "refused user 'mat-1'" in line and "password_file" in line
    assert publisher.unacked() == 1  # kept for when the fix arrives
    assert set(USERS) >= {"mat-1"}


def test_a_bad_message_is_reported_and_does_not_block_the_queue(tmp_path, broker):
    fleet_db = tmp_path / "fleet.db"
    running = Running(broker, fleet_db)
    box = broker.fleet("mat-1", box="mat-1")
    client = make_client(box, "mat-1-raw", clean_session=True)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        wait_for(client.is_connected, what="mat-1 connected")
        good = {**forged_session(), "id": 7}
        bad = {**forged_session(), "id": 8}
        bad["reps"][0] = {**bad["reps"][0], "leg": "middle"}  # breaks the reps table's CHECK
        for payload in (b"not json", json.dumps(good), json.dumps(bad)):
            client.publish(box_topic(box, SESSION), payload, qos=1).wait_for_publish(5)
        wait_for(lambda: "IntegrityError" in (_error(fleet_db) or ""), what="the CHECK error")
    finally:
        client.loop_stop()
        client.disconnect()
        running.stop()
    status = subprocess.run(
        [sys.executable, "-m", "edge", "fleet", "status", "--db", str(fleet_db), "--json"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    row = json.loads(status)
    assert row["sessions"] == 1
    assert row["error"].startswith("bad session message (IntegrityError: CHECK constraint")


def _error(db: Path) -> str | None:
    conn = open_fleet_db(db).conn
    try:
        row = conn.execute("SELECT error FROM boxes").fetchone()
        return row[0] if row else None  # None too before the box's first message
    finally:
        conn.close()


def test_a_backlog_larger_than_the_in_flight_window_is_all_sent(tmp_path, broker):
    """A box whose fleet reporting is turned on with history already recorded sends it all."""
    fleet_db, box_db = tmp_path / "fleet.db", tmp_path / "box.db"
    with History(box_db) as h:
        for seed in range(3 * MAX_INFLIGHT):
            h.import_analysis(make_analysis(seed, sets=(("left", 2),)), athlete="Ana")
    running = Running(broker, fleet_db)
    publisher = Publisher(broker.fleet("mat-1", box="mat-1"), box_db)
    publisher.start()
    try:
        expected = box_reps(box_db)
        wait_for(lambda: fleet_reps(fleet_db, "mat-1") == expected, what="the whole backlog")
        wait_for(lambda: publisher.unacked() == 0, what="every ack")
    finally:
        publisher.stop()
        running.stop()
    assert len(expected) == 2 * 3 * MAX_INFLIGHT


def test_a_killed_box_goes_offline_by_its_last_will(tmp_path, broker):
    fleet_db, box_db = tmp_path / "fleet.db", tmp_path / "box.db"
    config = tmp_path / "box.toml"
    lines = [
        f"{k} = {json.dumps(v)}" for k, v in broker.fleet("mat-1", box="mat-1").model_dump().items()
    ]
    config.write_text("[fleet]\n" + "\n".join(lines) + "\n")
    record_session(box_db, seed=8)
    running = Running(broker, fleet_db)
    box = subprocess.Popen(
        [sys.executable, "-m", "edge", "fleet", "publish", "--config", str(config),
         "--db", str(box_db)],
        cwd=REPO, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(lambda: _health(fleet_db).get("state") == "online", what="online health")
        health = _health(fleet_db)
        box.send_signal(signal.SIGKILL)
        box.wait(10)
        wait_for(lambda: _health(fleet_db) == {"state": "offline"}, what="the last will")
    finally:
        if box.poll() is None:
            box.kill()
        running.stop()
    assert health["version"] == __version__
    assert (health["model"], health["fps"], health["status"]) == ("blazepose", 30.0, "idle")
    assert health["disk_free_bytes"] > 0 and health["error"] is None


def _health(db: Path) -> dict:
    conn = open_fleet_db(db).conn
    try:
        row = conn.execute("SELECT health FROM boxes").fetchone()
        return json.loads(row[0]) if row else {}
    finally:
        conn.close()


def test_collector_sigkilled_mid_stream_ends_with_every_rep_once(tmp_path, broker):
    """Messages the collector took but had not acknowledged come again after its restart,
    and what arrived while it was down waits at the broker (its session is persistent)."""
    fleet_db, box_db = tmp_path / "fleet.db", tmp_path / "box.db"
    config = tmp_path / "collector.toml"
    values = broker.fleet("collector").model_dump()
    config.write_text("[fleet]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    collect = [sys.executable, "-m", "edge", "fleet", "collect", "--config", str(config),
               "--db", str(fleet_db)]  # fmt: skip
    Running(broker, fleet_db).stop()  # the collector's session exists from now on
    collector = subprocess.Popen(collect, cwd=REPO, stderr=subprocess.PIPE)
    publisher = Publisher(broker.fleet("mat-1", box="mat-1"), box_db)
    publisher.start()
    try:
        for seed in range(30, 36):
            record_session(box_db, seed=seed)
            if seed == 31:
                wait_for(lambda: fleet_reps(fleet_db, "mat-1"), what="the first reps")
                collector.send_signal(signal.SIGKILL)
                collector.wait(10)
            if seed == 34:
                collector = subprocess.Popen(collect, cwd=REPO, stderr=subprocess.PIPE)
        expected = box_reps(box_db)
        wait_for(lambda: fleet_reps(fleet_db, "mat-1") == expected, 60, what="every rep")
    finally:
        publisher.stop()
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(10) == 0
    assert len(expected) == 6 * 16


def test_health_reads_fps_and_status_from_the_live_view(tmp_path):
    """The measured frame rate and the current status come from the running box's live
    view socket (what `hipflex watch` reads); the history's values stand in without it."""
    box_db = tmp_path / "box.db"
    record_session(box_db, seed=9)
    fleet = FleetConfig(enabled=False)
    without = Publisher(fleet, box_db)
    without._fingerprints()  # opens the history, as the running thread does
    assert (without.health()["fps"], without.health()["status"]) == (30.0, "idle")
    sock = tmp_path / "live.sock"
    stop = threading.Event()
    with LiveFeed(sock, interval_s=0.0) as feed:

        def serve() -> None:
            while not stop.is_set():
                feed.publish({"t": 1.0, "status": "not_lying", "fps": 14.7})
                stop.wait(0.02)

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        try:
            live = Publisher(fleet, box_db, live_socket=sock)
            live._fingerprints()
            health = live.health()
        finally:
            stop.set()
            server.join(5)
    assert (health["fps"], health["status"]) == (14.7, "not_lying")
