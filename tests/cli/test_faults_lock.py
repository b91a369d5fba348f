"""Two `hipflex run` at once: the second refuses with one line and touches nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import REPO
from synthetic import make_clip

from edge.keypoints import save_keypoints


def test_second_run_refuses_while_the_first_holds_the_box(tmp_path):
    clip = tmp_path / "clip.npz"
    save_keypoints(clip, make_clip(3, fault_rate=0.0).track)  # 23 s at real-time pace
    first_events = tmp_path / "first.jsonl"
    first = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--feedback", "mock",
         "--no-live-view", "--db", str(tmp_path / "first.db"), "--events", str(first_events)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (first_events.exists() and first_events.read_text()):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.run(
            [sys.executable, "-m", "edge", "run", "--source", str(clip), "--fast",
             "--feedback", "mock", "--db", str(tmp_path / "second.db"),
             "--events", str(tmp_path / "second.jsonl")],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
        assert first.poll() is None  # the first one never noticed
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0
    finally:
        first.kill()
        first.wait()
    lock = os.environ["HIPFLEX_LOCK"]
    assert second.returncode == 1
    assert second.stderr.splitlines() == [
        f"hipflex: error: hipflex run is already running (pid {first.pid}, lock {lock}); "
        "stop it first (systemctl stop hipflex)"
    ]
    # Refused before opening anything: no history, no events, no live-view socket.
    assert not (tmp_path / "second.db").exists()
    assert not (tmp_path / "second.jsonl").exists()
    assert not os.path.exists(os.environ["HIPFLEX_SOCKET"])
