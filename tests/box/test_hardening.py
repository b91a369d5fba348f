"""Issue 12's smaller holes, each closed and checked where it lives: live-view viewers, the
socket and the run lock never clobbering a file, record_dir confinement, and names printed
with their control characters escaped."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import REPO
from history_data import make_analysis

from edge.commands.watch import LineReader
from edge.config.schema import StorageConfig
from edge.errors import HipflexError
from edge.history import History
from edge.livefeed import MAX_CLIENTS, LiveFeed
from edge.recorder import Recorder
from edge.runlock import RunLock, default_lock_path

HIPFLEX = REPO / ".venv" / "bin" / "hipflex"


def viewer(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5.0)
    sock.connect(str(path))
    return sock


def test_32_viewers_all_get_snapshots_and_one_too_many_is_told_so(tmp_path):
    assert MAX_CLIENTS >= 32
    path = tmp_path / "live.sock"
    with LiveFeed(path, interval_s=0.0) as feed:
        clients = [viewer(path) for _ in range(MAX_CLIENTS)]
        feed.publish({"status": "ok", "t": 1.0})
        assert feed.clients == MAX_CLIENTS
        for sock in clients:
            assert LineReader(sock).next_state() == {"status": "ok", "t": 1.0}

        # One more: `hipflex watch` must say "too many viewers", not that the box stopped.
        def publish_soon() -> None:
            for _ in range(50):
                feed.publish({"status": "ok", "t": 2.0})
                threading.Event().wait(0.05)

        pump = threading.Thread(target=publish_soon)
        pump.start()
        done = subprocess.run(
            [str(HIPFLEX), "watch", "--once", "--socket", str(path)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        pump.join()
        for sock in clients:
            sock.close()
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "too many viewers" in line and "stopped" not in line


def test_the_live_feed_never_replaces_a_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("the coach's notes\n")
    with pytest.raises(HipflexError, match="not a socket; refusing to replace it"):
        LiveFeed(path)
    assert path.read_text() == "the coach's notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # no temp socket left


def test_a_stale_socket_is_still_replaced(tmp_path):
    path = tmp_path / "live.sock"
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.bind(str(path))
    old.close()  # a killed run's socket file
    with LiveFeed(path) as feed:
        assert feed.clients == 0
        viewer(path).close()


def test_the_run_lock_follows_no_symlink_and_truncates_nothing(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("root's precious file\n")
    (tmp_path / "run.lock").symlink_to(victim)
    with pytest.raises(HipflexError, match="symbolic link"):
        RunLock(tmp_path / "run.lock").acquire()
    assert victim.read_text() == "root's precious file\n"

    planted = tmp_path / "planted.lock"
    planted.write_text("1234567890123456789 something longer than a pid\n")
    with RunLock(planted):
        first = planted.read_text().split("\n")[0].strip()
        assert first == str(os.getpid())
    assert len(planted.read_text()) == len("1234567890123456789 something longer than a pid\n")


def test_without_hipflex_lock_or_a_runtime_dir_the_lock_is_in_a_private_directory(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("HIPFLEX_LOCK")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    if Path("/run/hipflex").is_dir() and os.access("/run/hipflex", os.W_OK):
        pytest.skip("/run/hipflex exists here and takes precedence")
    assert default_lock_path() == tmp_path / "xdg" / "hipflex.lock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    lock = default_lock_path()
    assert lock.parent == tmp_path / f"hipflex-{os.getuid()}"
    assert (lock.parent.stat().st_mode & 0o777) == 0o700
    # A directory someone else could write to is refused, not used.
    lock.parent.chmod(0o777)
    with pytest.raises(HipflexError, match="not a private directory"):
        default_lock_path()


def test_record_dir_with_dotdot_is_a_config_error():
    with pytest.raises(ValueError, match=r"\.\."):
        StorageConfig(record_dir="/var/lib/hipflex/../../etc/cron.d")


def test_under_the_service_record_dir_must_lead_inside_the_state_directory(tmp_path, monkeypatch):
    state, outside = tmp_path / "state", tmp_path / "outside"
    state.mkdir()
    outside.mkdir()
    (state / "clips").symlink_to(outside)  # a path inside that leads outside
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    config = StorageConfig(record=True, record_dir=str(state / "clips"))
    with pytest.raises(HipflexError, match="outside the state directory"):
        Recorder(config, 30.0, 64, 48)
    assert list(outside.iterdir()) == []
    inside = StorageConfig(record=True, record_dir=str(state / "real"))
    Recorder(inside, 30.0, 64, 48).close()


def test_history_and_export_print_control_characters_in_names_as_escapes(tmp_path):
    db = tmp_path / "h.db"
    with History(db) as h:
        h.import_analysis(make_analysis(seed=1), athlete="Ada")
    with sqlite3.connect(db) as conn:  # a name stored before the rule, or by another tool
        conn.execute("UPDATE sessions SET athlete = ?", ("\x1b[2J\x1b[31mEve\x07",))
    conn.close()
    for argv in (["history"], ["export"]):
        done = subprocess.run(
            [str(HIPFLEX), *argv, "--db", str(db)], capture_output=True, text=True, timeout=30,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout
        assert "\\x1b[2J\\x1b[31mEve\\x07" in done.stdout
