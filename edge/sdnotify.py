"""systemd's sd_notify protocol with the standard library alone (no libsystemd binding).

Under `Type=notify` systemd passes a datagram socket in $NOTIFY_SOCKET: a path, or a name in
the abstract namespace written with a leading "@". Each message is newline-separated
KEY=VALUE lines. Outside systemd the variable is unset and every call is a cheap no-op, so
the live loop calls these unconditionally.
"""

from __future__ import annotations

import logging
import os
import socket
import time

ENV_SOCKET = "NOTIFY_SOCKET"

log = logging.getLogger(__name__)
_failing = False


def notify(state: str) -> bool:
    """Send `state` (e.g. "READY=1\\nSTATUS=running"). True if it was sent.

    Never blocks and never raises: the frame loop calls this, and a notify socket that is
    gone or not being read must not stall the box. A failed send is logged and returns
    False; a watchdog ping that cannot be delivered lets systemd act, which is right.
    """
    address = os.environ.get(ENV_SOCKET)
    if not address:
        return False
    if address[0] == "@":
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), socket.MSG_DONTWAIT, address)
    except OSError as exc:
        global _failing
        if not _failing:  # once per outage, not once per frame
            log.warning("sd_notify %s failed: %s", state.partition("\n")[0], exc)
        _failing = True
        return False
    _failing = False
    return True


def ready(status_text: str | None = None) -> bool:
    """Start-up is done: systemd now reports the unit active and starts units ordered after."""
    return notify("READY=1" + (f"\nSTATUS={_one_line(status_text)}" if status_text else ""))


def watchdog() -> bool:
    """Still alive; without this every WatchdogSec systemd kills and restarts the service."""
    return notify("WATCHDOG=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def reloading() -> bool:
    """A SIGHUP reload began; send ready() when it is done. MONOTONIC_USEC is required by
    Type=notify-reload (systemd 253+) and ignored by older versions."""
    # CLOCK_MONOTONIC is the clock systemd compares MONOTONIC_USEC against.
    now_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify(f"RELOADING=1\nMONOTONIC_USEC={now_us}")


def status(text: str) -> bool:
    """Free text shown by `systemctl status hipflex`."""
    return notify(f"STATUS={_one_line(text)}")


def watchdog_interval() -> float | None:
    """The watchdog period in seconds if systemd expects pings from this process, else None.
    Ping at half of it or more often."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process, e.g. a wrapper that exec'd us in a child
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 if value > 0 else None


def _one_line(text: str) -> str:
    return " ".join(text.split())
