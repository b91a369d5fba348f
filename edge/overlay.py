"""Draw the skeleton on the video, for coaches checking what the box saw and for debugging.

Bones are drawn between joints both seen with enough confidence; each joint's dot goes
from red (unsure) to green (sure). With BlazePose landmarks the heels and toes are drawn
too, because the foot position is part of judging the exercise.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from edge.errors import SourceError
from edge.keypoints import (
    BP_L_ANKLE,
    BP_L_FOOT,
    BP_L_HEEL,
    BP_R_ANKLE,
    BP_R_FOOT,
    BP_R_HEEL,
    COCO_EDGES,
)
from edge.pose import Pose

MIN_SCORE = 0.3
BONE_BGR = (255, 200, 0)
FOOT_BGR = (255, 0, 255)
_EDGES = np.array(COCO_EDGES)
_FOOT_EDGES = np.array(
    [
        (BP_L_ANKLE, BP_L_HEEL), (BP_L_HEEL, BP_L_FOOT), (BP_L_ANKLE, BP_L_FOOT),
        (BP_R_ANKLE, BP_R_HEEL), (BP_R_HEEL, BP_R_FOOT), (BP_R_ANKLE, BP_R_FOOT),
    ]
)  # fmt: skip
_FOOT_POINTS = np.array([BP_L_HEEL, BP_L_FOOT, BP_R_HEEL, BP_R_FOOT])


def _segments(points: np.ndarray, edges: np.ndarray, min_score: float) -> list[np.ndarray]:
    seen = points[:, 2] >= min_score
    keep = edges[seen[edges[:, 0]] & seen[edges[:, 1]]]
    return list(np.rint(points[keep][:, :, :2]).astype(np.int32))


def _dots(bgr: np.ndarray, points: np.ndarray, min_score: float, colour=None) -> None:
    for x, y, s in points[points[:, 2] >= min_score]:
        c = colour or (0, int(255 * min(s, 1.0)), int(255 * (1.0 - min(s, 1.0))))
        cv2.circle(bgr, (round(x), round(y)), 4, c, -1, cv2.LINE_AA)


def draw_pose(bgr: np.ndarray, pose: Pose, min_score: float = MIN_SCORE) -> None:
    """Draw `pose` onto the BGR image in place."""
    kp = pose.keypoints
    cv2.polylines(bgr, _segments(kp, _EDGES, min_score), False, BONE_BGR, 2, cv2.LINE_AA)
    if pose.landmarks is not None:
        lm = pose.landmarks[:, [0, 1, 3]]  # x, y, visibility
        cv2.polylines(bgr, _segments(lm, _FOOT_EDGES, min_score), False, FOOT_BGR, 2, cv2.LINE_AA)
        _dots(bgr, lm[_FOOT_POINTS], min_score, FOOT_BGR)
    _dots(bgr, kp, min_score)


class OverlayWriter:
    """An mp4 (mp4v) of the input frames with the skeleton drawn on, one frame per call."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        self._writer = cv2.VideoWriter(str(self.path), fourcc, fps, (width, height))
        if not self._writer.isOpened():
            raise SourceError(f"{self.path}: cannot write an mp4 video here")
        self._bgr = np.empty((height, width, 3), dtype=np.uint8)

    def write(self, rgb: np.ndarray, pose: Pose) -> None:
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=self._bgr)
        draw_pose(self._bgr, pose)
        self._writer.write(self._bgr)

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> OverlayWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
