"""MoveNet: the smart-crop rule on hand-made keypoints, and the backend on real frames."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import footage_path

from edge.pose import create
from edge.pose.movenet import MoveNet, full_frame_crop, smart_crop


def skeleton(score: float = 0.9) -> np.ndarray:
    """A standing person around (300, 200): shoulders 40 px above the hips, ankles 100 below."""
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = score
    kp[:, :2] = (300, 160)  # head and arms near the shoulders
    kp[5], kp[6] = (290, 160, score), (310, 160, score)
    kp[11], kp[12] = (292, 200, score), (308, 200, score)
    kp[13], kp[14] = (292, 250, score), (308, 250, score)
    kp[15], kp[16] = (292, 300, score), (308, 300, score)
    return kp


def test_full_frame_crop_letterboxes():
    assert full_frame_crop(640, 480) == (0.0, -80.0, 640.0)
    assert full_frame_crop(352, 640) == (-144.0, 0.0, 640.0)


def test_crop_centres_on_hips_and_covers_the_body():
    x0, y0, side = smart_crop(skeleton(), 640, 480)
    # Torso range 40 px x 1.9 = 76; body range 100 px (ankles) x 1.2 = 120 wins.
    assert side == pytest.approx(240)
    assert (x0 + side / 2, y0 + side / 2) == pytest.approx((300, 200))


def test_torso_dominates_when_limbs_are_unseen():
    kp = skeleton()
    kp[13:17, 2] = 0.05
    x0, y0, side = smart_crop(kp, 640, 480)
    assert side == pytest.approx(2 * 40 * 1.9)
    assert (x0 + side / 2, y0 + side / 2) == pytest.approx((300, 200))


def test_no_torso_means_full_frame():
    kp = skeleton()
    kp[[5, 6], 2] = 0.1
    assert smart_crop(kp, 640, 480) == full_frame_crop(640, 480)
    assert smart_crop(skeleton(score=0.0), 640, 480) == full_frame_crop(640, 480)


def test_too_large_a_crop_means_full_frame():
    kp = skeleton()
    kp[15:17, 1] = 470  # ankles 270 px below the hips: half side 324 > 640 / 2
    assert smart_crop(kp, 640, 480) == full_frame_crop(640, 480)


def test_real_frames_contract_and_timer():
    import cv2

    cap = cv2.VideoCapture(str(footage_path("supine_knee_raise_right.mp4")))
    est = create("movenet", num_threads=1)
    assert isinstance(est, MoveNet) and est.name == "movenet"
    for _ in range(4):
        ok, bgr = cap.read()
        assert ok
        pose = est(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        assert pose.keypoints.shape == (17, 3) and pose.keypoints.dtype == np.float32
        assert pose.landmarks is None
        assert np.all((pose.keypoints[:, 2] >= 0) & (pose.keypoints[:, 2] <= 1))
    cap.release()
    # The person lies mid-frame: hips found well inside the 640x352 frame.
    hips = pose.keypoints[[11, 12]]
    assert np.all(hips[:, 2] > 0.2)
    assert np.all((hips[:, 0] > 100) & (hips[:, 0] < 540) & (hips[:, 1] > 100) & (hips[:, 1] < 352))
    assert {k: v["n"] for k, v in est.timer.summary().items()} == {
        "preprocess": 4,
        "inference": 4,
        "postprocess": 4,
    }
    with pytest.raises(ValueError, match="RGB uint8"):
        est(np.zeros((10, 10, 4), np.uint8))
