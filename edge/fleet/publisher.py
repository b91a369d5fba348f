"""The box's publisher: the history database, sent to the broker, losing nothing.

Why from the database and not from the live events: the database is what survives a crash
or a reboot, so publishing from it means a rep the box stored is a rep the gym gets. What
the broker has acknowledged (QoS 1 PUBACK) is remembered per session as a fingerprint of
its content in a small JSON file beside the database (the watermark); a session whose
current fingerprint is not acknowledged is sent again, after a reconnect or a reboot alike.
A whole session is one message, so a repeat is harmless: the collector keeps the newest.

It runs in its own thread with its own read-only connection (WAL: readers never block the
loop's writes) and never touches the frame loop: a dead broker costs a connection attempt
every few seconds to a minute in this thread, nothing in the loop's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge import __version__
from edge.config.fleet import FleetConfig
from edge.errors import HipflexError
from edge.fleet import HEALTH, SESSION, box_topic
from edge.fleet.mqtt import KEEPALIVE_S, connect_error, make_client, refused_line
from edge.fleet.watermark import Watermark, session_key, state_path

log = logging.getLogger("hipflex.fleet")

MAX_INFLIGHT = 8  # sessions sent but not yet acknowledged
HEALTH_EVERY_S = 30.0
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

# One row per session: what changes when the session does (series are never sent).
_FINGERPRINTS = """
SELECT s.id, s.started_at,
       coalesce(s.ended_at, '') || '|' || coalesce(s.duration_s, '') || '|' ||
       (SELECT count(*) FROM sets WHERE session_id = s.id) || '|' ||
       (SELECT count(*) FROM reps WHERE session_id = s.id) || '|' ||
       (SELECT count(*) FROM status_periods WHERE session_id = s.id) || '|' ||
       (SELECT count(end_s) FROM status_periods WHERE session_id = s.id)
