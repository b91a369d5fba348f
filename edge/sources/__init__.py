"""Frame sources behind one interface: an iterator of (timestamp s, frame).

Like gpiozero's pin factories, each backend lives in its own module and is picked at
run time from a spec string: "camera" (picamera2), "webcam:N", a video file, or a
keypoints `.npz` (which skips the model: its frames are `edge.pose.Pose` objects).
picamera2 is imported only inside its adapter, so everything else runs off the Pi.
"""

from __future__ import annotations

from edge.errors import SourceError
from edge.sources.base import FrameSource, SourceKind

__all__ = ["FrameSource", "SourceKind", "open_source"]


def open_source(
    spec: str, *, width: int = 640, height: int = 480, fps: float = 30.0, zoom: float = 1.0
) -> FrameSource:
    """Open the source named by `spec`.

    width/height/fps are what a camera is asked for; a video file keeps its own size and
    uses `fps` only when its container carries no usable frame rate. `zoom` is the Pi
    camera's digital zoom (camera.zoom). A file ignores it: it replays what was filmed. A
    webcam refuses any zoom but 1, so the setting never silently does nothing on a live
    camera (`hipflex aim` advises raising it).
    """
    spec = str(spec)
    if spec == "camera":
        from edge.sources.picamera import PiCameraSource

        return PiCameraSource(width=width, height=height, fps=fps, zoom=zoom)
    if spec.startswith("webcam:"):
        index = spec.removeprefix("webcam:")
        if not index.isdigit():
            raise SourceError(f"{spec}: expected webcam:N with N a camera number, e.g. webcam:0")
        if zoom != 1.0:
            raise SourceError(
                f"{spec}: camera.zoom = {zoom:g} works only with the Pi camera; set it to 1.0 "
                "for a webcam, and move the webcam instead"
            )
        from edge.sources.webcam import WebcamSource

        return WebcamSource(int(index), width=width, height=height, fps=fps)
    if spec.lower().endswith(".npz"):
        from edge.sources.keypoints import KeypointsFileSource

        return KeypointsFileSource(spec)
    from edge.sources.video import VideoFileSource

    return VideoFileSource(spec, fallback_fps=fps)
