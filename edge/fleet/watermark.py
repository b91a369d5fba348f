"""The publisher's watermark: per session, the content the broker has acknowledged.

A JSON file beside the history, replaced atomically (write, fsync, rename), so a kill or a
power cut leaves the old or the new one. Losing it costs nothing but a resend: the
collector stores a session sent twice once.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger("hipflex.fleet")


def state_path(db: Path) -> Path:
    return db.with_name(db.name + ".fleet.json")


def session_key(session_id: int, started_at: str) -> str:
    """A session's identity on the wire; the start time guards against a reused row id."""
    return f"{session_id}@{started_at}"


class Watermark:
    """Per session, the fingerprint the broker has acknowledged; saved atomically."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.acked: dict[str, str] = json.loads(path.read_text())["acked"]
        except FileNotFoundError:
            self.acked = {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("fleet: %s unreadable (%s); every session is sent again", path, exc)
            self.acked = {}
        self.dirty = False

    def ack(self, key: str, fingerprint: str) -> None:
        self.acked[key] = fingerprint
        self.dirty = True

    def keep_only(self, keys: set[str]) -> None:
        """Forget sessions the history no longer has (retention deleted them)."""
        for key in set(self.acked) - keys:
            del self.acked[key]
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "w") as f:
                json.dump({"acked": self.acked}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk: the next save retries; resending is harmless
            log.warning("fleet: cannot save %s: %s", self.path, exc.strerror)
            return
        self.dirty = False
