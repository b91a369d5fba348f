"""Shared fixtures: paths to ../shared, and pose tracks of the real footage computed once
(the real model on the real clips is the slow part of the suite): kept in memory for the
session and on disk between sessions, keyed by the model's sha256 (tests/track_cache.py)."""

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

# Each folder of tests/ mirrors a part of the package and is a mark of its own (`pytest -m
# judge`). `make test-fast` runs `-m "not slow and not footage"`. Besides the marks written in
# the test files, these are marked here, per file where a whole file is slow, so the list
# stays in one place: files that start the box (`hipflex run`), a broker, a database, a
# browser or the pose model, or spawn `hipflex` for every case; single tests that take over
# ~3 s; every test in a `*_footage.py` file or using a fixture that runs the model on the
# footage (footage too); and every test using the synthetic batch.
SLOW_FILES = frozenset(
    f"test_{name}.py"
    for name in (
        "aim_watch", "bench", "camera_unavailable", "cli_pose", "config_cli", "config_fuzz",
        "console", "faults_camera", "faults_disk", "faults_disk_spool", "faults_keypoints",
        "faults_lock", "faults_model", "faults_video", "fleet_broker", "fleet_postgres",
        "fleet_run", "fleet_systemd", "hardening", "judge_matrix", "pose_blazepose",
        "pose_movenet", "probe_cli", "recorder", "report_browser", "run_config", "run_db",
        "run_e2e", "run_history", "run_signals", "security", "selftest", "soak", "systemd",
    )
)  # fmt: skip
SLOW_TESTS = (
    "test_feedback.py::test_bar_graph_level_is_the_floor_of_the_fraction_of_full_scale",
    "test_judge.py::test_streaming_equals_batch_on_synthetic_clips",
    "test_kinematics.py::test_exact_geometry_wherever_the_athlete_is_in_the_image",
    "test_pose_heatmap.py::test_matches_the_plain_loop",
    "test_report.py::test_report_cli",
)
SLOW_FIXTURES = frozenset({"pose_track", "batch_results"})
FOOTAGE_FIXTURES = frozenset({"pose_track"})


FOLDERS = frozenset(
    {"judge", "pose", "config", "box", "sources", "storage", "fleet", "coach", "cli"}
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent.name  # tests/<folder>/ mirrors the package: -m judge, ...
        if folder in FOLDERS:
            item.add_marker(getattr(pytest.mark, folder))
        fixtures = set(getattr(item, "fixturenames", ()))
        footage = item.path.name.endswith("_footage.py") or bool(fixtures & FOOTAGE_FIXTURES)
        if footage:
            item.add_marker(pytest.mark.footage)
        if (
            footage
            or item.path.name in SLOW_FILES
            or f"{item.path.name}::{item.name}".startswith(SLOW_TESTS)
            or fixtures & SLOW_FIXTURES
        ):
            item.add_marker(pytest.mark.slow)


def footage_path(name: str) -> Path:
    path = FOOTAGE / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def pose_track():
    """pose_track("clip.mp4", "blazepose") -> KeypointTrack, computed once."""
    from track_cache import cached_track

    from edge.track import track_video

    def get(name: str, backend: str = "blazepose"):
        key = (name, backend)
        if key not in _tracks:
            _tracks[key] = cached_track(footage_path(name), backend, track_video)
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
