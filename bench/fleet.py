"""Fleet reporting against a real Mosquitto (TLS, password file, ACL) on 127.0.0.1.

    .venv/bin/python bench/fleet.py [--acks 300] [--reps 20] [--sessions 300]

Three numbers, each through the real parts (paho, Mosquitto, SQLite with the history's
synchronous=FULL):
- broker ack: one session message (a 16-rep session, as `history --json` prints it) from
  publish() to the broker's PUBACK, one at a time;
- rep to fleet: a rep committed to the box's history until it is in the collector's fleet
  database, through edge.fleet.publisher (it polls the history every second) and
  edge.fleet.collector, reps recorded 0.7 s apart;
- collector throughput: sessions queued at the broker while the collector is away, then
  stored by it, in reps per second (into SQLite, and into PostgreSQL with --postgres URL:
  the box names repeat between runs, so give it an empty database).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fleet_broker import Broker, make_certs, wait_for  # noqa: E402
from history_data import make_analysis  # noqa: E402

from edge.analysis import analysis_events  # noqa: E402
from edge.fleet import SESSION, box_topic  # noqa: E402
from edge.fleet.collector import Collector  # noqa: E402
from edge.fleet.mqtt import make_client  # noqa: E402
from edge.fleet.publisher import Publisher  # noqa: E402
from edge.fleet.store import open_fleet_db  # noqa: E402
from edge.history import History  # noqa: E402


def ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"median {1e3 * statistics.median(values):.1f} ms, p95 {1e3 * q[18]:.1f} ms"


def session_payload(seed: int) -> dict:
    analysis = make_analysis(seed)
    return {
        "id": seed, "started_at": f"2026-01-01T{seed // 3600 % 24:02d}:{seed // 60 % 60:02d}:"
        f"{seed % 60:02d}Z", "ended_at": "2026-01-01T23:59:59Z", "athlete": "Ana",
        "source": analysis["source"], "model": analysis["model"], "fps": analysis["fps"],
        "duration_s": analysis["duration_s"], "sets": [], "status": analysis["status"],
        "reps": analysis["reps"],
    }  # fmt: skip


def connected(broker: Broker, user: str, box: str) -> object:
    client = make_client(broker.fleet(user, box=box), f"bench-{user}", clean_session=True)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    wait_for(client.is_connected, what=f"{user} connected")
    return client


def broker_acks(broker: Broker, n: int) -> list[float]:
    client = connected(broker, "mat-1", "mat-1")
    topic = box_topic(broker.fleet("mat-1", box="mat-1"), SESSION)
    times = []
    try:
        for i in range(n):
            payload = json.dumps(session_payload(10_000 + i))
            t0 = time.perf_counter()
            client.publish(topic, payload, qos=1).wait_for_publish(10)
            times.append(time.perf_counter() - t0)
    finally:
        client.loop_stop()
        client.disconnect()
    return times


def rep_to_fleet(broker: Broker, root: Path, n: int) -> list[float]:
    fleet_db, box_db = root / "latency-fleet.db", root / "latency-box.db"
    collector = Collector(broker.fleet("collector"), fleet_db)
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    wait_for(collector.subscribed.is_set, what="subscription")
    publisher = Publisher(broker.fleet("mat-2", box="mat-2"), box_db)
    publisher.start()
    reader = open_fleet_db(fleet_db).conn
    times = []
    analysis = make_analysis(1, sets=(("right", n),))
    try:
        with History(box_db) as history:
            history.start_session("Ana", "bench", "blazepose", 30.0)
            for event in analysis_events(analysis):
                history.record(event)
                if event.type != "rep":
                    continue
                t0 = time.perf_counter()
                want = event.data["index"]
                while reader.execute("SELECT count(*) FROM reps").fetchone()[0] < want:
                    time.sleep(0.002)
                times.append(time.perf_counter() - t0)
                time.sleep(0.7)
    finally:
        publisher.stop()
        collector.stop()
        thread.join(10)
        reader.close()
    return times


def collector_throughput(broker: Broker, fleet_db: str | Path, sessions: int) -> tuple[int, float]:
    # Subscribe once so the broker keeps a persistent session for the collector, then leave.
    first = Collector(broker.fleet("collector"), fleet_db)
    thread = threading.Thread(target=first.run, daemon=True)
    thread.start()
    wait_for(first.subscribed.is_set, what="subscription")
    first.stop()
    thread.join(10)
    client = connected(broker, "mat-1", "mat-1")
    topic = box_topic(broker.fleet("mat-1", box="mat-1"), SESSION)
    payloads = [session_payload(20_000 + i) for i in range(sessions)]
    for p in payloads:
        client.publish(topic, json.dumps(p), qos=1)
    wait_for(lambda: client.want_write() is False, 60, what="queued")
    time.sleep(1.0)
    client.loop_stop()
    client.disconnect()
    reps = sum(len(p["reps"]) for p in payloads)
    collector = Collector(broker.fleet("collector"), fleet_db)
    thread = threading.Thread(target=collector.run, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    wait_for(lambda: collector.stored_reps >= reps, 600, what="every queued rep")
    elapsed = time.perf_counter() - t0
    collector.stop()
    thread.join(10)
    return reps, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acks", type=int, default=300)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=300)
    ap.add_argument("--postgres", metavar="URL", help="also the throughput into PostgreSQL")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        certs, _ = make_certs(root)
        broker = Broker(root / "broker", certs)
        broker.start()
        try:
            print(f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
            size = len(json.dumps(session_payload(1)))
            print(f"broker ack, {args.acks} session messages of {size} bytes: "
                  f"{ms(broker_acks(broker, args.acks))}")  # fmt: skip
            print(f"rep to fleet database, {args.reps} reps: "
                  f"{ms(rep_to_fleet(broker, root, args.reps))}")  # fmt: skip
            targets = [("SQLite", root / "throughput-fleet.db")]
            targets += [("PostgreSQL", args.postgres)] if args.postgres else []
            for name, target in targets:
                reps, elapsed = collector_throughput(broker, target, args.sessions)
                print(f"collector into {name}: {reps} queued reps ({args.sessions} sessions) "
                      f"stored in {elapsed:.2f} s = {reps / elapsed:.0f} reps/s")  # fmt: skip
        finally:
            broker.kill()


if __name__ == "__main__":
    main()
