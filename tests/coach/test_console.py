"""`hipflex run` on a terminal, through a real pseudo-terminal: one line per rep, status
changes and cues, a summary at the end, no line wider than the terminal, and no JSON."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from io import StringIO
from pathlib import Path

import pytest
from synthetic import make_clip

from edge.console import Console, fit
from edge.events import Event
from edge.keypoints import save_keypoints

HIPFLEX = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hipflex"
REP_LINE = re.compile(r"^\d\d:\d\d\.\d  R(\d+) (left|right) (\d+)° (.+)$")


def rep_lines(lines: list[str]) -> list[tuple[int, str, int, str]]:
    """(index, leg, degrees, verdict) per rep line, a fault list wrapped onto the next
    lines (indented, not a cue) joined back."""
    out = []
    for i, line in enumerate(lines):
        if m := REP_LINE.match(line):
            verdict = m[4]
            for more in lines[i + 1 :]:
                if not more.startswith(" " * 9) or "cue:" in more:
                    break
                verdict += " " + more.strip()
            out.append((int(m[1]), m[2], int(m[3]), verdict))
    return out


def run_in_pty(args: list[str], columns: int, timeout_s: float = 120) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on a pty `columns` wide; all it printed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out, deadline = b"", time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the pty
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, out.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.parametrize("columns", [80, 48])
def test_run_on_a_terminal_reads_well(tmp_path, columns):
    clip = make_clip(15, fault_rate=0.45)
    npz = tmp_path / "clip.npz"
    save_keypoints(npz, clip.track)
    events = tmp_path / "events.jsonl"
    code, text = run_in_pty(
        [str(HIPFLEX), "run", "--source", str(npz), "--fast", "--no-live-view",
         "--feedback", "mock", "--db", str(tmp_path / "h.db"), "--events", str(events)],
        columns,
    )  # fmt: skip
    assert code == 0, text
    # What the screen shows: the progress bar redraws its line with \r and erase-line.
    shown = [seg.replace("\x1b[K", "") for line in text.splitlines() for seg in line.split("\r")]
    assert all(len(x) <= columns for x in shown), [x for x in shown if len(x) > columns]
    assert any(x.startswith("[") and x.endswith(" 100% " + x.split()[-1]) for x in shown)
    lines = [line.split("\r")[-1].replace("\x1b[K", "") for line in text.splitlines()]
    reps = [json.loads(x) for x in events.read_text().splitlines()]
    reps = [e for e in reps if e["type"] == "rep"]
    assert len(reps) >= 3 and any(r["faults"] for r in reps) and any(not r["faults"] for r in reps)
    shown = rep_lines(lines)
    assert [(i, leg) for i, leg, *_ in shown] == [(r["index"], r["leg"]) for r in reps]
    for (_, _, deg, verdict), rep in zip(shown, reps, strict=True):
        assert deg == round(rep["peak_hip_flexion_deg"])
        assert verdict == (", ".join(rep["faults"]) or "good")
    assert any("cue: " in line for line in lines)
    assert any("· athlete in place: judging" in line for line in lines)
    total, good = len(reps), sum(1 for r in reps if not r["faults"])
    summary = next(i for i, line in enumerate(lines) if line.startswith("Summary: "))
    assert lines[summary].startswith(f"Summary: {total} reps (left ")
    assert f"{good} good" in " ".join(lines[summary:])
    assert any(line.startswith("Faults: ") for line in lines[summary:])
    assert '{"t"' not in text and " INFO " not in text  # the JSON stays in --events


def test_not_a_terminal_leaves_stderr_as_it_was(tmp_path):
    clip = make_clip(3, fault_rate=0.0)
    npz = tmp_path / "clip.npz"
    save_keypoints(npz, clip.track)
    done = subprocess.run(
        [str(HIPFLEX), "run", "--source", str(npz), "--fast", "--no-live-view",
         "--feedback", "mock", "--db", str(tmp_path / "h.db")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0
    assert "Summary:" not in done.stderr and 'event {"t"' in done.stderr


def test_console_lines_and_summary():
    out = StringIO()
    console = Console(out, width=40)
    console.on_event(Event(0.0, "status", {"status": "not_lying"}))
    console.on_event(Event(0.5, "status", {"status": "not_lying"}))  # no repeat
    console.on_event(Event(2.0, "set", {"set": 1, "leg": "left"}))
    rep = {"index": 1, "leg": "left", "peak_hip_flexion_deg": 88.4,
           "faults": ["too_fast", "lumbar_rounding"]}  # fmt: skip
    console.on_event(Event(4.0, "rep", rep))
    console.close()
    console.close()  # once only
    lines = out.getvalue().splitlines()
    assert lines[0] == "00:00.0  · athlete not lying down"
    assert lines[1] == "00:02.0  Set 1 · left leg"
    assert lines[2] == "00:04.0  R1 left 88° too_fast,"
    assert lines[3] == "         lumbar_rounding"  # wrapped at a word, not cut
    assert rep_lines(lines) == [(1, "left", 88, "too_fast, lumbar_rounding")]
    assert lines[4].startswith("         cue: keep the belt buckle")  # lumbar first
    assert "Summary: 1 rep (left 1, right 0), 0 good (0%)" in " ".join(x.strip() for x in lines)
    assert all(len(line) <= 40 for line in lines)
    assert fit("x" * 50, 10) == "x" * 9 + "…"
