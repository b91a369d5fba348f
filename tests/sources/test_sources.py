"""Frame sources: real decoding of real and synthetic videos, keypoints files, and the
camera adapters with only the device itself faked (picamera2 cannot exist off the Pi)."""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest
from conftest import REFERENCE, footage_path
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import SourceError
from edge.keypoints import KeypointTrack, save_keypoints
from edge.pose import Pose
from edge.sources import open_source
from edge.sources import webcam as webcam_module
from edge.sources.picamera import scaler_crop

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
    """A completed request: the stream's buffer as the ISP leaves it, each row followed by
    padding (a dmabuf's stride may be wider than the pixels), here 64 junk bytes."""

    def __init__(self, cam, index):
        self.cam, self.index = cam, index
        w, h = cam.config["main"]["size"]
        self.buffer = np.full((h, w * 3 + 64), 255, np.uint8)
        # picamera2's "BGR888" delivers R, G, B bytes: channel 0 is red.
        pixels = self.buffer[:, : w * 3].reshape(h, w, 3)
        pixels[...] = 0
        pixels[..., 0] = 200
        pixels[0, 0, 1] = index

    def get_metadata(self):
        return {"SensorTimestamp": 5_000_000_000 + self.index * 33_333_333}

    def release(self):
        self.cam.calls.append(("release", self.index))


# Sensor modes as `rpicam-hello --list-cameras` lists them on a Pi: output size -> the part
# of the pixel array (x, y, width, height) the mode reads.
IMX708 = {  # Camera Module 3 and 3 Wide
    "PixelArraySize": (4608, 2592),
    "modes": {
        (1536, 864): (768, 432, 3072, 1728),
        (2304, 1296): (0, 0, 4608, 2592),
        (4608, 2592): (0, 0, 4608, 2592),
    },
}
IMX219 = {  # Camera Module 2
    "PixelArraySize": (3280, 2464),
    "modes": {
        (640, 480): (1000, 752, 1280, 960),
        (1640, 1232): (0, 0, 3280, 2464),
        (1920, 1080): (680, 692, 1920, 1080),
        (3280, 2464): (0, 0, 3280, 2464),
    },
}
NO_CROP_INFO = {"PixelArraySize": (4608, 2592), "modes": {(2304, 1296): (0, 0, 0, 0)}}


def libcamera_mode(sensor: dict, raw_size: tuple[int, int]) -> tuple[int, int]:
    """The mode libcamera's Raspberry Pi pipeline picks for a raw size (findBestFormat in
    pipeline_base.cpp): closest width, height and aspect ratio, a larger mode penalised
    less than a smaller one."""

    def score(desired: float, actual: float) -> float:
        s = desired - actual if desired >= actual else (actual - desired) / 8
        return s if actual == desired else 2 * s

    w, h = raw_size
    return min(
        sensor["modes"],
        key=lambda m: score(w, m[0]) + score(h, m[1]) + 1500 * score(w / h, m[0] / m[1]),
    )


def install_fake_picamera2(monkeypatch, frames_before_stall: int = 0, sensor: dict = IMX708):
    """picamera2 down to what libcamera reports: the pixel array, the mode it picks for
    the raw size, and that mode's ScalerCropMaximum once configured."""
    calls: list = []

    class Picamera2:
        def __init__(self):
            self.calls = calls
            self.config = None
            self.sent = 0
            self.camera_properties = {
                "PixelArraySize": sensor["PixelArraySize"],
                "ScalerCropMaximum": (0, 0, 0, 0),  # meaningless until a mode is chosen
            }

        def create_video_configuration(self, main, controls, raw=None):
            calls.append(("create_video_configuration", main, controls, raw))
            # picamera2 asks for a raw stream of the main size unless told otherwise.
            raw = dict(raw or {"size": main["size"]})
            return {"main": dict(main), "raw": raw, "controls": dict(controls)}

        def configure(self, config):
            calls.append(("configure", config))
            self.config = config
            mode = libcamera_mode(sensor, config["raw"]["size"])
            self.camera_properties["ScalerCropMaximum"] = sensor["modes"][mode]

        def set_controls(self, controls):
            calls.append(("set_controls", controls))

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

    class MappedArray:
        """picamera2's MappedArray: inside `with`, `.array` views the request's buffer as
        (height, width, 3), the stride padding sliced off (so not contiguous)."""

        def __init__(self, request, stream):
            self.request, self.stream = request, stream

        def __enter__(self):
            request = self.request
            calls.append(("map", self.stream, request.index))
            w, h = request.cam.config["main"]["size"]
            self.array = request.buffer[:, : w * 3].reshape(h, w, 3)
            return self

        def __exit__(self, *exc):
            calls.append(("unmap", self.request.index))
            self.array = None

    module = types.ModuleType("picamera2")
    module.Picamera2 = Picamera2
    module.MappedArray = MappedArray
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return calls


