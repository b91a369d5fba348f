"""A keypoints `.npz` file replayed as a source, so judging can be re-run without the model."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import numpy as np

from edge.errors import SourceError
from edge.keypoints import load_keypoints
from edge.pose import Pose
from edge.sources.base import FrameSource, SourceKind

log = logging.getLogger(__name__)


class KeypointsFileSource(FrameSource):
    kind: SourceKind = "keypoints"
    live = False

    def __init__(self, path: str | os.PathLike):
        self.track = load_keypoints(path)
        if self.track.frames == 0:
            raise SourceError(f"{path}: keypoints file holds no frames")
        self.fps = self.track.fps
        self.width = self.track.width
        self.height = self.track.height
        self.model = self.track.model
        self.frame_count = self.track.frames
        hidden = _hide_implausible(self.track.keypoints, self.width, self.height)
        if self.track.landmarks is not None:
            hidden += _hide_implausible(self.track.landmarks, self.width, self.height)
        if hidden:
            log.warning(
                "%s: %d points are not finite or lie far outside the %dx%d image; "
                "treating them as unseen", path, hidden, self.width, self.height,
            )  # fmt: skip

    def frames(self) -> Iterator[tuple[float, Pose]]:
        kp, lm = self.track.keypoints, self.track.landmarks
        for i in range(self.frame_count):
            yield i / self.fps, Pose(keypoints=kp[i], landmarks=None if lm is None else lm[i])

    def close(self) -> None:
        pass


def _hide_implausible(points: np.ndarray, width: int, height: int) -> int:
    """Give a zero score, in place, to points no camera could have seen: coordinates or
    scores that are not finite, or positions farther outside the image than its own width or
    height (a model extrapolates a cut-off heel a little past the edge, never a frame away).
    The judge then treats them as unseen, as it would a missed detection. Returns how many."""
    xy, score = points[..., :2], points[..., -1]
    bad = ~(np.isfinite(xy).all(axis=-1) & np.isfinite(score))
    if width > 0 and height > 0:
        x, y = xy[..., 0], xy[..., 1]
        bad |= (x < -width) | (x > 2 * width) | (y < -height) | (y > 2 * height)
    score[bad] = 0.0
    return int(np.count_nonzero(bad))
