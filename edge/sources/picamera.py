"""The Raspberry Pi camera through picamera2 (installed from apt on Raspberry Pi OS).

picamera2 is imported only in the constructor, so every other source works off the Pi.
Format names follow libcamera/DRM, which name pixels by little-endian word order:
"BGR888" lands in memory, and so in the numpy array, as R, G, B bytes. That is the RGB
array the pose models want, with no colour conversion ("RGB888" would give B, G, R).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from edge.errors import SourceError
from edge.sources.base import FrameSource, SourceKind, valid_fps

RGB_ARRAY_FORMAT = "BGR888"
# The longest a running camera may go without a frame before we call it stopped.
CAPTURE_TIMEOUT_S = 2.0


class PiCameraSource(FrameSource):
    kind: SourceKind = "camera"
    live = True
    frame_count = None

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0):
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise SourceError(
                f"camera: picamera2 is not importable ({exc}); on Raspberry Pi OS install "
                "python3-picamera2 with apt and create the venv with --system-site-packages"
            ) from None
        if not valid_fps(fps):
            raise SourceError(f"camera: frame rate {fps} is out of range")
        try:
            self._cam: Any = Picamera2()
            config = self._cam.create_video_configuration(
                main={"size": (width, height), "format": RGB_ARRAY_FORMAT},
                controls={"FrameRate": float(fps)},
            )
            self._cam.configure(config)
            self._cam.start()
        except Exception as exc:  # libcamera raises RuntimeError and friends
            raise SourceError(f"camera: cannot start the Pi camera ({exc})") from None
        self.width, self.height, self.fps = width, height, float(fps)
        self._rgb = np.empty((height, width, 3), dtype=np.uint8)
        self._t0_ns: int | None = None

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        while True:
            try:
                request = self._cam.capture_request(wait=CAPTURE_TIMEOUT_S)
            except Exception as exc:  # TimeoutError from picamera2's job, or libcamera errors
                raise SourceError(f"camera: stopped delivering frames ({exc!r})") from None
            if request is None:
                raise SourceError("camera: stopped delivering frames (no capture request)")
            try:
                frame = request.make_array("main")
                # The sensor's own timestamp, not the time we got round to reading it.
                ts_ns = int(request.get_metadata()["SensorTimestamp"])
                if getattr(frame, "shape", None) != self._rgb.shape:
                    shape = getattr(frame, "shape", type(frame).__name__)
                    raise SourceError(
                        f"camera: delivered {shape} frames, configured {self._rgb.shape}"
                    )
                np.copyto(self._rgb, frame)
            except SourceError:
                raise
            except Exception as exc:  # a request without pixels or metadata
                raise SourceError(f"camera: delivered an unreadable frame ({exc!r})") from None
            finally:
                request.release()
            if self._t0_ns is None:
                self._t0_ns = ts_ns
            yield (ts_ns - self._t0_ns) / 1e9, self._rgb

    def close(self) -> None:
        try:
            self._cam.stop()
        finally:
            self._cam.close()
