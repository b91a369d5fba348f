"""A USB webcam through OpenCV (V4L2 on Linux), for development off the Pi."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np

from edge.errors import SourceError
from edge.sources.base import FrameSource, SourceKind, valid_fps
from edge.sources.video import quiet_opencv

quiet_opencv()


class WebcamSource(FrameSource):
    kind: SourceKind = "camera"
    live = True
    frame_count = None

    def __init__(self, index: int, width: int = 640, height: int = 480, fps: float = 30.0):
        self.name = f"webcam:{index}"
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise SourceError(f"{self.name}: cannot open camera {index}")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._cap.release()
            raise SourceError(f"{self.name}: opened but delivers no frames")
        self._bgr = bgr
        self._rgb = np.empty_like(bgr)
        # Cameras may grant another size than asked for; report what actually arrives.
        self.height, self.width = int(bgr.shape[0]), int(bgr.shape[1])
        granted = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.fps = granted if valid_fps(granted) else fps

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        start = time.monotonic()
        t = 0.0
        while True:
            cv2.cvtColor(self._bgr, cv2.COLOR_BGR2RGB, dst=self._rgb)
            yield t, self._rgb
            ok, bgr = self._cap.read(self._bgr)
            if not ok:
                raise SourceError(f"{self.name}: camera stopped delivering frames")
            if bgr is not self._bgr:  # OpenCV reallocates only if the size changed
                raise SourceError(f"{self.name}: camera changed its frame size")
            t = time.monotonic() - start

    def close(self) -> None:
        self._cap.release()
