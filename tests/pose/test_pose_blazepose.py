"""The BlazePose backend on a few real frames: output contract, tracking (the detector runs
only when the pose is lost), nobody in the frame, and rotation invariance."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import footage_path

from edge.keypoints import BLAZEPOSE_TO_COCO
from edge.pose import create
from edge.pose.blazepose import BlazePose

KNEE_CLIP = "supine_knee_raise_right.mp4"


def read_frames(name: str, start: int, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(footage_path(name)))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    for _ in range(count):
        ok, bgr = cap.read()
        assert ok
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


@pytest.fixture(scope="module")
def knee_frames() -> list[np.ndarray]:
    return read_frames(KNEE_CLIP, 55, 8)


@pytest.fixture(scope="module")
def estimator() -> BlazePose:
    return BlazePose(num_threads=1)


def test_create_by_name():
    est = create("blazepose", num_threads=1)
    assert isinstance(est, BlazePose) and est.name == "blazepose"


def test_output_contract(estimator, knee_frames):
    estimator.reset()
    pose = estimator(knee_frames[0])
    assert pose.keypoints.shape == (17, 3) and pose.keypoints.dtype == np.float32
    assert pose.landmarks is not None
    assert pose.landmarks.shape == (33, 4) and pose.landmarks.dtype == np.float32
    np.testing.assert_array_equal(pose.keypoints, pose.landmarks[BLAZEPOSE_TO_COCO][:, [0, 1, 3]])
    h, w = knee_frames[0].shape[:2]
    hips_knees_ankles = pose.keypoints[11:17]
    assert np.all(hips_knees_ankles[:, 2] > 0.3)
    assert np.all((hips_knees_ankles[:, 0] > 0) & (hips_knees_ankles[:, 0] < w))
    assert np.all((hips_knees_ankles[:, 1] > 0) & (hips_knees_ankles[:, 1] < h))
    # A fresh result every frame: callers may keep it.
    assert estimator(knee_frames[1]).keypoints is not pose.keypoints


def test_detector_runs_once_while_tracking(estimator, knee_frames):
    estimator.reset()
    runs = estimator.detector_runs
    for frame in knee_frames:
        pose = estimator(frame)
        assert pose.keypoints[:, 2].max() > 0.9
        assert estimator.roi is not None
    assert estimator.detector_runs == runs + 1
    estimator.reset()
    assert estimator.roi is None
    estimator(knee_frames[0])
    assert estimator.detector_runs == runs + 2


def test_timer_records_every_stage_once_per_frame(knee_frames):
    est = BlazePose(num_threads=1)
    for frame in knee_frames[:3]:
        est(frame)
    summary = est.timer.summary()
    assert set(summary) == {"preprocess", "inference", "postprocess"}
    assert all(s["n"] == 3 and s["median_ms"] > 0 for s in summary.values())
    assert summary["inference"]["median_ms"] > summary["postprocess"]["median_ms"]


@pytest.mark.parametrize("kind", ["grey", "noise"])
def test_nobody_gives_zero_scores(estimator, kind):
    rng = np.random.default_rng(3)
    frame = (
        np.full((480, 640, 3), 128, np.uint8)
        if kind == "grey"
        else rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    )
    estimator.reset()
    pose = estimator(frame)
    assert np.all(pose.keypoints == 0)
    assert pose.landmarks is not None and np.all(pose.landmarks == 0)
    assert estimator.roi is None


def test_lost_track_is_redetected_in_the_same_frame(estimator, knee_frames):
    estimator.reset()
    estimator(knee_frames[0])
    grey = np.full_like(knee_frames[0], 128)
    assert estimator(grey).keypoints[:, 2].max() == 0
    runs = estimator.detector_runs
    assert estimator(knee_frames[1]).keypoints[:, 2].max() > 0.9
    assert estimator.detector_runs == runs + 1


def test_rejects_non_rgb_frames(estimator):
    with pytest.raises(ValueError, match="RGB uint8"):
        estimator(np.zeros((480, 640), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        estimator(np.zeros((480, 640, 3), np.float32))


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_rotated_camera_gives_the_same_working_leg(knee_frames, turns):
    """The rotated ROI makes the result independent of which way the body lies: rotate the
    frame by 90/180/270 degrees and the working leg comes back to the same pixels."""
    frame = knee_frames[5]
    h, w = frame.shape[:2]
    upright = BlazePose(num_threads=1)(frame).landmarks
    turned = BlazePose(num_threads=1)(np.ascontiguousarray(np.rot90(frame, turns))).landmarks
    x, y = turned[:, 0], turned[:, 1]
    back = {1: (w - 1 - y, x), 2: (w - 1 - x, h - 1 - y), 3: (y, h - 1 - x)}[turns]
    err = np.hypot(back[0] - upright[:, 0], back[1] - upright[:, 1])
    right_hip_knee_ankle = err[[24, 26, 28]]
    assert right_hip_knee_ankle.max() < 15, right_hip_knee_ankle
