"""The live view: LiveFeed publishing on a real Unix socket, read by `hipflex watch`."""

from __future__ import annotations

import copy
import grp
import math
import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from edge.commands.watch import LineReader, connect, parse_line, render, stopped
from edge.livefeed import SOCKET_MODE, LiveFeed

REPO = Path(__file__).resolve().parents[2]
HIPFLEX = REPO / ".venv" / "bin" / "hipflex"

STATE = {
    "t": 192.4,
    "status": "ok",
    "fps": 29.7,
    "athlete": "Mia",
    "set": 2,
    "working_leg": "left",
    "legs": {
        "left": {"hip_flexion_deg": 87.3, "knee_flexion_deg": 91.0, "reps": 7, "good_reps": 5},
        "right": {"hip_flexion_deg": math.nan, "knee_flexion_deg": 4.0, "reps": 8, "good_reps": 8},
    },
    "last_faults": [
        {"t": 150.0, "leg": "left", "fault": "too_fast", "rep": 12},
        {"t": 185.1, "leg": "left", "fault": "lumbar_rounding", "rep": 14},
    ],
}


@pytest.fixture
def sock_path(tmp_path):
    return tmp_path / "run" / "live.sock"


def test_publish_reaches_a_watch_client(sock_path):
    with LiveFeed(sock_path) as feed:
        client = connect(sock_path)
        feed.publish(STATE)  # accepts the client, then sends
        assert feed.clients == 1
        state = LineReader(client).next_state()
        client.close()
    assert math.isnan(state["legs"]["right"].pop("hip_flexion_deg"))
    expected = copy.deepcopy(STATE)
    del expected["legs"]["right"]["hip_flexion_deg"]
    assert state == expected


def test_socket_is_0660_and_removed_on_close(sock_path):
    feed = LiveFeed(sock_path)
    mode = os.stat(sock_path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == SOCKET_MODE == 0o660
    try:
        gid = grp.getgrnam("hipflex").gr_gid
    except KeyError:
        gid = None
    if gid is not None:
        assert os.stat(sock_path).st_gid == gid
    assert [p.name for p in sock_path.parent.iterdir()] == ["live.sock"]  # no temp name left
    feed.close()
    assert not sock_path.exists()


def test_stale_socket_from_a_killed_run_is_replaced(sock_path):
    sock_path.parent.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))
    stale.close()  # the file stays, nobody listens: what SIGKILL leaves behind
    done = subprocess.run(
        [HIPFLEX, "watch", "--once", "--socket", sock_path], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == f"hipflex is not running (stale socket at {sock_path}, left by a run that stopped)\n"
    )
    with LiveFeed(sock_path) as feed:
        client = connect(sock_path)
        feed.publish({"status": "ok"})
        assert LineReader(client).next_state() == {"status": "ok"}
        client.close()


