"""hipflex watch [--socket PATH] [--once]: the live view for a coach over SSH."""

from __future__ import annotations

import argparse
import json
import math
import socket
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

HELP = "live view of the running session: status, angles, reps per leg, faults, fps"

STATUS_STYLE = {
    "ok": "bold green",
    "no_athlete": "dim",
    "not_lying": "bold yellow",
    "tracking_lost": "bold red",
    "stopped": "bold red",
}
BAR_MAX_DEG = 120.0
BAR_WIDTH = 24


class NotRunning(Exception):
    """The service is not there to watch; the message says why in plain words."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--socket",
        type=Path,
        metavar="PATH",
        help="live view socket ($HIPFLEX_SOCKET, else /run/hipflex/live.sock)",
    )
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")


def run(args: argparse.Namespace) -> int:
    from edge.livefeed import default_socket_path
    from edge.paths import socket_file

    path = socket_file(args.socket or default_socket_path(), replaces=False)
    try:
        if args.once:
            return show_once(path)
        return show_live(path)
    except NotRunning as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def connect(path: Path, timeout_s: float = 1.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(str(path))
    except FileNotFoundError:
        sock.close()
        raise NotRunning(f"hipflex is not running (no socket at {path})") from None
    except ConnectionRefusedError:
        sock.close()
        raise NotRunning(
            f"hipflex is not running (stale socket at {path}, left by a run that stopped)"
        ) from None
    except PermissionError:
        sock.close()
        raise NotRunning(
            f"cannot open the live view at {path}: permission denied "
            "(add this user to the hipflex group)"
        ) from None
    except OSError as exc:
        sock.close()
        raise NotRunning(f"cannot open the live view at {path}: {exc.strerror or exc}") from None
    return sock


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One published snapshot, or None for a line that is not a JSON object."""
    try:
        state = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None


