"""`hipflex aim --watch` through a real pseudo-terminal: it re-checks once a second and
redraws in place (rich), and Ctrl-C ends it with exit status 0."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

from conftest import footage_path

HIPFLEX = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hipflex"
UPDATE = re.compile(rb"update (\d+)")


def _controlling_tty() -> None:
    """In the child, after setsid: make the pty (its stdin) the controlling terminal, so
    Ctrl-C typed there sends SIGINT as on a coach's SSH session."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_aim_watch_redraws_and_stops_on_ctrl_c(tmp_path):
    clip = footage_path("reference/supine_knee_raise_right.npz")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 72, 0, 0))
    proc = subprocess.Popen(
        [str(HIPFLEX), "aim", "--watch", "--seconds", "2", "--source", str(clip),
         "--feedback", "mock"],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True,
        preexec_fn=_controlling_tty, env={**os.environ, "HIPFLEX_LOCK": str(tmp_path / "lock")},
    )  # fmt: skip
    os.close(slave)
    out, deadline = b"", time.monotonic() + 120
    try:
        # wait for at least two redraws, and for the file to have ended
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                out += os.read(master, 65536)
            seen = [int(n) for n in UPDATE.findall(out)]
            if seen and max(seen) >= 2 and b"the source ended" in out:
                break
        assert b"the source ended" in out, out[-2000:]
        os.write(master, b"\x03")  # Ctrl-C, as the coach types it: the tty sends SIGINT
        code = proc.wait(timeout=20)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(master)
    assert code == 0, out[-2000:]
    updates = sorted({int(n) for n in UPDATE.findall(out)})
    assert updates[:3] == [0, 1, 2]  # drawn, then redrawn at least twice
    assert b"\x1b[" in out  # cursor control: redrawn in place, not scrolled
    assert b"PASS" in out and b"athlete" in out
    assert b"Traceback" not in out
