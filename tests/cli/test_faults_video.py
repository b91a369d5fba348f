"""Fault injection in video files, through `hipflex run` as a user would start it.

Each bad file either stops the run at once with exit 1 and one line naming the file and the
problem, or is processed as far as it goes, with a warning saying what was wrong. Never a
traceback, never a hang.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO, footage_path


def hipflex_run(tmp_path: Path, source: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(source), "--fast",
         "--feedback", "mock", "--no-live-view", "--db", str(tmp_path / "h.db"),
         "--events", str(tmp_path / "events.jsonl")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("hipflex:")]
    return line


def frames_processed(done: subprocess.CompletedProcess) -> int:
    (line,) = [line for line in done.stderr.splitlines() if "timings (median/p95)" in line]
    return int(line.rsplit("; ", 1)[1].split()[0])


def session_fps(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        ((fps,),) = conn.execute("SELECT fps FROM sessions").fetchall()
    return fps


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    assert one_line_error(hipflex_run(tmp_path, path)) == f"hipflex: error: {path}: empty file"


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("squat 3x5, then hip flexion\n" * 20)
    error = one_line_error(hipflex_run(tmp_path, path))
    assert error == f"hipflex: error: {path}: not a video OpenCV can read"


def test_truncated_video_with_its_index_at_the_end_is_refused(tmp_path):
    # glute_bridge.mp4 keeps its index (moov) after the frames: a cut copy has none.
    whole = footage_path("glute_bridge.mp4").read_bytes()
    assert whole.find(b"moov") > whole.find(b"mdat")
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])
    error = one_line_error(hipflex_run(tmp_path, path))
    assert error == f"hipflex: error: {path}: not a video OpenCV can read"


def test_truncated_video_with_its_index_first_plays_up_to_the_cut(tmp_path):
    # supine_knee_raise_right.mp4 is "fast start" (index first): a cut copy still decodes.
    whole = footage_path("supine_knee_raise_right.mp4").read_bytes()
    assert whole.find(b"moov") < whole.find(b"mdat")
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])
    done = hipflex_run(tmp_path, path)
    assert done.returncode == 0, done.stderr
    frames = frames_processed(done)
    assert 20 < frames < 199
    assert f"decoding stopped after {frames} of 199 frames; the file is truncated" in done.stderr
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[0]["type"] == "status"
    assert session_fps(tmp_path / "h.db") == 30.0


def avi_with_rate(path: Path, scale: int, rate: int) -> None:
    """A 5-frame MJPEG AVI whose stream header says rate/scale frames per second."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    # strh: 'strh', size, fccType, fccHandler, dwFlags, wPriority, wLanguage,
    # dwInitialFrames, then dwScale and dwRate.
    offset = data.find(b"strh") + 8 + 20
    data[offset : offset + 8] = struct.pack("<II", scale, rate)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("scale", "rate", "read_as"),
    [(4_000_000_000, 30, "7.500000000000001e-09"), (1, 4_000_000_000, "2147483647.0")],
    ids=["near-zero", "absurd"],
)
def test_unusable_frame_rate_falls_back_to_the_camera_rate(tmp_path, scale, rate, read_as):
    path = tmp_path / "odd.avi"
    avi_with_rate(path, scale, rate)
    done = hipflex_run(tmp_path, path)
    assert done.returncode == 0, done.stderr
    assert f"frame rate {read_as} is unusable, assuming 30 fps" in done.stderr
    assert frames_processed(done) == 5
    assert session_fps(tmp_path / "h.db") == 30.0


def test_huge_resolution_is_processed(tmp_path):
    path = tmp_path / "huge.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (4000, 3000))
    assert writer.isOpened()
    for i in range(4):
        writer.write(np.full((3000, 4000, 3), 50 * i, np.uint8))
    writer.release()
    done = hipflex_run(tmp_path, path)
    assert done.returncode == 0, done.stderr
    assert f"running on {path} (video, 4000x3000 @ 30.00 fps)" in done.stderr
    assert frames_processed(done) == 4
