"""A Pi camera that cannot be opened (issue 13): one line, solid amber, no restart loop.

The fault is faked at the lowest layer, in a real process: a `picamera2` package on
PYTHONPATH that imports a `simplejpeg` raising what apt's python3-simplejpeg raises when the
venv's numpy shadows the one it was built for (picamera2 issues #1088 and #1211), or a
camera whose start fails. `hipflex run` is the real CLI as the unit starts it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_run_config import FakeSystemd, amber
from test_run_signals import STOP_S, running_boxes

from edge.errors import CameraError
from edge.sources.picamera import import_failure

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "hipflex.service"
DTYPE = (
    "numpy.dtype size changed, may indicate binary incompatibility. "
    "Expected 96 from C header, got 88 from PyObject"
)

BROKEN_SIMPLEJPEG = f"raise ValueError({DTYPE!r})\n"
WORKING_SIMPLEJPEG = "def encode_jpeg(*args, **kwargs):\n    return b''\n"

# A picamera2 that imports simplejpeg first, as the real one does through its encoders, and
# whose camera delivers empty frames at 30 fps for as long as it runs.
PICAMERA2 = textwrap.dedent(
    """
    import time

    import numpy as np
    import simplejpeg  # noqa: F401

    START_FAILS = False

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
        camera_properties = {"PixelArraySize": (4608, 2592)}

        def __init__(self):
            if START_FAILS:
                raise RuntimeError("Failed to acquire camera: Device or resource busy\\nmore")

        def create_video_configuration(self, main, controls, raw=None):
            return {}

        def configure(self, config):
            pass

        def start(self):
            pass

        def capture_request(self, wait=None):
            time.sleep(1 / 30)
            return _Request()

        def stop(self):
            pass

        def close(self):
            pass
    """
)


def fake_stack(directory: Path, simplejpeg: str, start_fails: bool = False) -> Path:
    """Write the fake picamera2 and simplejpeg into `directory`; returns it."""
    package = directory / "picamera2"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        PICAMERA2.replace("START_FAILS = False", f"START_FAILS = {start_fails}")
    )
    (directory / "simplejpeg.py").write_text(simplejpeg)
    return directory


def hipflex_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "HIPFLEX_CONFIG")}
    env |= {"PYTHONPATH": str(tmp_path / "fake"), "HIPFLEX_LOCK": str(tmp_path / "run.lock")}
    config = tmp_path / "config.toml"
    config.write_text("# defaults\n")
    return subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", "camera", "--config", str(config),
         "--feedback", "timeline", "--no-live-view", "--db", str(tmp_path / "h.db"), *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )  # fmt: skip


def restart_prevent_exit_status() -> set[int]:
    lines = [ln for ln in UNIT.read_text().splitlines() if ln.startswith("RestartPreventExit")]
    return {int(code) for ln in lines for code in ln.split("=", 1)[1].split()}


def test_numpy_mismatch_on_import_is_one_line_and_an_exit_the_unit_does_not_restart(tmp_path):
    fake_stack(tmp_path / "fake", BROKEN_SIMPLEJPEG)
    done = hipflex_run(tmp_path)
    assert done.returncode == CameraError.exit_code == 69
    assert 69 in restart_prevent_exit_status()  # systemd does not crash-loop on it
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()  # nothing else on stderr: the one line
    assert line == (
        f"hipflex: error: camera: picamera2 cannot be imported (ValueError: {DTYPE}): the "
        "venv's numpy is not the one apt's python3-simplejpeg and python3-picamera2 were built "
        "for; reinstall with `sudo make install`, which keeps the venv on apt's python3-numpy, "
        "then `sudo systemctl restart hipflex`"
    )
    lights = [ln.split()[-1] for ln in done.stdout.splitlines() if " amber " in ln]
    assert lights[-2:] == ["ON", "OFF"]  # solid at the error, dark once the process lets go


def test_a_camera_that_does_not_start_is_one_line_too(tmp_path):
    fake_stack(tmp_path / "fake", WORKING_SIMPLEJPEG, start_fails=True)
    done = hipflex_run(tmp_path)
    assert done.returncode == 69
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        "hipflex: error: camera: picamera2 cannot start the Pi camera (RuntimeError: Failed to "
        "acquire camera: Device or resource busy); check `rpicam-hello --list-cameras`"
    )


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (ModuleNotFoundError("No module named 'picamera2'", name="picamera2"), "not installed"),
        (ImportError("libcamera.so.0.3: cannot open shared object file"), "--reinstall"),
        (RuntimeError("numpy.core.multiarray failed to import"), "sudo make install"),
        (OSError(""), "--reinstall"),
    ],
)
def test_every_import_failure_names_the_package_and_a_fix(exc, says):
    line = import_failure(exc)
    assert "\n" not in line
    assert line.startswith("camera: picamera2 ")
    assert says in line


@pytest.fixture
def systemd(tmp_path):
    fake = FakeSystemd(tmp_path / "notify")
    yield fake
    fake.close()


def test_hold_on_error_keeps_amber_solid_then_starts_once_fixed(tmp_path, systemd):
    fake = fake_stack(tmp_path / "fake", BROKEN_SIMPLEJPEG)
    config = tmp_path / "config.toml"
    config.write_text("# defaults\n")
    env = {"PYTHONPATH": str(fake), "NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "400000"}
    with running_boxes(tmp_path) as start:
        box = start("camera", config, "--hold-on-error", "--feedback", "timeline", env=env)
        # Up as far as systemd is concerned (no restart), with the reason in its status.
        systemd.wait_for("READY=1")
        received = systemd.wait_for("WATCHDOG=1")
        (status,) = [m for m in received if m.startswith("STATUS=")]
        assert status.startswith("STATUS=camera unavailable: camera: picamera2 cannot be imp")
        box.wait_for("the status light", lambda: amber(box) == ["ON"])
        systemd.clear()
        systemd.wait_for("WATCHDOG=1")  # the watchdog is fed while held
        assert amber(box) == ["ON"]  # solid: not blinking, not off
        held = [ln for ln in box.log().splitlines() if "camera unavailable" in ln]
        assert len(held) == 1 and re.search(r"ERROR .*numpy\.dtype size changed", held[0])

        fake_stack(fake, WORKING_SIMPLEJPEG)  # apt's numpy back in the venv
        box.send(signal.SIGHUP)
        box.wait_for("the retry", lambda: "running on camera" in box.log())
        box.wait_for("the first frame's event", lambda: box.events() != [])
        code, seconds = box.terminate()
    assert code == 0 and seconds < STOP_S
    assert "Traceback" not in box.log()


def test_sigterm_ends_a_camera_hold(tmp_path, systemd):
    fake = fake_stack(tmp_path / "fake", BROKEN_SIMPLEJPEG)
    config = tmp_path / "config.toml"
    config.write_text("# defaults\n")
    env = {"PYTHONPATH": str(fake), "NOTIFY_SOCKET": str(systemd.path)}
    with running_boxes(tmp_path) as start:
        box = start("camera", config, "--hold-on-error", "--feedback", "timeline", env=env)
        systemd.wait_for("READY=1")
        box.wait_for("the status light", lambda: amber(box) == ["ON"])
        code, seconds = box.terminate()
    assert code == 0 and seconds < STOP_S
    assert amber(box) == ["ON", "OFF"]
