"""hipflex fleet collect|status|publish: the gym-wide side of fleet reporting."""

from __future__ import annotations

import argparse
import json
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.commands import add_config_option

HELP = "fleet reporting over MQTT: collect every box's sessions, show the boxes' health"
FLEET_DB_HELP = "fleet database: a path (default /var/lib/hipflex/fleet.db) or a postgresql:// URL"
ONLINE_WITHIN_S = 90.0  # three missed health messages (every 30 s) make a box offline


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="fleet_command", required=True, metavar="ACTION")
    collect = sub.add_parser(
        "collect", help="subscribe to the gym's boxes and store their sessions (a service)"
    )
    add_config_option(collect)
    _db_option(collect, FLEET_DB_HELP)
    status = sub.add_parser("status", help="every box: last seen, online or offline, errors")
    _db_option(status, FLEET_DB_HELP)
    status.add_argument("--json", action="store_true", help="one JSON object per box")
    publish = sub.add_parser(
        "publish",
        help="publish this box's history in the foreground until stopped (hipflex run "
        "already does this when fleet.enabled is true)",
    )
    add_config_option(publish)
    _db_option(publish, "history database (default storage.db_path)")
    dropin = sub.add_parser(
        "dropin",
        help="print the systemd drop-in that lets hipflex.service reach the broker; nothing "
        "when fleet.enabled is false (sudo make install uses it)",
    )
    add_config_option(dropin)


def _db_option(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--db", metavar="PATH", help=text)


def run(args: argparse.Namespace) -> int:
    actions = {"collect": _collect, "status": _status, "publish": _publish, "dropin": _dropin}
    return actions[args.fleet_command](args)


def _until_signalled(stop: Any) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _collect(args: argparse.Namespace) -> int:
    from edge.config.load import load_config
    from edge.fleet.collector import Collector
    from edge.fleet.store import DEFAULT_FLEET_DB

    config = load_config(args.config)
    collector = Collector(config.fleet, args.db or DEFAULT_FLEET_DB)
    _until_signalled(collector.stop)
    collector.run()
    return 0


def _publish(args: argparse.Namespace) -> int:
    import threading

    from edge.config.load import load_config
    from edge.errors import HipflexError
    from edge.fleet.publisher import Publisher
    from edge.runlock import RunLock

    config = load_config(args.config)
    if not config.fleet.enabled:
        raise HipflexError("fleet.enabled is false in the config: nothing is published")
    publisher = Publisher(
        config.fleet, Path(args.db or config.storage.db_path), model=config.model.backend
    )
    done = threading.Event()
    _until_signalled(done.set)
    # Not beside a running box: hipflex run publishes itself, and two clients with one id
    # would take the broker connection from each other.
    with RunLock():
        publisher.start()
        done.wait()
        publisher.stop()
    return 0


def _status(args: argparse.Namespace) -> int:
    from edge.fleet.store import DEFAULT_FLEET_DB, open_fleet_db

    path = args.db or DEFAULT_FLEET_DB
    store = open_fleet_db(path, readonly=True)
    try:
        rows = store.boxes()
    finally:
        store.close()
    now = datetime.now(UTC)
    for row in rows:
        row["online"] = row["state"] == "online" and _age_s(row["last_seen"], now) <= (
            ONLINE_WITHIN_S
        )
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(f"no box has reported to {path} yet")
        return 0
    _print_table(rows, now)
    return 0


def _age_s(utc: str, now: datetime) -> float:
    try:
        return (now - datetime.fromisoformat(utc)).total_seconds()
    except ValueError:
        return float("inf")


def _print_table(rows: list[dict[str, Any]], now: datetime) -> None:
    from rich.console import Console
    from rich.table import Table

    from edge.commands.history import local_time

    table = Table(title="hipflex fleet", title_justify="left", header_style="bold")
    for name, justify in (("box", "left"), ("last seen", "left"), ("state", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("sessions", justify="right")
    table.add_column("status")
    table.add_column("error")
    for row in rows:
        health = row["health"]
        age = _age_s(row["last_seen"], now)
        ago = f"{int(age // 60)} min ago" if age < 86400 else "days ago"
        unsent = health.get("unsent_sessions")
        status = str(health.get("status") or "-")
        if unsent:
            status += f", {unsent} unsent"
        table.add_row(
            row["box"],
            f"{local_time(row['last_seen'])} ({ago})",
            "online" if row["online"] else "offline",
            str(row["sessions"]),
            status,
            row["error"] or health.get("error") or "-",
        )
    Console(width=160).print(table)


DROPIN = """\
# Fleet reporting for hipflex.service: /etc/systemd/system/hipflex.service.d/fleet.conf
# Written by `sudo make install` only while /etc/hipflex/config.toml has [fleet] enabled =
# true (`hipflex fleet dropin` prints it), and removed by it once fleet is off again.
# Without it the box has no network at all. With it, the service may open IPv4/IPv6
# sockets, to the broker's addresses (resolved at install) and nowhere else: no DNS, so
# broker_host should be an IP address or in /etc/hosts. Run make install again when the
# broker's address changes.
[Service]
PrivateNetwork=no
RestrictAddressFamilies=AF_INET AF_INET6
"""


def _dropin(args: argparse.Namespace) -> int:
    import socket

    from edge.config.load import load_config
    from edge.errors import HipflexError

    fleet = load_config(args.config).fleet
    if not fleet.enabled:
        return 0
    try:
        infos = socket.getaddrinfo(fleet.broker_host, fleet.broker_port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HipflexError(
            f"fleet: cannot resolve broker_host {fleet.broker_host!r} ({exc.strerror})"
        ) from None
    addresses = sorted({str(info[4][0]) for info in infos})
    print(DROPIN + "".join(f"IPAddressAllow={a}\n" for a in addresses), end="")
    return 0
