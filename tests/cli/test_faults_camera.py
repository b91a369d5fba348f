"""Fault injection at the camera: it raises mid-session, returns nothing, or freezes.

The real loop (edge.loop.Box) runs with real feedback on mock pins, a real history database
and a real events file. Only the camera is fake, at the lowest layer the loop sees: either a
live FrameSource delivering a synthetic athlete's poses at camera pace (so reps happen before
the fault), or a fake `picamera2` module under the real PiCameraSource adapter and the real
pose model. In every case the light tells the truth, and every rep emitted before the fault
is both in the events file and in the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from synthetic import make_clip

import edge.loop
from edge.config.load import load_config
from edge.errors import HipflexError, SourceError
from edge.feedback import Feedback
from edge.history import REP_FIELDS, History
from edge.loop import Box, RunOptions
from edge.pose import Pose

REPO = Path(__file__).resolve().parents[2]
AMBER = 22
FRAME_PERIOD_S = 0.004  # the fake camera's pace: fast enough for a short test, no drops
# Blink fast enough that half a second tells a blinking light from a solid one.
PATTERNS = "[feedback.patterns]\nslow_blink_hz = 5.0\nfast_blink_hz = 20.0\n"


@pytest.fixture
def signals():
    """Box installs SIGTERM/SIGINT/SIGHUP handlers; give pytest its own back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


class Rig:
    """One box: config, mock pins, feedback, and the paths of its events file and database."""

    def __init__(self, tmp_path: Path):
        cfg_path = tmp_path / "config.toml"
        cfg_path.write_text(PATTERNS)
        self.config = load_config(cfg_path)
        self.pins = MockFactory(pin_class=MockPWMPin)
        self.feedback = Feedback(self.config.feedback, self.pins)
        self.events = tmp_path / "events.jsonl"
        self.db = tmp_path / "history.db"
        self.options = RunOptions(
            source="camera",
            events_path=self.events,
            config_path=cfg_path,
            db_path=self.db,
            live_view=False,
        )

    def box(self) -> Box:
        return Box(self.options, self.config, self.feedback)

    def amber(self, window_s: float = 0.5) -> str:
        """What the status light shows over the next `window_s`: off, solid or blinking."""
        pin = self.pins.pin(AMBER)
        before = len(pin.states)
        time.sleep(window_s)
        if len(pin.states) > before:
            return "blinking"
        return "solid" if pin.state else "off"

    def reps_in_events(self) -> list[dict]:
        lines = self.events.read_text().splitlines()
        return [e for e in map(json.loads, lines) if e["type"] == "rep"]

    def reps_in_db(self) -> list[dict]:
        with History(self.db, readonly=True) as history:
            (session,) = history.sessions()
            return session["reps"]

    def assert_no_rep_lost(self, at_least: int) -> None:
        # The database keeps a rep's faults as a set (sorted by name).
        emitted = [{**{k: r[k] for k in REP_FIELDS}, "faults": sorted(r["faults"])}
                   for r in self.reps_in_events()]  # fmt: skip
        stored = [{k: r[k] for k in REP_FIELDS} for r in self.reps_in_db()]
        assert len(emitted) >= at_least
        assert stored == emitted


@pytest.fixture
def rig(tmp_path, signals):
    rig = Rig(tmp_path)
    yield rig
    rig.feedback.close()


class PoseCamera:
    """A live camera delivering a synthetic athlete's poses at camera pace, then failing.

    fault: "raise" (the driver errors), "end" (the stream just stops), or "freeze" (no frame
    for a while, then frames again until `stop_after` more, then SIGTERM as systemd would).
    """

    kind = "keypoints"  # frames are poses: the loop runs no model on them
    live = True
    frame_count = None

    def __init__(self, fault: str, fail_at: float = 0.7, during_freeze=None):
        clip = make_clip(3, fault_rate=0.0)  # 6 good reps over the clip
        self.track = clip.track
        self.fps, self.width, self.height = clip.track.fps, clip.track.width, clip.track.height
        self.fault = fault
        self.fail_at = int(fail_at * clip.track.frames)
        self.during_freeze = during_freeze
        self.freeze: tuple[float, float] | None = None
        self.closed = False

    def frames(self):
        kp, lm = self.track.keypoints, self.track.landmarks
        for i in range(self.track.frames):
            if i == self.fail_at:
                if self.fault == "raise":
                    raise SourceError("camera: stopped delivering frames (TimeoutError())")
                if self.fault == "end":
                    return
                start = time.monotonic()
                self.during_freeze()
                self.freeze = (start, time.monotonic())
            if self.freeze and i == self.fail_at + 100:
                signal.raise_signal(signal.SIGTERM)
            time.sleep(FRAME_PERIOD_S)
            yield i / self.fps, Pose(keypoints=kp[i], landmarks=None if lm is None else lm[i])

    def close(self) -> None:
        self.closed = True


def use_camera(monkeypatch, camera) -> None:
    monkeypatch.setattr(edge.loop, "open_source", lambda spec, **kw: camera)


@pytest.mark.parametrize("fault", ["raise", "end"])
def test_camera_lost_mid_session_is_one_line_solid_amber_and_keeps_every_rep(
    rig, monkeypatch, fault
):
    camera = PoseCamera(fault)
    use_camera(monkeypatch, camera)
    with pytest.raises(HipflexError) as info:
        rig.box().run()
    message = str(info.value)
    assert message.startswith("camera lost: ") and "\n" not in message
    assert ("TimeoutError" if fault == "raise" else "stream ended") in message
    assert rig.amber() == "solid"
    assert camera.closed
    rig.assert_no_rep_lost(at_least=3)


