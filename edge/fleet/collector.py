"""`hipflex fleet collect`: subscribe to every box of the gym and store what they send.

The collector's broker session is persistent (clean_session off, a fixed client id), so the
broker keeps what the boxes publish while the collector is down. Each message is
acknowledged by hand, only after its transaction has committed: a collector killed or out
of disk mid-message gets it again, and storing twice is harmless (edge.fleet.store).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from edge.config.fleet import FleetConfig
from edge.errors import HipflexError
from edge.fleet import HEALTH, SESSION, gym_filter, parse_topic
from edge.fleet.mqtt import KEEPALIVE_S, connect_error, make_client, refused_line
from edge.fleet.store import open_fleet_db

log = logging.getLogger("hipflex.fleet")

NEEDED = ("broker_host", "ca_file", "username", "password_file", "gym")
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


def check_collector_config(fleet: FleetConfig) -> None:
    missing = [name for name in NEEDED if not getattr(fleet, name)]
    if missing:
        raise HipflexError(f"fleet collect needs fleet.{', fleet.'.join(missing)} in the config")


class Collector:
    def __init__(self, fleet: FleetConfig, db: str | Path):
        """`db`: a SQLite path or a postgresql:// URL (edge.fleet.store)."""
        check_collector_config(fleet)
        self.fleet = fleet
        self.store = open_fleet_db(db)
        self.db_label = str(db)
        if self.store.postgres:
            from edge.fleet.pg import safe_url

            self.db_label = safe_url(str(db))  # never a password in the journal
        self.stored_reps = 0
        self.stored_sessions = 0
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._last_error = ""
        self._attempt = 0
        self._linked = False
        self._client = make_client(
            fleet, f"hipflex-collector-{fleet.gym}-{fleet.username}", clean_session=False
        )
        self._client.manual_ack_set(True)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Until stop(): connect, and reconnect with back-off, one line per new problem."""
        try:
            while not self._stop.is_set():
                if not self._linked:
                    if self._attempt:
                        self._stop.wait(BACKOFF_S[min(self._attempt, len(BACKOFF_S)) - 1])
                    self._attempt += 1
                    try:
                        self._client.connect(
                            self.fleet.broker_host, self.fleet.broker_port, KEEPALIVE_S
                        )
                    except (OSError, ValueError) as exc:
                        self._error(connect_error(self.fleet, exc))
                        continue
                    self._linked = True  # until on_disconnect or a failed loop()
                if self._client.loop(timeout=0.5) != 0:
                    self._linked = False
        finally:
            if self._client.is_connected():
                self._client.disconnect()
            self.store.close()

    def _error(self, line: str) -> None:
        if line != self._last_error:
            log.warning("%s; retrying", line)
            self._last_error = line

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self._error(refused_line(self.fleet, reason))
            client.disconnect()
            return
        self._last_error = ""
        log.info(
            "fleet: collector connected to %s:%d, storing in %s",
            self.fleet.broker_host, self.fleet.broker_port, self.db_label,
        )  # fmt: skip
        client.subscribe(gym_filter(self.fleet), qos=1)

    def _on_subscribe(self, client, userdata, mid, reasons, properties) -> None:
        if any(r.is_failure for r in reasons):
            self._error(f"fleet: the broker does not let {self.fleet.username!r} read the gym")
            return
        self._attempt = 0
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self._linked = False
        self.subscribed.clear()
        if not self._stop.is_set() and not self._last_error:
            log.warning("fleet: collector lost the broker (%s); reconnecting", reason)

    def _on_message(self, client, userdata, message) -> None:
        where = parse_topic(self.fleet, message.topic)
        try:
            if where is not None:
                self._store(*where, message.payload, bool(message.retain))
        except self.store.transient as exc:
            # Not acknowledged: the broker sends it again once the database takes writes.
            log.error("fleet: cannot store into the fleet database (%s); will retry", exc)
            client.disconnect()
            self._stop.wait(5.0)
            return
        client.ack(message.mid, message.qos)

    def _store(self, box: str, kind: str, payload: bytes, retained: bool) -> None:
        try:
            data: Any = json.loads(payload) if payload else {}
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if kind == SESSION:
                if self.store.store_session(box, data):
                    self.stored_sessions += 1
                    self.stored_reps += len(data["reps"])
                self.store.seen(box)
            elif kind == HEALTH:
                self.store.store_health(box, data, retained)
        except (ValueError, KeyError, TypeError, AttributeError, *self.store.bad_data) as exc:
            # A payload no retry can fix (a CHECK it breaks included): acknowledged, so it
            # cannot block the queue, and kept visible in `fleet status`.
            line = f"bad {kind} message ({type(exc).__name__}: {exc})"
            log.warning("fleet: box %s sent a %s", box, line)
            self.store.seen(box, error=line)
