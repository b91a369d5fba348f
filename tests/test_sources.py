"""Frame sources: real decoding of real and synthetic videos, keypoints files, and the
camera adapters with only the device itself faked (picamera2 cannot exist off the Pi)."""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest
from conftest import REFERENCE, footage_path

from edge.errors import SourceError
from edge.keypoints import KeypointTrack, save_keypoints
from edge.pose import Pose
from edge.sources import open_source
from edge.sources import webcam as webcam_module

# Pure colours survive mp4v compression well enough to tell the channels apart.
RED_RGB = (220, 20, 20)
BLUE_RGB = (20, 20, 220)


def write_video(path, frames: int, fps: float = 30.0, size=(64, 48)) -> None:
    """An mp4v file whose frame i is red at the top and blue at the bottom."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    bgr = np.zeros((h, w, 3), np.uint8)
    bgr[: h // 2] = RED_RGB[::-1]
    bgr[h // 2 :] = BLUE_RGB[::-1]
    for _ in range(frames):
        writer.write(bgr)
    writer.release()


def test_real_clip_geometry_and_timestamps():
    with open_source(str(footage_path("glute_bridge.mp4"))) as src:
        assert (src.kind, src.live) == ("video", False)
        assert (src.width, src.height, src.fps, src.frame_count) == (640, 480, 30.0, 91)
        times = []
        for t, frame in src.frames():
            assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
            times.append(t)
    np.testing.assert_allclose(times, np.arange(91) / 30.0)


def test_video_frames_are_rgb_in_one_reused_buffer(tmp_path):
    path = tmp_path / "colours.mp4"
    write_video(path, frames=5)
    with open_source(str(path)) as src:
        buffers = set()
        for _, frame in src.frames():
            buffers.add(id(frame))
            top, bottom = frame[4, 32].astype(int), frame[40, 32].astype(int)
            assert np.abs(top - RED_RGB).max() < 40, top
            assert np.abs(bottom - BLUE_RGB).max() < 40, bottom
    assert len(buffers) == 1


@pytest.mark.parametrize("bad_fps", [5000.0, 0.5])
def test_absurd_container_fps_falls_back_to_the_given_rate(tmp_path, bad_fps, caplog):
    path = tmp_path / "fast.mp4"
    write_video(path, frames=3, fps=bad_fps)
    with open_source(str(path), fps=25.0) as src:
        assert src.fps == 25.0
        assert [t for t, _ in src.frames()] == pytest.approx([0.0, 0.04, 0.08])
    assert "unusable" in caplog.text


def _error(spec: str) -> str:
    with pytest.raises(SourceError) as info:
        open_source(spec)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_video_files_give_one_line_errors(tmp_path):
    assert "no such file" in _error(str(tmp_path / "missing.mp4"))
    assert "not a file" in _error(str(tmp_path))
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "empty file" in _error(str(tmp_path / "empty.mp4"))
    (tmp_path / "notes.mp4").write_text("this is a text file, not a video\n")
    assert "not a video" in _error(str(tmp_path / "notes.mp4"))
    rng = np.random.default_rng(0)
    (tmp_path / "noise.mp4").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "not a video" in _error(str(tmp_path / "noise.mp4"))
    # A container with a header and no frames at all.
    cv2.VideoWriter(
        str(tmp_path / "zero.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 48)
    ).release()
    assert "zero.mp4" in _error(str(tmp_path / "zero.mp4"))


def test_truncated_real_clip_is_an_error(tmp_path):
    data = footage_path("glute_bridge.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:2000])
    assert "cut.mp4" in _error(str(tmp_path / "cut.mp4"))


def test_keypoints_file_replays_poses():
    path = REFERENCE / "glute_bridge.npz"
    if not path.exists():
        pytest.skip(f"{path} not present")
    with np.load(path) as z:
        kp, lm = z["keypoints"], z["landmarks"]
    with open_source(str(path)) as src:
        assert (src.kind, src.live, src.frame_count) == ("keypoints", False, len(kp))
        assert (src.width, src.height, src.fps) == (640, 480, 30.0)
        items = list(src.frames())
    assert all(isinstance(p, Pose) for _, p in items)
    np.testing.assert_array_equal(np.stack([p.keypoints for _, p in items]), kp)
    np.testing.assert_array_equal(np.stack([p.landmarks for _, p in items]), lm)
    assert items[-1][0] == pytest.approx((len(kp) - 1) / 30.0)


def test_keypoints_file_without_landmarks_and_empty_file(tmp_path):
    kp = np.zeros((4, 17, 3), np.float32)
    kp[:, :, 2] = 1.0
    save_keypoints(tmp_path / "k.npz", KeypointTrack(kp, 10.0, 320, 240, "movenet"))
    with open_source(str(tmp_path / "k.npz")) as src:
        poses = [p for _, p in src.frames()]
    assert len(poses) == 4 and poses[0].landmarks is None
    save_keypoints(tmp_path / "e.npz", KeypointTrack(kp[:0], 10.0, 320, 240, "movenet"))
    assert "no frames" in _error(str(tmp_path / "e.npz"))
    (tmp_path / "text.npz").write_text("not numpy")
    assert "text.npz" in _error(str(tmp_path / "text.npz"))


def test_webcam_spec_errors():
    assert "webcam:N" in _error("webcam:front")
    assert "cannot open" in _error("webcam:63")


class UnpluggedWebcam:
    """A VideoCapture for a device index that plays a real clip, then goes dead."""

    def __init__(self, clip: str, frames_before_unplug: int):
        self.real = cv2.VideoCapture(clip)
        self.left = frames_before_unplug
        self.props: dict[int, float] = {}

    def __call__(self, index):
        assert index == 2
        return self

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return 0.0  # many webcams report no frame rate

    def read(self, image=None):
        if self.left == 0:
            return False, None
        self.left -= 1
        return self.real.read(image)

    def release(self):
        self.real.release()


def test_webcam_asks_for_size_and_raises_when_the_camera_stops(monkeypatch):
    fake = UnpluggedWebcam(str(footage_path("glute_bridge.mp4")), frames_before_unplug=4)
    monkeypatch.setattr(webcam_module.cv2, "VideoCapture", fake)
    src = open_source("webcam:2", width=640, height=480, fps=15.0)
    assert (src.kind, src.live, src.frame_count) == ("camera", True, None)
    assert fake.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
    assert fake.props[cv2.CAP_PROP_FRAME_HEIGHT] == 480
    assert (src.width, src.height, src.fps) == (640, 480, 15.0)
    got = []
    with src, pytest.raises(SourceError, match="stopped delivering"):
        for t, frame in src.frames():
            got.append(t)
            assert frame.shape == (480, 640, 3)
    assert len(got) == 4 and got == sorted(got)


class FakeRequest:
    def __init__(self, cam, index):
        self.cam, self.index = cam, index

    def make_array(self, name):
        self.cam.calls.append(("make_array", name))
        h, w = self.cam.config["main"]["size"][::-1]
        # picamera2's "BGR888" delivers R, G, B bytes: channel 0 is red.
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 0] = 200
        frame[0, 0, 1] = self.index
        return frame

    def get_metadata(self):
        return {"SensorTimestamp": 5_000_000_000 + self.index * 33_333_333}

    def release(self):
        self.cam.calls.append(("release", self.index))


def install_fake_picamera2(monkeypatch, frames_before_stall: int):
    calls: list = []

    class Picamera2:
        def __init__(self):
            self.calls = calls
            self.config = None
            self.sent = 0

        def create_video_configuration(self, main, controls):
            calls.append(("create_video_configuration", main, controls))
            return {"main": dict(main), "controls": dict(controls)}

        def configure(self, config):
            calls.append(("configure", config))
            self.config = config

        def start(self):
            calls.append(("start",))

        def capture_request(self, wait=None):
            calls.append(("capture_request", wait))
            if self.sent == frames_before_stall:
                raise TimeoutError("no frame within timeout")
            self.sent += 1
            return FakeRequest(self, self.sent - 1)

        def stop(self):
            calls.append(("stop",))

        def close(self):
            calls.append(("close",))

    module = types.ModuleType("picamera2")
    module.Picamera2 = Picamera2
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return calls


def test_picamera_configures_640x480_rgb_at_30fps(monkeypatch):
    calls = install_fake_picamera2(monkeypatch, frames_before_stall=3)
    src = open_source("camera")
    assert calls[0] == (
        "create_video_configuration",
        {"size": (640, 480), "format": "BGR888"},
        {"FrameRate": 30.0},
    )
    assert [c[0] for c in calls] == ["create_video_configuration", "configure", "start"]
    assert (src.kind, src.live, src.width, src.height, src.fps) == ("camera", True, 640, 480, 30)
    seen = []
    with src, pytest.raises(SourceError, match="stopped delivering"):
        for t, frame in src.frames():
            assert frame.shape == (480, 640, 3) and frame[1, 1, 0] == 200
            seen.append((round(t, 6), int(frame[0, 0, 1])))
    # Timestamps come from the sensor, relative to the first frame.
    assert seen == [(0.0, 0), (0.033333, 1), (0.066667, 2)]
    # Each request is released after its pixels were copied out, and the wait is bounded.
    assert [c for c in calls if c[0] == "release"] == [("release", i) for i in range(3)]
    waits = {c[1] for c in calls if c[0] == "capture_request"}
    assert len(waits) == 1 and 0 < waits.pop() <= 5
    assert calls[-2:] == [("stop",), ("close",)]


def test_picamera_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes the import fail
    assert "python3-picamera2" in _error("camera")


class ResizingWebcam(UnpluggedWebcam):
    """Delivers two frames, then frames of another size (OpenCV then allocates anew)."""

    def read(self, image=None):
        if self.left == 0:
            return True, np.zeros((240, 320, 3), np.uint8)
        return super().read(image)


def test_webcam_changing_frame_size_is_an_error_not_a_stale_frame(monkeypatch):
    fake = ResizingWebcam(str(footage_path("glute_bridge.mp4")), frames_before_unplug=2)
    monkeypatch.setattr(webcam_module.cv2, "VideoCapture", fake)
    with open_source("webcam:2") as src, pytest.raises(SourceError, match="frame size"):
        for _ in src.frames():
            pass