def test_picamera_configures_640x480_rgb_at_30fps(monkeypatch):
    calls = install_fake_picamera2(monkeypatch, frames_before_stall=3)
    src = open_source("camera")
    assert calls[0] == (
        "create_video_configuration",
        {"size": (640, 480), "format": "BGR888"},
        {"FrameRate": 30.0},
        {"size": (2304, 1296)},
    )
    # Zoom 1 leaves the crop to libcamera: centred, trimmed to 4:3.
    assert [c[0] for c in calls] == ["create_video_configuration", "configure", "start"]
    assert (src.kind, src.live, src.width, src.height, src.fps) == ("camera", True, 640, 480, 30)
    seen = []
    with src, pytest.raises(SourceError, match="stopped delivering"):
        for t, frame in src.frames():
            assert frame.shape == (480, 640, 3) and frame[1, 1, 0] == 200
            seen.append((round(t, 6), int(frame[0, 0, 1])))
    # Timestamps come from the sensor, relative to the first frame.
    assert seen == [(0.0, 0), (0.033333, 1), (0.066667, 2)]
    # Each request's buffer is mapped, copied out, unmapped, then the request released,
    # and the wait is bounded.
    per_frame = [c for c in calls if c[0] in ("map", "unmap", "release")]
    assert per_frame == [
        step for i in range(3) for step in (("map", "main", i), ("unmap", i), ("release", i))
    ]
    waits = {c[1] for c in calls if c[0] == "capture_request"}
    assert len(waits) == 1 and 0 < waits.pop() <= 5
    assert calls[-2:] == [("stop",), ("close",)]


@pytest.mark.parametrize("sensor", [IMX708, IMX219], ids=["imx708", "imx219"])
def test_picamera_picks_a_mode_reading_the_whole_pixel_array(monkeypatch, sensor):
    """Left to libcamera, a 640x480 stream gets a small mode that reads only the middle of
    the sensor; asking for half the pixel array gets the binned mode that reads all of it."""
    width, height = sensor["PixelArraySize"]
    assert sensor["modes"][libcamera_mode(sensor, (640, 480))][2] < width
    install_fake_picamera2(monkeypatch, sensor=sensor)
    with open_source("camera") as src:
        assert src._cam.camera_properties["ScalerCropMaximum"] == (0, 0, width, height)


@pytest.mark.parametrize(
    ("sensor", "zoom", "crop"),
    [
        (IMX708, 1.5, (1152, 432, 2304, 1728)),  # the field of IMX708's small cropped mode
        (IMX708, 2.0, (1440, 648, 1728, 1296)),
        (IMX708, 4.0, (1872, 972, 864, 648)),
        (IMX219, 1.25, (328, 248, 2624, 1968)),  # a 4:3 sensor, a hair taller than 4:3
        (IMX219, 2.0, (820, 617, 1640, 1230)),
    ],
    ids=["imx708-1.5", "imx708-2", "imx708-4", "imx219-1.25", "imx219-2"],
)
def test_picamera_zoom_sets_a_centred_4_3_scaler_crop_before_start(monkeypatch, sensor, zoom, crop):
    calls = install_fake_picamera2(monkeypatch, sensor=sensor)
    with open_source("camera", zoom=zoom) as src:
        assert (src.width, src.height) == (640, 480)
    assert [c[0] for c in calls[:4]] == ["create_video_configuration", "configure",
                                         "set_controls", "start"]  # fmt: skip
    assert calls[2][1] == {"ScalerCrop": crop}
    w, h = crop[2:]
    assert w * 480 == h * 640  # the ISP scales it to 640x480 without stretching


