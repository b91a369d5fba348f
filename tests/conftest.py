"""Shared fixtures: paths to ../shared, and pose tracks of the real footage computed once
per test session (the real model on the real clips is the slow part of the suite)."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FOOTAGE = SHARED / "footage"
REFERENCE = FOOTAGE / "reference"

_tracks: dict = {}


def footage_path(name: str) -> Path:
    path = FOOTAGE / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def pose_track():
    """pose_track("clip.mp4", "blazepose") -> KeypointTrack, computed once per session."""
    from edge.track import track_video

    def get(name: str, backend: str = "blazepose"):
        key = (name, backend)
        if key not in _tracks:
            _tracks[key] = track_video(footage_path(name), backend=backend)
        return _tracks[key]

    return get


@pytest.fixture(autouse=True)
def isolated_box_paths(tmp_path_factory, monkeypatch):
    """Each test gets its own run lock, live-view socket, history database and config, so
    tests never collide with each other or with a box running on this machine."""
    root = tmp_path_factory.mktemp("box")
    monkeypatch.setenv("HIPFLEX_LOCK", str(root / "run.lock"))
    monkeypatch.setenv("HIPFLEX_SOCKET", str(root / "live.sock"))
    monkeypatch.setenv("HIPFLEX_DB", str(root / "hipflex.db"))
    monkeypatch.setenv("HIPFLEX_CONFIG", str(root / "config.toml"))
    (root / "config.toml").write_text("")


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 256 KiB tmpfs, so SQLite meets a genuinely full disk (needs root to mount)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Grow `path` until its filesystem is full: nothing else has room to grow."""
    with open(path, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while f.write(b"\0" * 4096):
            pass
