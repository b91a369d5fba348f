"""`hipflex run` on an invalid config, end to end (issue 5, "the service"): without
--hold-on-error it exits 78 (sysexits EX_CONFIG, which the unit does not restart on) after
printing every error; with it, as the unit runs it, it stays up with the status light
solid, tells systemd why through a fake NOTIFY_SOCKET, and starts once SIGHUP finds a
fixed file."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from test_run_signals import STOP_S, Box, new_config, running_boxes, write_long_set

from edge.commands.run import EX_CONFIG

# Three distinct mistakes: an unknown key, a wrong type, a value out of range.
BAD = """[camera]
fsp = 30
[feedback]
buzzer = "loud"
[exercise.faults.short_range]
min_peak_deg = 400
"""
TIMELINE = re.compile(r"^ *\d+\.\d\ds  amber (ON|OFF)$")


@pytest.fixture(scope="module")
def long_set(tmp_path_factory) -> Path:
    return write_long_set(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def start_box(tmp_path):
    with running_boxes(tmp_path) as start:
        yield start


@pytest.fixture
def config_file(tmp_path) -> Path:
    return new_config(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def config_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("hipflex: config error: ")]


def test_an_invalid_config_exits_78_listing_every_error(long_set, config_file, start_box):
    box = start_box(long_set, write(config_file, BAD))
    code = box.proc.wait(timeout=30)
    assert code == EX_CONFIG == 78
    errors = config_errors(box.log())
    assert len(errors) == 3, box.log()
    assert all(line.startswith(f"hipflex: config error: {config_file}: ") for line in errors)
    text = "\n".join(errors)
    assert 'camera.fsp: unknown key; did you mean "fps"?' in text
    assert "feedback.buzzer" in text
    assert "exercise.faults.short_range.min_peak_deg = 400" in text
    assert "Traceback" not in box.log()
    assert box.events() == []  # it never started: no frame, no event


def test_a_toml_syntax_error_exits_78_with_line_and_column(long_set, config_file, start_box):
    box = start_box(long_set, write(config_file, "[camera]\nfps = 30\nwidth = = 640\n"))
    assert box.proc.wait(timeout=30) == EX_CONFIG
    errors = config_errors(box.log())
    assert len(errors) == 1
    assert re.search(r"line 3, column \d+", errors[0]), errors


class FakeSystemd:
    """A datagram socket bound where systemd's notify socket would be, read at once like
    systemd does (an unread socket fills after ~10 datagrams and blocks the sender)."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:  # closed
                return
            with self._lock:
                self.messages.append(data.decode())

    def received(self) -> list[str]:
        with self._lock:
            return list(self.messages)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def wait_for(self, line: str, timeout: float = 30.0) -> list[str]:
        """Wait until a message holds `line`; returns everything received so far."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if any(line in m.splitlines() for m in got):
                return got
            if time.monotonic() > deadline:
                pytest.fail(f"systemd never got {line!r}; got {got}")
            time.sleep(0.02)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._reader.join(timeout=2.0)


@pytest.fixture
def systemd(tmp_path):
    fake = FakeSystemd(tmp_path / "notify")
    yield fake
    fake.close()


def amber(box: Box) -> list[str]:
    return [m.group(1) for line in box.stdout().splitlines() if (m := TIMELINE.match(line))]


def test_hold_on_error_stays_up_solid_and_starts_on_a_fixed_config(
    long_set, config_file, start_box, systemd
):
    box = start_box(
        long_set,
        write(config_file, BAD),
        "--hold-on-error",
        "--feedback",
        "timeline",
        env={"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "400000"},
    )
    # systemd hears the service is up (no restart loop) and why it is not running.
    messages = systemd.wait_for("READY=1")
    status = systemd.wait_for("WATCHDOG=1")
    held = [m for m in status if m.startswith("STATUS=")]
    assert held == [
        f'STATUS=invalid config: {config_file}: camera.fsp: unknown key; did you mean "fps"?'
    ]
    assert messages[0] == "READY=1"
    box.wait_for(
        "the errors in the journal", lambda: box.log().count("invalid config, not starting") == 3
    )
    # The status light is solid: on, and not blinking for over a second.
    box.wait_for("the status light", lambda: amber(box) == ["ON"])
    time.sleep(1.2)
    assert amber(box) == ["ON"]
    assert box.events() == []

    # Still wrong: it keeps holding, and says so.
    write(config_file, BAD.replace("fsp", "fps"))
    box.send(signal.SIGHUP)
    box.wait_for("the retry", lambda: "config still invalid" in box.log())
    retried = [line for line in box.log().splitlines() if "config still invalid" in line]
    assert len(retried) == 2
    assert box.proc.poll() is None

    # Fixed: it starts, judges frames, and tells systemd it is ready (after the first frame).
    write(config_file, "[camera]\nfps = 30\n")
    systemd.clear()
    box.send(signal.SIGHUP)
    box.wait_for("the start", lambda: "config is valid now: starting" in box.log())
    systemd.wait_for("READY=1")
    box.wait_for("the first frame's event", lambda: box.events() != [])
    assert box.events()[0]["type"] == "status"
    code, seconds = box.terminate()
    assert code == 0
    assert seconds < STOP_S
    assert "Traceback" not in box.log()


def test_sigterm_ends_the_hold_promptly(long_set, config_file, start_box, systemd):
    box = start_box(
        long_set,
        write(config_file, BAD),
        "--hold-on-error",
        "--feedback",
        "timeline",
        env={"NOTIFY_SOCKET": str(systemd.path)},
    )
    systemd.wait_for("READY=1")
    box.wait_for("the status light", lambda: amber(box) == ["ON"])
    code, seconds = box.terminate()
    assert code == 0
    assert seconds < STOP_S
    assert amber(box) == ["ON", "OFF"]  # dark when the service stops


def test_systemd_hears_reloads_finish_and_the_stop(long_set, config_file, start_box, systemd):
    """`systemctl reload` waits for READY=1 after RELOADING=1, valid edit or not."""
    box = start_box(
        long_set, write(config_file, "[camera]\nfps = 30\n"),
        env={"NOTIFY_SOCKET": str(systemd.path)},
    )  # fmt: skip
    systemd.wait_for("READY=1")
    for text in ("[camera]\nfps = 25\n", BAD):
        systemd.clear()
        write(config_file, text)
        box.send(signal.SIGHUP)
        got = systemd.wait_for("READY=1")
        reloading = next(i for i, m in enumerate(got) if m.startswith("RELOADING=1\n"))
        assert any("READY=1" in m.splitlines() for m in got[reloading + 1 :])
    systemd.clear()
    code, _ = box.terminate()
    assert code == 0
    assert "STOPPING=1" in systemd.received()
