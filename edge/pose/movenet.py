"""MoveNet SinglePose Lightning (int8) on LiteRT with the published smart crop.

MoveNet is most accurate when the person fills its 192x192 input. So each frame is cut
around where the previous frame's confident keypoints were: a square centred on the hips,
large enough for the torso (x1.9) and the whole body (x1.2). When the torso is not seen,
or the square would exceed the frame, the full frame is letterboxed instead.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from edge.keypoints import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER
from edge.models import verified_path
from edge.pose import Pose
from edge.runtime import load_interpreter
from edge.timing import StageTimer

INPUT_SIZE = 192
MIN_CROP_SCORE = 0.2  # a keypoint counts for cropping above this score
TORSO_EXPAND = 1.9
BODY_EXPAND = 1.2
TORSO = np.array([L_SHOULDER, R_SHOULDER, L_HIP, R_HIP])


def full_frame_crop(width: int, height: int) -> tuple[float, float, float]:
    """(x0, y0, side) px of the square that letterboxes the whole frame."""
    side = float(max(width, height))
    return (width - side) / 2, (height - side) / 2, side


def smart_crop(keypoints: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
    """(x0, y0, side) px of the square crop for the next frame, from this frame's (17, 3)
    keypoints in frame pixels."""
    scores = keypoints[:, 2]
    hips = scores[L_HIP] > MIN_CROP_SCORE or scores[R_HIP] > MIN_CROP_SCORE
    shoulders = scores[L_SHOULDER] > MIN_CROP_SCORE or scores[R_SHOULDER] > MIN_CROP_SCORE
    if not (hips and shoulders):
        return full_frame_crop(width, height)
    centre = (keypoints[L_HIP, :2] + keypoints[R_HIP, :2]) / 2
    reach = np.abs(keypoints[:, :2] - centre)
    half = max(
        reach[TORSO].max() * TORSO_EXPAND,
        reach[scores >= MIN_CROP_SCORE].max() * BODY_EXPAND,
    )
    # No farther than the frame edge farthest from the centre.
    cx, cy = float(centre[0]), float(centre[1])
    half = min(half, max(cx, width - cx, cy, height - cy))
    if half > max(width, height) / 2:
        return full_frame_crop(width, height)
    return cx - half, cy - half, 2 * half


class MoveNet:
    """PoseEstimator for MoveNet Lightning int8; see the module docstring."""

    name = "movenet"

    def __init__(self, num_threads: int | None = None, runtime: str | None = None):
        self._net = load_interpreter(verified_path("movenet"), num_threads, runtime)
        self._in = int(self._net.get_input_details()[0]["index"])
        self._out = int(self._net.get_output_details()[0]["index"])
        self.timer = StageTimer(("preprocess", "inference", "postprocess"))
        self._matrix = np.zeros((2, 3), np.float64)
        self._crop: tuple[float, float, float] | None = None

    def reset(self) -> None:
        self._crop = None

    def __call__(self, rgb: np.ndarray) -> Pose:
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 (H, W, 3) frame, got {rgb.dtype} {rgb.shape}")
        t0 = time.perf_counter()
        height, width = rgb.shape[:2]
        x0, y0, side = self._crop or full_frame_crop(width, height)
        k = side / INPUT_SIZE
        self._matrix[0] = (k, 0.0, x0)
        self._matrix[1] = (0.0, k, y0)
        tensor = self._net.tensor(self._in)()[0]
        cv2.warpAffine(
            rgb,
            self._matrix,
            (INPUT_SIZE, INPUT_SIZE),
            dst=tensor,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        del tensor  # the interpreter refuses to run while a view of its buffers is alive
        t1 = time.perf_counter()
        self._net.invoke()
        t2 = time.perf_counter()
        yxs = self._net.tensor(self._out)()[0, 0]
        keypoints = np.empty((17, 3), np.float32)
        keypoints[:, 0] = x0 + yxs[:, 1] * side
        keypoints[:, 1] = y0 + yxs[:, 0] * side
        keypoints[:, 2] = yxs[:, 2]
        del yxs
        self._crop = smart_crop(keypoints, width, height)
        t3 = time.perf_counter()
        self.timer.add("preprocess", t1 - t0)
        self.timer.add("inference", t2 - t1)
        self.timer.add("postprocess", t3 - t2)
        return Pose(keypoints)
