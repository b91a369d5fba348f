"""The Raspberry Pi camera through picamera2 (installed from apt on Raspberry Pi OS).

picamera2 is imported only in the constructor, so every other source works off the Pi.
Format names follow libcamera/DRM, which name pixels by little-endian word order:
"BGR888" lands in memory, and so in the numpy array, as R, G, B bytes. That is the RGB
array the pose models want, with no colour conversion ("RGB888" would give B, G, R).

Field of view. libcamera picks the sensor mode nearest the raw size asked for (its
`findBestFormat`, Raspberry Pi pipeline handler), and picamera2 asks for the output size:
for 640x480 that is the Camera Module 3's smallest mode, a centre crop of 3072x1728 of its
4608x2592 pixels, so the lens's field would shrink to a libcamera heuristic. We ask for half
the pixel array instead: every Raspberry Pi camera has a 2x2-binned mode reading the whole
array there (IMX708 2304x1296, IMX219 1640x1232, IMX477 2028x1520, OV5647 1296x972). The ISP
then trims the mode to the output's aspect ratio, centred (libcamera crops 16:9 to 4:3 this
way by itself); `zoom` narrows that same centred crop through the ScalerCrop control, in
sensor pixels inside the mode's ScalerCropMaximum. libcamera scales a ScalerCrop to the
output as given, so the crop must keep the output's aspect ratio or the picture stretches.
The binned modes run at 40-56 fps (IMX708: 56), above what the pose model needs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from edge.errors import CameraError, SourceError
from edge.sources.base import ZOOM_MAX, ZOOM_MIN, FrameSource, SourceKind, valid_fps, valid_zoom

log = logging.getLogger(__name__)

RGB_ARRAY_FORMAT = "BGR888"
# The longest a running camera may go without a frame before we call it stopped.
CAPTURE_TIMEOUT_S = 2.0

Rect = tuple[int, int, int, int]  # x, y, width, height in sensor pixels


def scaler_crop(maximum: Rect, width: int, height: int, zoom: float) -> Rect:
    """The ScalerCrop for `zoom`: the largest rectangle of the output's aspect ratio
    (width:height) centred in `maximum` (the mode's ScalerCropMaximum), shrunk by `zoom`
    about its centre. Sizes are rounded to even pixels (Bayer pairs)."""
    x0, y0, full_w, full_h = maximum
    if full_w * height > width * full_h:  # the mode is wider than the output: keep its height
        fit_w, fit_h = full_h * width / height, float(full_h)
    else:
        fit_w, fit_h = float(full_w), full_w * height / width
    w = min(full_w, max(2, 2 * round(fit_w / zoom / 2)))
    h = min(full_h, max(2, 2 * round(fit_h / zoom / 2)))
    return x0 + (full_w - w) // 2, y0 + (full_h - h) // 2, w, h


class PiCameraSource(FrameSource):
    kind: SourceKind = "camera"
    live = True
    frame_count = None

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, zoom: float = 1.0):
        try:
            from picamera2 import MappedArray, Picamera2
        except Exception as exc:  # not only ImportError: a numpy mismatch is a ValueError
            raise CameraError(import_failure(exc)) from None
        if not valid_fps(fps):
            raise CameraError(f"camera: frame rate {fps} is out of range")
        if not valid_zoom(zoom):
            raise CameraError(
                f"camera: zoom {zoom} is out of range (between {ZOOM_MIN:g} and {ZOOM_MAX:g})"
            )
        self._cam: Any = None
        try:
            self._cam = Picamera2()
            pixels = self._cam.camera_properties.get("PixelArraySize")
            mode: dict[str, Any] = {}  # without a pixel array size, libcamera's own choice
            if pixels:
                mode["raw"] = {"size": (pixels[0] // 2, pixels[1] // 2)}
            config = self._cam.create_video_configuration(
                main={"size": (width, height), "format": RGB_ARRAY_FORMAT},
                controls={"FrameRate": float(fps)},
                **mode,
            )
            self._cam.configure(config)
            maximum = self._cam.camera_properties.get("ScalerCropMaximum")
            log.info("camera: sensor mode reads %s of the %s pixel array", maximum, pixels)
            if zoom != 1.0:
                if not maximum or not maximum[2] or not maximum[3]:
                    raise SourceError(
                        "camera: the camera reports no ScalerCropMaximum, so camera.zoom "
                        "cannot be applied; set camera.zoom = 1.0"
                    )
                crop = scaler_crop(tuple(maximum), width, height, zoom)
                self._cam.set_controls({"ScalerCrop": crop})
                log.info("camera: zoom %g crops %s", zoom, crop)
            self._cam.start()
        except Exception as exc:  # libcamera raises RuntimeError and friends
            self._close_quietly()
            if isinstance(exc, SourceError):
                raise CameraError(str(exc)) from None
            raise CameraError(
                f"camera: picamera2 cannot start the Pi camera ({_first_line(exc)}); check "
                "`rpicam-hello --list-cameras` (ribbon cable, camera_auto_detect in "
                "/boot/firmware/config.txt) and that no other program holds the camera, then "
                "`sudo systemctl restart hipflex`"
            ) from None
        self.width, self.height, self.fps = width, height, float(fps)
        self._rgb = np.empty((height, width, 3), dtype=np.uint8)
        # A view of the request's own buffer while it is held: one copy out per frame and
        # nothing allocated (make_array would copy into a new array, then we copy again).
        self._mapped_array = MappedArray
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
                # The sensor's own timestamp, not the time we got round to reading it.
                ts_ns = int(request.get_metadata()["SensorTimestamp"])
                with self._mapped_array(request, "main") as mapped:
                    frame = mapped.array
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

    def _close_quietly(self) -> None:
        """Release a camera that failed half-way through starting, so a retry can open it."""
        if self._cam is None:
            return
        with contextlib.suppress(Exception):
            self._cam.close()


def _first_line(exc: BaseException) -> str:
    """`Type: message`, first line only: journal and status lines stay one line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def import_failure(exc: BaseException) -> str:
    """The one line for a picamera2 that does not import: which package, and the fix.

    The known case: the venv's numpy shadows apt's, and apt's python3-simplejpeg (which
    picamera2 imports) was built against another numpy major version, so the import ends in
    `ValueError: numpy.dtype size changed` (picamera2 issues #1088 and #1211).
    """
    cause = _first_line(exc)
    if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == "picamera2":
        return (
            f"camera: picamera2 is not installed ({cause}); on Raspberry Pi OS: "
            "`sudo apt install --no-install-recommends python3-picamera2`, in a venv made with "
            "--system-site-packages (`sudo make install` makes it so)"
        )
    if "numpy" in str(exc).lower():
        return (
            f"camera: picamera2 cannot be imported ({cause}): the venv's numpy is not the one "
            "apt's python3-simplejpeg and python3-picamera2 were built for; reinstall with "
            "`sudo make install`, which keeps the venv on apt's python3-numpy, then "
            "`sudo systemctl restart hipflex`"
        )
    return (
        f"camera: picamera2 cannot be imported ({cause}); reinstall it with "
        "`sudo apt install --reinstall --no-install-recommends python3-picamera2`, then "
        "`sudo systemctl restart hipflex`"
    )