FROM sessions s ORDER BY s.id
"""


class Publisher:
    """Start it, and stop it at exit; everything else happens in its thread."""

    def __init__(
        self,
        fleet: FleetConfig,
        db_path: Path,
        *,
        model: str = "",
        poll_s: float = 1.0,
        live_socket: Path | None = None,
    ):
        """`live_socket`: the running box's live view, read like `hipflex watch` does for
        the measured fps and the current status in the health message."""
        self.fleet = fleet
        self.db_path = Path(db_path)
        self.live_socket = live_socket
        self.model = model
        self.poll_s = poll_s
        self.watermark = Watermark(state_path(self.db_path))
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._linked = False  # connect() done, no disconnect seen since
        self._rescan = True  # scan the history even if it did not change
        self._backlog = False  # sessions left unsent because MAX_INFLIGHT were in flight
        self._data_version: int | None = None
        self._inflight: dict[int, tuple[str, str]] = {}  # mid -> (key, fingerprint)
        self._sent: dict[str, str] = {}  # key -> fingerprint in flight
        self._attempt = 0
        self._next_attempt = 0.0
        self._next_health = 0.0
        self._last_error = ""
        self._conn: sqlite3.Connection | None = None
        self._history: Any = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Say "offline" if connected, then disconnect; unacked sessions wait for next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._step()
                except Exception as exc:  # a bug of ours: never the box's problem
                    log.error("fleet: publisher error, retrying in 60 s: %s", exc, exc_info=True)
                    self._close_db()
                    self._stop.wait(60.0)
        finally:
            self._shutdown()

    def _step(self) -> None:
        if not self._linked and not self._try_connect():
            self._stop.wait(0.2)
            return
        if self._client.loop(timeout=self.poll_s / 4) != 0:
            self._linked = False
            self.connected.clear()
            return
        if self.connected.is_set():
            self.publish_changes()
            if time.monotonic() >= self._next_health:
                self._publish_health()
        self.watermark.save()

    # ----------------------------------------------------------- connection

    def _try_connect(self) -> bool:
        now = time.monotonic()
        if now < self._next_attempt:
            return False
        self._next_attempt = now + BACKOFF_S[min(self._attempt, len(BACKOFF_S) - 1)]
        self._attempt += 1
        self._forget_inflight()
        try:
            if self._client is None:
                self._client = self._make_client()
            self._client.connect(self.fleet.broker_host, self.fleet.broker_port, KEEPALIVE_S)
            self._linked = True  # until on_disconnect or a failed loop()
        except HipflexError as exc:
            self._error(str(exc))
            self._client = None
            return False
        except (OSError, ValueError) as exc:
            self._error(connect_error(self.fleet, exc))
            return False
        return True

    def _make_client(self) -> Any:
        client = make_client(
            self.fleet, f"hipflex-{self.fleet.gym}-{self.fleet.box}", clean_session=True
        )
        client.will_set(box_topic(self.fleet, HEALTH), _offline(), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self._error(refused_line(self.fleet, reason))
            client.disconnect()
            return
        log.info(
            "fleet: connected to %s:%d as %s/%s",
            self.fleet.broker_host, self.fleet.broker_port, self.fleet.gym, self.fleet.box,
        )  # fmt: skip
        self._attempt = 0
        self._last_error = ""
        self._next_health = 0.0
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        if self.connected.is_set() and not self._stop.is_set():
            log.warning("fleet: lost the broker (%s); resending what it did not ack", reason)
        self._linked = False
        self.connected.clear()
        self._forget_inflight()

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        sent = self._inflight.pop(mid, None)
        if sent is not None:
            key, fingerprint = sent
            if self._sent.get(key) == fingerprint:  # not when a newer copy is in flight
                del self._sent[key]
            self.watermark.ack(key, fingerprint)
            if self._backlog:
                self._backlog, self._rescan = False, True

    def _forget_inflight(self) -> None:
        self._inflight.clear()
        self._sent.clear()
        self._rescan = True

    def _error(self, line: str) -> None:
        """Log a failure once until it changes or a connection succeeds: one clear line."""
        if line != self._last_error:
            log.warning("%s; retrying, the box keeps coaching", line)
            self._last_error = line
        else:
            log.debug("%s", line)

    # ----------------------------------------------------------- publishing

    def publish_changes(self) -> int:
        """Send every session whose content the broker has not acknowledged; returns how
        many were sent. Bounded by MAX_INFLIGHT so a year of backlog goes out in steps.
        The full scan (about 6 ms for 1,000 sessions on a PC) runs only when the history
        changed, or when something still waits to be sent: a few microseconds otherwise."""
        if not (self._rescan or self._history_changed()):
            return 0
        self._rescan = False
        rows = self._fingerprints()
        if rows is None:
            self._rescan = True
            return 0
        self.watermark.keep_only({key for key, _, _ in rows})
        sent = 0
        for key, session_id, fingerprint in rows:
            if len(self._inflight) >= MAX_INFLIGHT:
                self._backlog = True  # the next ack rescans
                break
            if fingerprint in (self.watermark.acked.get(key), self._sent.get(key)):
                continue
            session = self._session(session_id)
            if session is None:
                self._rescan = True
                return sent
            info = self._client.publish(box_topic(self.fleet, SESSION), json.dumps(session), qos=1)
            if info.rc != 0:  # not connected any more: the reconnect resends it
                self._rescan = True
                return sent
            self._inflight[info.mid] = (key, fingerprint)
            self._sent[key] = fingerprint
            sent += 1
        return sent

    def _history_changed(self) -> bool:
        """Whether another connection committed to the history since the last call."""
        try:
            if self._conn is None:
                return True
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return True
        changed = version != self._data_version
        self._data_version = version
        return changed

    def unacked(self) -> int | None:
        """Sessions whose newest content the broker has not acknowledged (None: unknown)."""
        rows = self._fingerprints()
        if rows is None:
            return None
        return sum(1 for key, _, fp in rows if self.watermark.acked.get(key) != fp)

    def _fingerprints(self) -> list[tuple[str, int, str]] | None:
        try:
            if self._conn is None:
                if not self.db_path.exists():
                    return None
                uri = f"{self.db_path.resolve().as_uri()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=5.0, check_same_thread=False)
            rows = self._conn.execute(_FINGERPRINTS).fetchall()
        except sqlite3.Error as exc:
            self._close_db()
            self._error(f"fleet: cannot read the history {self.db_path} ({exc})")
            return None
        return [(session_key(sid, started), sid, fp) for sid, started, fp in rows]

    def _session(self, session_id: int) -> dict[str, Any] | None:
        from edge.history import History

        try:
            if self._history is None:
                self._history = History(self.db_path, readonly=True)
            return self._history.session(session_id)
        except (HipflexError, sqlite3.Error) as exc:
            self._close_db()
            self._error(f"fleet: cannot read session {session_id} ({exc})")
            return None

    def _close_db(self) -> None:
        self._rescan = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._history is not None:
            self._history.close()
            self._history = None

    def health(self) -> dict[str, Any]:
        """What the coach's `hipflex fleet status` shows for this box."""
        latest: dict[str, Any] = {}
        row = None
        if self._conn is not None:  # None: no history database yet
            with contextlib.suppress(sqlite3.Error):
                row = self._conn.execute(
                    "SELECT s.id, s.ended_at, s.fps, s.model, (SELECT status FROM "
                    "status_periods p WHERE p.session_id = s.id AND p.end_s IS NULL "
                    "ORDER BY p.id DESC LIMIT 1) FROM sessions s ORDER BY s.id DESC LIMIT 1"
                ).fetchone()
        if row is not None:
            latest = {"open": row[1] is None, "fps": row[2], "model": row[3], "status": row[4]}
        try:
            free = shutil.disk_usage(self.db_path.parent).free
        except OSError:
            free = None
        status = "idle"
        if latest.get("open"):
            status = latest.get("status") or "coaching"
        live = self._live_state()
        return {
            "state": "online",
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": __version__,
            "model": self.model or latest.get("model") or "",
            "fps": live.get("fps", latest.get("fps")),
            "status": live.get("status", status),
            "disk_free_bytes": free,
            "unsent_sessions": self.unacked(),
            "error": self._last_error or None,
        }

    def _live_state(self) -> dict[str, Any]:
        """One snapshot of the live view ({} without one): a Unix socket, like `watch`."""
        if self.live_socket is None:
            return {}
        buf = b""
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(1.0)
            sock.connect(str(self.live_socket))
            while b"\n" not in buf and len(buf) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                buf += chunk
        try:
            state = json.loads(buf.split(b"\n", 1)[0])
        except ValueError:
            return {}
        if not isinstance(state, dict) or "error" in state:
            return {}
        return {k: state[k] for k in ("fps", "status") if k in state}

    def _publish_health(self) -> None:
        self._next_health = time.monotonic() + HEALTH_EVERY_S
        payload = json.dumps(self.health())
        self._client.publish(box_topic(self.fleet, HEALTH), payload, qos=1, retain=True)

    def _shutdown(self) -> None:
        """Send what changed last (the session's end), then "offline"; give up after 2 s:
        whatever is still unacked is sent at the next start."""
        client = self._client
        if client is not None and self.connected.is_set():
            deadline = time.monotonic() + 2.0
            self.publish_changes()
            while self._inflight and self.connected.is_set() and time.monotonic() < deadline:
                client.loop(timeout=0.05)
            info = client.publish(box_topic(self.fleet, HEALTH), _offline(), qos=1, retain=True)
            while not info.is_published() and time.monotonic() < deadline:
                client.loop(timeout=0.05)
            client.disconnect()
            client.loop(timeout=0.05)
        self.watermark.save()
        self._close_db()


def _offline() -> str:
    return json.dumps({"state": "offline"})


def start_publisher(
    fleet: FleetConfig, db_path: Path, model: str = "", live_socket: Path | None = None
) -> Publisher | None:
    """The running publisher when fleet reporting is on, else None (and no socket)."""
    if not fleet.enabled:
        return None
    publisher = Publisher(fleet, db_path, model=model, live_socket=live_socket)
    publisher.start()
    return publisher