def test_watch_says_plainly_when_not_running(tmp_path):
    missing = tmp_path / "live.sock"
    done = subprocess.run(
        [HIPFLEX, "watch", "--socket", missing], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 1
    assert done.stderr == f"hipflex is not running (no socket at {missing})\n"
    done = subprocess.run(
        [HIPFLEX, "watch", "--once"],
        capture_output=True,
        text=True,
        env={**os.environ, "HIPFLEX_SOCKET": str(missing)},
    )
    assert done.stderr == f"hipflex is not running (no socket at {missing})\n"


def test_slow_and_gone_clients_are_dropped_without_blocking(sock_path):
    with LiveFeed(sock_path) as feed:
        slow = connect(sock_path)  # never reads
        gone = connect(sock_path)
        feed.publish(STATE)
        assert feed.clients == 2
        gone.close()
        big = {**STATE, "pad": "x" * 20_000}
        published = 0
        while feed.clients and published < 10_000:  # socket buffers fill in a few hundred
            feed.publish(big)
            published += 1
        assert feed.clients == 0
        assert published < 10_000
        fresh = connect(sock_path)  # the feed keeps serving new clients
        feed.publish(STATE)
        assert feed.clients == 1
        assert LineReader(fresh).next_state()["status"] == "ok"
        for s in (slow, fresh):
            s.close()


def test_due_paces_the_loop(sock_path):
    now = [100.0]
    with LiveFeed(sock_path, interval_s=0.1, clock=lambda: now[0]) as feed:
        assert feed.due()
        feed.publish(STATE)
        now[0] += 0.05
        assert not feed.due()
        now[0] += 0.06
        assert feed.due()


def test_parse_line_rejects_garbage():
    assert parse_line(b'{"status": "ok", "fps": NaN}')["status"] == "ok"
    assert parse_line(b"not json") is None
    assert parse_line(b"[1, 2]") is None
    assert parse_line(b"\xff\xfe") is None


def test_render_shows_what_a_coach_needs():
    from rich.console import Console

    console = Console(record=True, width=100, color_system=None)
    console.print(render(STATE))
    text = console.export_text()
    assert "hipflex live · Mia" in text
    assert "● ok" in text and "fps 29.7" in text and "time 03:12" in text
    assert "set 2 (left leg)" in text
    assert "87°" in text and "91°" in text and "4°" in text
    hip_row = next(line for line in text.splitlines() if "hip " in line)
    assert "—" in hip_row  # the right hip is not seen this frame
    assert "7 (5 good)" in text and "8 (8 good)" in text
    lines = text.splitlines()
    newest = next(i for i, line in enumerate(lines) if "lumbar rounding" in line)
    older = next(i for i, line in enumerate(lines) if "too fast" in line)
    assert newest < older and "rep 14" in lines[newest] and "03:05" in lines[newest]
    console = Console(record=True, width=100, color_system=None)
    console.print(render(stopped(STATE), "hipflex stopped; waiting for it"))
    text = console.export_text()
    assert "● stopped" in text and "fps —" in text and "waiting for it" in text
    assert "7 (5 good)" in text  # the counts so far stay on screen


def test_watch_once_end_to_end(sock_path):
    """`hipflex watch --once` against a feed published from another thread, as the loop
    would."""
    stop = threading.Event()
    with LiveFeed(sock_path, interval_s=0.02) as feed:

        def loop():
            while not stop.wait(0.005):
                if feed.due():
                    feed.publish(STATE)

        thread = threading.Thread(target=loop)
        thread.start()
        try:
            done = subprocess.run(
                [HIPFLEX, "watch", "--once", "--socket", sock_path],
                capture_output=True,
                text=True,
                timeout=30,
                env={**os.environ, "COLUMNS": "100"},
            )
        finally:
            stop.set()
            thread.join()
    assert done.returncode == 0, done.stderr
    assert "lumbar rounding" in done.stdout and "7 (5 good)" in done.stdout


def test_render_floors_resting_flexion_at_zero_with_a_note():
    """A resting hip reads -8°: the coach sees 0°, starred, and one line saying why."""
    from rich.console import Console

    from edge.commands.watch import FLOOR_NOTE

    legs = {
        "left": {"hip_flexion_deg": -8.4, "knee_flexion_deg": 3.0},
        "right": {"hip_flexion_deg": -10.2, "knee_flexion_deg": 2.0},
    }
    state = {**STATE, "legs": legs}
    console = Console(record=True, width=100, color_system=None)
    console.print(render(state))
    text = console.export_text()
    hip_row = next(line for line in text.splitlines() if "hip " in line)
    assert "-8" not in hip_row and "-10" not in hip_row
    assert hip_row.count("0°*") == 2
    assert FLOOR_NOTE in text
    console = Console(record=True, width=100, color_system=None)
    console.print(render(STATE))  # nothing below 0°: no star, no note
    assert "°*" not in console.export_text() and FLOOR_NOTE not in console.export_text()
