"""Pose backends behind one small interface: an RGB frame in, COCO-17 keypoints out.

Backends live in their own modules and are picked by name at run time from
edge.backends.POSE_BACKENDS, the way gpiozero picks a pin factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from edge.backends import DEFAULT_POSE_BACKEND, POSE_BACKENDS, resolve

if TYPE_CHECKING:
    from edge.timing import StageTimer


@dataclass
class Pose:
    """One frame's result, in frame pixels."""

    keypoints: np.ndarray  # (17, 3) float32: x, y, score; score 0 where nobody is seen
    landmarks: np.ndarray | None = None  # (33, 4) float32 for BlazePose: x, y, z, visibility


class PoseEstimator(Protocol):
    name: str
    timer: StageTimer | None  # its own stages (preprocess, inference, ...), for the loop's log

    def __call__(self, rgb: np.ndarray) -> Pose:
        """Estimate the pose in one RGB uint8 frame (H, W, 3). Keeps tracking state."""
        ...

    def reset(self) -> None:
        """Forget tracking state, e.g. when the source jumps."""
        ...


def create(
    name: str = DEFAULT_POSE_BACKEND, num_threads: int | None = None, runtime: str | None = None
) -> PoseEstimator:
    """Build a backend by name; every model file is sha256-verified before loading.
    `runtime` forces one TFLite runtime (see edge.runtime); None takes the first found."""
    if name not in POSE_BACKENDS:
        from edge.errors import HipflexError

        raise HipflexError(f"unknown model {name!r}; choose one of {', '.join(POSE_BACKENDS)}")
    return resolve(POSE_BACKENDS[name])(num_threads=num_threads, runtime=runtime)
