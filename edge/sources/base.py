"""The one interface every frame source implements, so the loop never knows where frames
come from (a file on a laptop, the Pi camera on the box)."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal, Protocol, Self

SourceKind = Literal["video", "keypoints", "camera"]

# Frame rates outside this range are broken container metadata, not real cameras.
MIN_FPS, MAX_FPS = 1.0, 1000.0
# Pi camera digital zoom (edge.sources.picamera): 1 = the lens's whole field. A Camera
# Module 3 keeps 1728 binned pixels across at zoom 1, so up to 2.7 the crop still has more
# pixels than a 640-wide frame; beyond that the picture only gets softer.
ZOOM_MIN, ZOOM_MAX = 1.0, 4.0


class FrameSource(Protocol):
    """An iterator of (timestamp, frame) with its geometry known up front.

    `frames()` yields (seconds since the source started, frame). A frame is an RGB uint8
    (height, width, 3) array, or an `edge.pose.Pose` for a keypoints file. Image sources
    reuse one buffer for every frame (no per-frame allocation): copy a frame to keep it.
    `frame_count` is the expected number of frames, or None for a live camera.
    """

    fps: float
    width: int
    height: int
    kind: SourceKind
    live: bool
    frame_count: int | None

    def frames(self) -> Iterator[tuple[float, Any]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def valid_fps(fps: float) -> bool:
    return fps == fps and MIN_FPS <= fps <= MAX_FPS


def valid_zoom(zoom: float) -> bool:
    return zoom == zoom and ZOOM_MIN <= zoom <= ZOOM_MAX
