"""sd_notify against a fake NOTIFY_SOCKET: a datagram socket bound where systemd's would be."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from edge import sdnotify


@pytest.fixture(params=["path", "abstract"])
def systemd(request, tmp_path, monkeypatch) -> Iterator[socket.socket]:
    """A socket listening like systemd's, announced in $NOTIFY_SOCKET."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        address = str(tmp_path / "notify")
        sock.bind(address)
        monkeypatch.setenv("NOTIFY_SOCKET", address)
    else:
        name = f"hipflex-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    sock.settimeout(2.0)
    yield sock
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_every_message_arrives_as_systemd_expects(systemd):
    assert sdnotify.ready("model loaded,  first\nframe seen")
    assert received(systemd) == "READY=1\nSTATUS=model loaded, first frame seen"
    assert sdnotify.watchdog()
    assert received(systemd) == "WATCHDOG=1"
    assert sdnotify.status("12 reps")
    assert received(systemd) == "STATUS=12 reps"
    assert sdnotify.stopping()
    assert received(systemd) == "STOPPING=1"
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading()
    first, second = received(systemd).split("\n")
    assert first == "RELOADING=1"
    assert second.startswith("MONOTONIC_USEC=")
    usec = int(second.removeprefix("MONOTONIC_USEC="))
    assert before <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.ready()
    assert received(systemd) == "READY=1"


def test_without_systemd_every_call_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.watchdog() is False
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert sdnotify.ready() is False


def test_a_vanished_socket_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert sdnotify.notify("READY=1") is False
    assert "sd_notify READY=1" in caplog.text and "failed" in caplog.text


def test_a_socket_nobody_reads_never_blocks_the_caller(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unread:
        unread.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        unread.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        sent = [sdnotify.watchdog() for _ in range(500)]
    # The queue filled up and later pings were refused at once instead of waiting.
    assert sent[0] is True
    assert sent[-1] is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("10000000", None, 10.0),
        ("5000000", "self", 5.0),
        ("5000000", "1", None),  # armed for another process
        (None, None, None),
        ("0", None, None),
        ("soon", None, None),
    ],
)
def test_watchdog_interval(monkeypatch, usec, pid, expected):
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(os.getpid()) if value == "self" else value)
    assert sdnotify.watchdog_interval() == expected
