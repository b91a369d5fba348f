"""The overlay video (issue 15): left and right drawn in their own colours, a caption with
the set, reps, live angles and the last verdict, and the file private to its owner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.errors import SourceError
from edge.events import Event
from edge.overlay import (
    BAD_BGR,
    GOOD_BGR,
    LEFT_BGR,
    LEFT_TEXT_BGR,
    RIGHT_BGR,
    RIGHT_TEXT_BGR,
    VERDICT_S,
    Caption,
    OverlayWriter,
    Story,
    draw_caption,
    draw_pose,
)
from edge.pose import Pose

W, H = 320, 240


def two_legs() -> Pose:
    """A figure whose left leg (11-13-15) runs along y=60 and right leg along y=180."""
    kp = np.zeros((17, 3), np.float32)
    for joint, (x, y) in {11: (40, 60), 13: (140, 60), 15: (240, 60),
                          12: (40, 180), 14: (140, 180), 16: (240, 180)}.items():  # fmt: skip
        kp[joint] = (x, y, 0.9)
    return Pose(kp)


def test_left_and_right_are_drawn_in_their_own_colours():
    bgr = np.full((H, W, 3), 128, np.uint8)
    draw_pose(bgr, two_legs())
    for y, colour in ((60, LEFT_BGR), (180, RIGHT_BGR)):
        for x in (90, 190):  # mid-thigh and mid-shin, away from the joint dots
            assert np.abs(bgr[y, x].astype(int) - colour).max() < 30, (x, y, bgr[y, x])


def test_the_caption_says_set_reps_angles_and_verdict():
    story = Story()
    assert story.caption(0.0, None).lines[0][0] == "L 0 reps (0 good)  R 0 reps (0 good)"
    story.follow(Event(1.0, "set", {"set": 2, "leg": "left"}))
    story.follow(Event(2.0, "fault", {"fault": "lumbar_rounding", "leg": "left", "rep": 1}))
    lines = story.caption(2.1, ([-8.2, 3.0], [91.6, float("nan")])).lines
    assert lines[0][0].startswith("Set 2 - left leg")
    assert lines[1] == ("left: hip 0 deg  knee 92 deg", LEFT_TEXT_BGR)  # floored at 0
    assert lines[2] == ("right: hip 3 deg  knee -", RIGHT_TEXT_BGR)
    assert lines[3] == ("now: lumbar rounding", BAD_BGR)
    rep = {"index": 1, "leg": "left", "peak_hip_flexion_deg": 88.0,
           "faults": ["lumbar_rounding", "too_fast"]}  # fmt: skip
    story.follow(Event(3.0, "rep", rep))
    lines = story.caption(3.5, None).lines
    assert "L 1 reps (0 good)" in lines[0][0]
    assert lines[-1] == ("R1 left 88 deg lumbar rounding, too fast", BAD_BGR)
    story.follow(Event(6.0, "rep", {**rep, "index": 2, "faults": []}))
    assert story.caption(6.5, None).lines[-1] == ("R2 left 88 deg good", GOOD_BGR)
    assert len(story.caption(6.0 + VERDICT_S + 0.1, None).lines) == 1  # the verdict expired


def test_draw_caption_writes_on_a_dark_band_at_the_top():
    bgr = np.full((H, W, 3), 200, np.uint8)
    draw_caption(bgr, Caption((("Set 1 - right leg", (255, 255, 255)), ("R1 good", GOOD_BGR))))
    band = bgr[:40]
    assert (band < 120).mean() > 0.5  # darkened
    assert (band > 220).all(axis=2).sum() > 30  # white text on it
    assert (bgr[100:] == 200).all()  # the rest of the frame untouched


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_the_video_file_is_private(tmp_path, mode):
    old = os.umask(0o022)
    try:
        path = tmp_path / "out.mp4"
        path.write_bytes(b"old")  # an existing file's mode does not leak through
        path.chmod(0o644)
        with OverlayWriter(path, 15.0, W, H, mode=mode) as writer:
            writer.write(np.zeros((H, W, 3), np.uint8), two_legs())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert cv2.VideoCapture(str(path)).read()[0]


def test_a_symlink_in_place_of_the_video_is_refused(tmp_path):
    target = tmp_path / "elsewhere.mp4"
    target.write_bytes(b"")
    link = tmp_path / "out.mp4"
    link.symlink_to(target)
    with pytest.raises(SourceError, match="cannot write here"):
        OverlayWriter(link, 15.0, W, H)


def test_pose_overlay_is_0600_like_the_keypoints(tmp_path):
    """`hipflex pose --overlay`: the video shows a face, so it is as private as the .npz."""
    import subprocess
    import sys

    from conftest import REPO, footage_path

    clip = footage_path("supine_knee_raise_right.mp4")
    out, overlay = tmp_path / "k.npz", tmp_path / "o.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "edge", "pose", str(clip), "--model", "movenet", "--out",
         str(out), "--overlay", str(overlay)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(overlay.stat().st_mode) == stat.S_IMODE(out.stat().st_mode) == 0o600
    assert Path(overlay).stat().st_size > 10_000
