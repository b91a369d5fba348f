"""`hipflex pose` end to end, as a user runs it: a real clip in, the keypoints contract and
a playable overlay video out; bad inputs give one line on stderr."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import footage_path

CLIP = "glute_bridge.mp4"  # 91 frames, 640x480, 30 fps: the shortest real clip


def hipflex(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=300
    )


def bone_pixels(bgr: np.ndarray) -> int:
    """Pixels of the overlay's bone colour (BGR 255, 200, 0), allowing for mp4 compression."""
    b, g, r = (bgr[..., i].astype(int) for i in range(3))
    return int(((b > 200) & (g > 150) & (g < 240) & (r < 70)).sum())


@pytest.mark.footage
@pytest.mark.slow
@pytest.mark.parametrize("model", ["blazepose", "movenet"])
def test_pose_writes_the_keypoints_contract_and_an_overlay(tmp_path, model):
    clip = footage_path(CLIP)
    out, overlay = tmp_path / "kp.npz", tmp_path / "overlay.mp4"

    result = hipflex("pose", str(clip), "--model", model, "--out", str(out), "--overlay",
                     str(overlay))  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "91/91 frames" in result.stderr  # the progress bar's last line
    with np.load(out, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    kp = data["keypoints"]
    assert kp.dtype == np.float32 and kp.shape == (91, 17, 3)
    assert (float(data["fps"]), int(data["width"]), int(data["height"])) == (30.0, 640, 480)
    assert str(data["model"]) == model
    scores = kp[:, :, 2]
    assert np.all((scores >= 0) & (scores <= 1))
    seen = scores > 0.3
    assert seen.any()
    xy = kp[:, :, :2][seen]
    assert np.all((xy > -640) & (xy < 2 * 640))  # in frame pixels, not normalised
    assert xy.max() > 2
    if model == "blazepose":
        lm = data["landmarks"]
        assert lm.dtype == np.float32 and lm.shape == (91, 33, 4)
    else:
        assert "landmarks" not in data

    cap = cv2.VideoCapture(str(overlay))
    assert cap.isOpened()
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 91
    src = cv2.VideoCapture(str(clip))
    drawn = frames = 0
    while True:
        ok, frame = cap.read()
        ok_src, original = src.read()
        if not ok:
            break
        assert ok_src and frame.shape == (480, 640, 3)
        drawn += bone_pixels(frame) > bone_pixels(original) + 50
        frames += 1
    assert frames == 91
    # The skeleton is drawn on the frames where the model saw enough joints for a bone.
    assert drawn >= 0.8 * (seen.sum(axis=1) >= 4).sum()


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hipflex: error: ")
    return lines[0]


def test_missing_input_is_one_line(tmp_path):
    line = one_line_error(hipflex("pose", str(tmp_path / "nope.mp4"), "--out", "x.npz"))
    assert "nope.mp4: no such file" in line
    assert not (tmp_path / "x.npz").exists()


def test_text_file_named_mp4_is_one_line(tmp_path):
    fake = tmp_path / "clip.mp4"
    fake.write_text("definitely not a video\n")
    out = tmp_path / "kp.npz"
    line = one_line_error(hipflex("pose", str(fake), "--out", str(out)))
    assert "clip.mp4" in line and "not a video" in line
    assert not out.exists()


def test_output_must_be_npz(tmp_path):
    line = one_line_error(hipflex("pose", str(footage_path(CLIP)), "--out", str(tmp_path / "k")))
    assert ".npz" in line