class LineReader:
    """Splits the socket's byte stream into snapshots."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buffer = b""

    def next_state(self) -> dict[str, Any] | None:
        """The newest complete snapshot received, None on timeout; EOFError when closed."""
        newest = None
        while newest is None:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                raise EOFError
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                state = parse_line(line)
                if state is not None and state.get("error") == "too many viewers":
                    raise NotRunning(
                        "hipflex is running, but too many viewers are watching; "
                        "close one and try again"
                    )
                newest = state or newest
        return newest


def show_once(path: Path, wait_s: float = 5.0) -> int:
    from rich.console import Console

    with connect(path) as sock:
        reader = LineReader(sock)
        deadline = time.monotonic() + wait_s
        state = None
        try:
            while state is None and time.monotonic() < deadline:
                state = reader.next_state()
        except EOFError:
            raise NotRunning(f"hipflex stopped (socket {path} closed)") from None
    if state is None:
        raise NotRunning(f"hipflex is running but sent nothing for {wait_s:.0f} s ({path})")
    Console().print(render(state))
    return 0


def show_live(path: Path) -> NoReturn:
    from rich.console import Console
    from rich.live import Live

    sock = connect(path)  # not running at the start: say so and exit
    console = Console()
    with Live(render(None, "connected; waiting for data"), console=console,
              refresh_per_second=10) as live:  # fmt: skip
        while True:
            with sock:
                reader, last, state = LineReader(sock), time.monotonic(), None
                while True:
                    try:
                        fresh = reader.next_state()
                    except EOFError:
                        live.update(render(stopped(state), "hipflex stopped; waiting for it"))
                        break
                    if fresh is not None:
                        state, last = fresh, time.monotonic()
                        live.update(render(state))
                    elif time.monotonic() - last > 2.0:
                        quiet = time.monotonic() - last
                        live.update(render(state, f"no update for {quiet:.0f} s"))
            sock = reconnect(path, live, state)


def reconnect(path: Path, live, state: dict[str, Any] | None) -> socket.socket:
    """The service stopped while watched (a restart, a reload): wait for it to come back."""
    while True:
        time.sleep(1.0)
        try:
            return connect(path)
        except NotRunning as exc:
            live.update(render(stopped(state), f"{exc}; waiting for it to start"))


def stopped(state: dict[str, Any] | None) -> dict[str, Any]:
    """The last snapshot, kept for its rep counts, but never showing a live status."""
    return {**(state or {}), "status": "stopped", "fps": None}


def angle(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def bar(value: float | None) -> str:
    """A bar and the angle a coach reads: flexion below 0° (a resting thigh sits a few
    degrees below the trunk line) shows as 0°, starred; FLOOR_NOTE explains the star."""
    if value is None:
        return "·" * BAR_WIDTH + "    — "
    shown = max(value, 0.0)
    filled = round(BAR_WIDTH * min(shown, BAR_MAX_DEG) / BAR_MAX_DEG)
    star = "*" if value < -0.5 else " "
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {shown:4.0f}°{star}"


FLOOR_NOTE = "* resting: the thigh sits a few degrees below the trunk line; shown as 0°"


def clock(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "--:--"
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"


def render(state: dict[str, Any] | None, note: str = ""):
    """The whole screen for one snapshot (None before the first one)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    state = state or {}
    status = str(state.get("status", "—"))
    head = Text()
    head.append("status ", style="dim")
    head.append(f"● {status.replace('_', ' ')}", style=STATUS_STYLE.get(status, "bold"))
    fps = state.get("fps")
    head.append("    fps ", style="dim")
    head.append(f"{fps:.1f}" if isinstance(fps, int | float) else "—")
    head.append("    time ", style="dim")
    head.append(clock(state.get("t")))
    if state.get("set") is not None:
        head.append("    set ", style="dim")
        head.append(str(state["set"]))
        if state.get("working_leg"):
            head.append(f" ({state['working_leg']} leg)")

    legs = Table(box=None, padding=(0, 2), show_edge=False)
    legs.add_column("")
    legs.add_column("left", header_style="bold")
    legs.add_column("right", header_style="bold")
    per_leg = state.get("legs") or {}
    left, right = per_leg.get("left") or {}, per_leg.get("right") or {}
    for label, key in (("hip", "hip_flexion_deg"), ("knee", "knee_flexion_deg")):
        legs.add_row(label, bar(angle(left.get(key))), bar(angle(right.get(key))))
    legs.add_row("reps", rep_count(left), rep_count(right))
    floored = any(
        (v := angle(leg.get(key))) is not None and v < -0.5
        for leg in (left, right)
        for key in ("hip_flexion_deg", "knee_flexion_deg")
    )

    faults = Table(box=None, show_header=False, padding=(0, 2), show_edge=False)
    for fault in list(state.get("last_faults") or [])[-5:][::-1]:
        faults.add_row(
            clock(fault.get("t")),
            str(fault.get("leg", "")),
            f"rep {fault['rep']}" if fault.get("rep") is not None else "",
            Text(str(fault.get("fault", "?")).replace("_", " "), style="bold red"),
        )
    parts: list[Any] = [head, Text(""), legs]
    if floored:
        parts.append(Text(FLOOR_NOTE, style="dim"))
    parts.append(Text(""))
    parts.append(
        Text("last faults", style="dim") if faults.row_count else Text("no faults yet", style="dim")
    )
    if faults.row_count:
        parts.append(faults)
    if note:
        parts += [Text(""), Text(note, style="italic yellow")]
    athlete = state.get("athlete")
    title = "hipflex live" + (f" · {athlete}" if athlete else "")
    return Panel(Group(*parts), title=title, title_align="left", expand=False)


def rep_count(leg: dict[str, Any]) -> str:
    reps = leg.get("reps")
    if reps is None:
        return "—"
    good = leg.get("good_reps")
    return f"{reps}" + (f" ({good} good)" if good is not None else "")
