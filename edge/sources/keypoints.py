"""A keypoints `.npz` file replayed as a source, so judging can be re-run without the model."""

from __future__ import annotations

import os
from collections.abc import Iterator

from edge.errors import SourceError
from edge.keypoints import load_keypoints
from edge.pose import Pose
from edge.sources.base import FrameSource, SourceKind


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

    def frames(self) -> Iterator[tuple[float, Pose]]:
        kp, lm = self.track.keypoints, self.track.landmarks
        for i in range(self.frame_count):
            yield i / self.fps, Pose(keypoints=kp[i], landmarks=None if lm is None else lm[i])

    def close(self) -> None:
        pass
