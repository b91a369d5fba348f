"""A video file decoded by OpenCV. Timestamps come from the frame index and the file's
frame rate, so a clip gives the same times on every machine."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from edge.errors import SourceError
from edge.sources.base import FrameSource, SourceKind, valid_fps

log = logging.getLogger(__name__)


def quiet_opencv() -> None:
    """Keep FFmpeg's and OpenCV's own chatter off stderr, where our one-line errors go.

    FFmpeg's level is read when the first capture is opened. Set OPENCV_FFMPEG_LOGLEVEL=32
    and OPENCV_LOG_LEVEL=INFO in the environment to see the decoder's messages again.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    if "OPENCV_LOG_LEVEL" not in os.environ:
        # OpenCV 4 has cv2.setLogLevel, OpenCV 5 moved it to cv2.utils.logging.
        set_level = getattr(cv2, "setLogLevel", None) or cv2.utils.logging.setLogLevel
        set_level(0)  # silent: failures surface as our own one-line SourceError


quiet_opencv()


class VideoFileSource(FrameSource):
    kind: SourceKind = "video"
    live = False

    def __init__(self, path: str | os.PathLike, fallback_fps: float = 30.0):
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"{self.path}: no such file")
        if not self.path.is_file():
            raise SourceError(f"{self.path}: not a file")
        if not os.access(self.path, os.R_OK):
            raise SourceError(f"{self.path}: permission denied")
        if self.path.stat().st_size == 0:
            raise SourceError(f"{self.path}: empty file")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"{self.path}: not a video OpenCV can read")
        # Decode the first frame now: a file that opens but holds no frames, or is not
        # really a video, fails here with a clear message instead of yielding nothing.
        ok, bgr = self._cap.read()
        if not ok or bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
            self._cap.release()
            raise SourceError(f"{self.path}: no decodable frames (empty or not a video)")
        self._bgr = bgr
        self.height, self.width = int(bgr.shape[0]), int(bgr.shape[1])
        self._rgb = np.empty_like(bgr)
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        if not valid_fps(fps):
            # Some containers carry no usable rate; a warning beats refusing the file.
            log.warning(
                "%s: frame rate %r is unusable, assuming %g fps", self.path, fps, fallback_fps
            )
            fps = fallback_fps
        self.fps = fps
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self._started = False

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        if self._started:
            raise SourceError(f"{self.path}: frames() can only be iterated once")
        self._started = True
        index = 0
        ok = True
        while ok:
            cv2.cvtColor(self._bgr, cv2.COLOR_BGR2RGB, dst=self._rgb)
            yield index / self.fps, self._rgb
            index += 1
            ok, bgr = self._cap.read(self._bgr)
            if ok and bgr is not self._bgr:  # OpenCV reallocates only if the size changed
                raise SourceError(f"{self.path}: frame size changes at frame {index}")
        if self.frame_count and index < self.frame_count:
            # A cut-off file decodes up to the cut: keep what is there, but say so.
            log.warning(
                "%s: decoding stopped after %d of %d frames; the file is truncated or damaged",
                self.path, index, self.frame_count,
            )  # fmt: skip

    def close(self) -> None:
        self._cap.release()
