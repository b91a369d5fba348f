"""Frames shared by the pose benchmarks: the knee-raise clip resized to the Pi camera's
640x480, as `hipflex bench` does."""

from __future__ import annotations

import cv2
import numpy as np

from edge.models import REPO_ROOT
from edge.sources.video import VideoFileSource

KNEE_RAISE = REPO_ROOT.parent / "shared" / "footage" / "supine_knee_raise_right.mp4"


def knee_raise_frames(count: int, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """The clip's first `count` frames, RGB, resized to `size`."""
    with VideoFileSource(KNEE_RAISE) as source:
        return [
            cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            for _, (_, rgb) in zip(range(count), source.frames(), strict=False)
        ]