def test_frozen_camera_stops_the_watchdog_and_turns_the_light_solid(rig, monkeypatch, tmp_path):
    stall_s, watchdog_s = 0.6, 0.3
    monkeypatch.setattr(edge.loop, "STALL_S", stall_s)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.1)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(watchdog_s * 1e6)))
    messages: list[tuple[float, str]] = []
    done = threading.Event()

    def listen():
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                message = notify.recv(256).decode()
                messages.append((time.monotonic(), message))

    listener = threading.Thread(target=listen)
    listener.start()
    seen: dict[str, str] = {}

    def during_freeze():
        seen["before"] = rig.amber(0.3)  # the athlete lies there: status ok, light off
        time.sleep(stall_s)
        seen["frozen"] = rig.amber()

    camera = PoseCamera("freeze", fail_at=0.5, during_freeze=during_freeze)
    use_camera(monkeypatch, camera)
    box = rig.box()
    box.install_signal_handlers()
    try:
        assert box.run() == 0  # SIGTERM once frames were back
    finally:
        done.set()
        listener.join()
        notify.close()
    assert seen == {"before": "off", "frozen": "solid"}
    assert rig.amber() == "off"  # frames back: the judge's status (ok) again

    assert messages[0][1] == "READY=1"
    pings = [t for t, m in messages if m == "WATCHDOG=1"]
    start, end = camera.freeze
    before = [t for t in pings if t < start]
    during = [t for t in pings if start + 0.05 < t < end]
    after = [t for t in pings if t >= end]
    # Regular pings while frames flow, none for the whole freeze (so systemd, which waits
    # WATCHDOG_USEC, kills and restarts the service), then pings again.
    assert len(before) >= 3 and max(np.diff(before)) < watchdog_s
    assert during == [] and end - start > 3 * watchdog_s
    assert after and after[0] - end < watchdog_s
    rig.assert_no_rep_lost(at_least=2)


# ---------------------------------------------------------------- the real Pi camera adapter


class FakeRequest:
    def __init__(self, frame):
        self.frame = frame

    def get_metadata(self):
        return {"SensorTimestamp": time.monotonic_ns()}

    def release(self):
        pass


class FakeMappedArray:
    """picamera2's MappedArray: `.array` views the request's pixels inside `with`."""

    def __init__(self, request, stream):
        self.array = request.frame

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.array = None


def fake_picamera2(deliver: int, then: str) -> types.ModuleType:
    """A picamera2 whose camera delivers `deliver` empty 640x480 frames, then `then`:
    "timeout" (picamera2's wait expires), "none" (no request), "empty" (a 0x0 array)."""

    class Picamera2:
        def __init__(self):
            self.sent = 0
            self.camera_properties = {"PixelArraySize": (4608, 2592)}

        def create_video_configuration(self, main, controls, raw=None):
            return {"main": main, "controls": controls}

        def configure(self, config):
            self.size = config["main"]["size"]

        def start(self):
            pass

        def capture_request(self, wait=None):
            time.sleep(0.01)
            if self.sent < deliver:
                self.sent += 1
                return FakeRequest(np.zeros((self.size[1], self.size[0], 3), np.uint8))
            if then == "timeout":
                raise TimeoutError("no frame")
            return None if then == "none" else FakeRequest(np.zeros((0, 0, 3), np.uint8))

        def stop(self):
            pass

        def close(self):
            pass

    module = types.ModuleType("picamera2")
    module.Picamera2 = Picamera2
    module.MappedArray = FakeMappedArray
    return module


@pytest.mark.parametrize(
    ("then", "says"),
    [
        ("timeout", "camera: stopped delivering frames (TimeoutError('no frame'))"),
        ("none", "camera: stopped delivering frames (no capture request)"),
        ("empty", "camera: delivered (0, 0, 3) frames, configured (480, 640, 3)"),
    ],
)
def test_pi_camera_that_stops_or_returns_nothing_is_a_one_line_error(rig, monkeypatch, then, says):
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2(deliver=5, then=then))
    with pytest.raises(HipflexError) as info:
        rig.box().run()  # the real PiCameraSource and the real pose model
    assert str(info.value) == f"camera lost: {says}"
    assert rig.amber() == "solid"
    # Nobody in the empty frames: the session is stored, with its status, and no rep.
    with History(rig.db, readonly=True) as history:
        (session,) = history.sessions()
    assert session["reps"] == [] and session["status"][0]["status"] == "no_athlete"


FAKE_MODULE = textwrap.dedent(
    """
    import time
    import numpy as np

    class _Request:
        def get_metadata(self):
            return {"SensorTimestamp": time.monotonic_ns()}

        def release(self):
            pass

    class MappedArray:
        def __init__(self, request, stream):
            self.array = np.zeros((480, 640, 3), np.uint8)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    class Picamera2:
        sent = 0
        camera_properties = {"PixelArraySize": (4608, 2592)}

        def create_video_configuration(self, main, controls, raw=None):
            return {}

        def configure(self, config):
            pass

        def start(self):
            pass

        def capture_request(self, wait=None):
            time.sleep(0.02)
            self.sent += 1
            return _Request() if self.sent <= 10 else None

        def stop(self):
            pass

        def close(self):
            pass
    """
)


def test_hipflex_run_on_a_camera_that_returns_nothing_exits_1_with_one_line(tmp_path):
    (tmp_path / "picamera2.py").write_text(FAKE_MODULE)
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", "camera", "--feedback", "timeline",
         "--no-live-view", "--db", str(tmp_path / "h.db")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("hipflex:")]
    assert errors == [
        "hipflex: error: camera lost: camera: stopped delivering frames (no capture request)"
    ]
    assert "Traceback" not in done.stderr
    amber = [line.split()[-1] for line in done.stdout.splitlines() if " amber " in line]
    assert amber[-2:] == ["ON", "OFF"]  # solid at the error, dark once the process lets go