def test_scaler_crop_stays_inside_a_cropped_mode_and_follows_the_output_shape():
    # IMX708's small mode reads (768, 432)/3072x1728: the crop is centred in that.
    assert scaler_crop((768, 432, 3072, 1728), 640, 480, 1.2) == (1344, 576, 1920, 1440)
    assert scaler_crop((0, 0, 4608, 2592), 640, 480, 1.0) == (576, 0, 3456, 2592)
    assert scaler_crop((0, 0, 4608, 2592), 1280, 720, 1.0) == (0, 0, 4608, 2592)
    assert scaler_crop((0, 0, 4608, 2592), 1280, 720, 2.0) == (1152, 648, 2304, 1296)


@given(
    x0=st.integers(0, 2000),
    y0=st.integers(0, 2000),
    full_w=st.integers(32, 4000).map(lambda v: 2 * v),
    full_h=st.integers(32, 4000).map(lambda v: 2 * v),
    width=st.integers(80, 960).map(lambda v: 2 * v),
    height=st.integers(60, 540).map(lambda v: 2 * v),
    zoom=st.floats(1.0, 4.0),
)
def test_scaler_crop_is_centred_in_the_mode_with_the_output_aspect(
    x0, y0, full_w, full_h, width, height, zoom
):
    x, y, w, h = scaler_crop((x0, y0, full_w, full_h), width, height, zoom)
    assert x0 <= x and y0 <= y and x + w <= x0 + full_w and y + h <= y0 + full_h
    assert abs((x - x0) - (x0 + full_w - x - w)) <= 1  # centred to the pixel
    assert abs((y - y0) - (y0 + full_h - y - h)) <= 1
    assert w % 2 == 0 and h % 2 == 0
    # Even rounding moves each side by at most one pixel from the exact output shape.
    assert abs(w * height - h * width) <= width + height
    # One side spans the mode's full extent divided by the zoom.
    assert min(abs(w - full_w / zoom), abs(h - full_h / zoom)) <= 1


@pytest.mark.parametrize("zoom", [0.5, 4.5, float("nan")])
def test_picamera_zoom_out_of_range_is_a_clear_error(monkeypatch, zoom):
    calls = install_fake_picamera2(monkeypatch)
    with pytest.raises(SourceError) as info:
        open_source("camera", zoom=zoom)
    assert str(info.value) == f"camera: zoom {zoom} is out of range (between 1 and 4)"
    assert calls == []  # the camera was never opened


def test_picamera_zoom_without_crop_limits_is_an_error_and_frees_the_camera(monkeypatch):
    calls = install_fake_picamera2(monkeypatch, sensor=NO_CROP_INFO)
    with pytest.raises(SourceError) as info:
        open_source("camera", zoom=1.5)
    assert str(info.value) == (
        "camera: the camera reports no ScalerCropMaximum, so camera.zoom cannot be applied; "
        "set camera.zoom = 1.0"
    )
    assert ("start",) not in calls and calls[-1] == ("close",)


def test_webcam_refuses_a_zoom_and_a_video_file_ignores_it():
    assert _error_zoomed("webcam:0", 1.5) == (
        "webcam:0: camera.zoom = 1.5 works only with the Pi camera; set it to 1.0 for a "
        "webcam, and move the webcam instead"
    )
    with open_source(str(footage_path("glute_bridge.mp4")), zoom=2.0) as src:
        assert (src.width, src.height, src.frame_count) == (640, 480, 91)


def _error_zoomed(spec: str, zoom: float) -> str:
    with pytest.raises(SourceError) as info:
        open_source(spec, zoom=zoom)
    return str(info.value)


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
