"""The live view's server side: the running loop publishes its state on a Unix socket and
`hipflex watch` clients read it. No network port is ever opened. `snapshot` turns the
judge's live state into the message below.

Publishing never blocks the loop: sockets are non-blocking, new clients are accepted inside
`publish` (no thread), and a client that cannot take a whole message at once is dropped
rather than waited for. Each message is one JSON object on one line.

The state the loop publishes (every key optional; `hipflex watch` shows what is there):
    {"t": session seconds, "status": "ok" | "not_lying" | ..., "fps": float,
     "athlete": str, "set": int, "working_leg": "left" | "right" | None,
     "legs": {"left": {"hip_flexion_deg": float | None, "knee_flexion_deg": float | None,
                       "reps": int, "good_reps": int}, "right": {...}},
     "last_faults": [{"t": float, "leg": str, "fault": str, "rep": int}, ...]}
"""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.errors import HipflexError
from edge.paths import socket_file

if TYPE_CHECKING:
    from edge.judge.live import LiveState

log = logging.getLogger(__name__)

DEFAULT_SOCKET = Path("/run/hipflex/live.sock")
SOCKET_GROUP = "hipflex"
SOCKET_MODE = 0o660
MAX_CLIENTS = 64  # a coach's SSH sessions and then some; each costs one send per snapshot
TOO_MANY = b'{"error": "too many viewers"}\n'


def default_socket_path() -> Path:
    return Path(os.environ.get("HIPFLEX_SOCKET") or DEFAULT_SOCKET)


def snapshot(live: LiveState, t: float, fps: float, athlete: str) -> dict[str, Any]:
    """The message for `hipflex watch` (the format above) from the judge's live state."""
    legs = {
        name: {
            "hip_flexion_deg": _finite(live.hip_flexion_deg[i]),
            "knee_flexion_deg": _finite(live.knee_flexion_deg[i]),
            "reps": live.reps[name],
            "good_reps": live.good_reps[name],
        }
        for i, name in enumerate(("left", "right"))
    }
    return {
        "t": round(t, 2),
        "status": live.status,
        "fps": round(fps, 1),
        "athlete": athlete,
        "set": live.set,
        "working_leg": live.working_leg,
        "legs": legs,
        "last_faults": list(live.recent_faults),
    }


class LiveFeed:
    """A Unix stream socket server the live loop pushes state snapshots to."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = Path(path) if path is not None else default_socket_path()
        self._interval = interval_s
        self._clock = clock
        self._next = 0.0
        self._clients: list[socket.socket] = []
        self._server = self._listen()
        self._inode = os.stat(self.path).st_ino

    def _listen(self) -> socket.socket:
        """Bind under a temporary name, set mode and group, then rename into place, so the
        socket is never reachable with looser permissions and a stale one from a killed
        run is replaced atomically."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            server.bind(str(tmp))
            os.chmod(tmp, SOCKET_MODE)
            _set_group(tmp)
            server.listen(MAX_CLIENTS)
            server.setblocking(False)
            socket_file(self.path)  # only a socket is ever replaced, never a file
            os.replace(tmp, self.path)
        except (OSError, HipflexError) as exc:
            server.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, HipflexError):
                raise
            raise HipflexError(f"cannot open the live view socket {self.path}: {exc}") from None
        return server

    @property
    def clients(self) -> int:
        return len(self._clients)

    def due(self) -> bool:
        """True when the next snapshot is due: lets the loop skip building the state dict
        on the frames in between."""
        return self._clock() >= self._next

    def publish(self, state: Mapping[str, Any]) -> None:
        """Send one snapshot to every client; returns at once whatever the clients do."""
        self._next = self._clock() + self._interval
        self._accept()
        if not self._clients:
            return
        line = (json.dumps(state, default=_jsonable) + "\n").encode()
        for client in list(self._clients):
            try:
                sent = client.send(line)
            except OSError:  # gone (EPIPE, ECONNRESET) or too slow to drain (EAGAIN)
                sent = -1
            if sent != len(line):
                self._drop(client)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("live view: accept failed: %s", exc)
                return
            if len(self._clients) >= MAX_CLIENTS:
                # Say why, so `hipflex watch` does not report the box as stopped.
                with contextlib.suppress(OSError):
                    client.setblocking(False)
                    client.send(TOO_MANY)
                client.close()
                continue
            client.setblocking(False)
            client.shutdown(socket.SHUT_RD)  # clients only listen
            self._clients.append(client)

    def _drop(self, client: socket.socket) -> None:
        self._clients.remove(client)
        client.close()

    def close(self) -> None:
        for client in list(self._clients):
            self._drop(client)
        self._server.close()
        # Remove the socket only if it is still ours (not a newer run's).
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _set_group(path: Path) -> None:
    try:
        gid = grp.getgrnam(SOCKET_GROUP).gr_gid
    except KeyError:
        return  # no hipflex group on this machine (development): the owner alone reads it
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        log.warning("live view: cannot give %s to group %s", path, SOCKET_GROUP)


def _jsonable(value: Any) -> Any:
    """numpy scalars become Python numbers (NaN, an angle not seen, stays NaN: the reader
    is Python's json, which reads it)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"live view state holds a {type(value).__name__}")


def _finite(x: float) -> float | None:
    return round(x, 1) if math.isfinite(x) else None
