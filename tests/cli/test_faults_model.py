"""Fault injection in the model files, at start and on a SIGHUP reload.

At start a missing or damaged model stops `hipflex run` with exit 2 and one line naming the
file (and, when damaged, both hashes): the box must never run an unverified model. On a
reload to a model whose file is damaged, the running model is kept, the reason is logged,
and the frames keep coming.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO, footage_path

from edge.models import locate, manifest

CLIP = "supine_knee_raise_right.mp4"  # 199 frames, 6.6 s at real-time pace


def model_file(key: str) -> Path:
    path = locate(manifest()[key])
    if path is None:
        pytest.skip(f"model {key} not available; run `hipflex models fetch`")
    return path


def damaged_copy(key: str, directory: Path, how: str) -> tuple[Path, str]:
    """A copy of model `key` in `directory`, cut in half or with one byte flipped; returns
    its path and sha256."""
    data = bytearray(model_file(key).read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    path = directory / manifest()[key].file
    path.write_bytes(bytes(data))
    return path, hashlib.sha256(data).hexdigest()


def hipflex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, **(env or {})},
    )  # fmt: skip


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("hipflex:")]


@pytest.mark.parametrize("how", ["truncated", "corrupt"])
@pytest.mark.parametrize("key", ["blazepose_detector", "blazepose_landmark"])
def test_damaged_model_at_start_exits_2_naming_the_file_and_both_hashes(tmp_path, key, how):
    path, actual = damaged_copy(key, tmp_path, how)
    spec = manifest()[key]
    size = path.stat().st_size
    done = hipflex(
        "run", "--source", str(footage_path(CLIP)), "--fast", "--feedback", "mock",
        "--no-live-view", "--db", str(tmp_path / "h.db"),
        env={"HIPFLEX_MODEL_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2
    assert error_lines(done) == [
        f"hipflex: error: model {path} is {how} ({size} bytes, expected {spec.size}): "
        f"sha256 {actual}, expected {spec.sha256}"
    ]


MISSING = """
import sys
from pathlib import Path
import edge.models
# Nothing where the box looks for models: $HIPFLEX_MODEL_DIR, models/ and ../shared/models.
edge.models.REPO_MODEL_DIR = edge.models.SHARED_MODEL_DIR = Path(sys.argv[1])
from edge.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_missing_model_at_start_exits_2_naming_the_file(tmp_path):
    empty = tmp_path / "models"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", MISSING, str(empty), "run", "--source",
         str(footage_path(CLIP)), "--fast", "--feedback", "mock", "--no-live-view",
         "--db", str(tmp_path / "h.db")],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={**os.environ, "HIPFLEX_MODEL_DIR": str(empty)},
    )  # fmt: skip
    assert done.returncode == 2
    assert error_lines(done) == [
        f"hipflex: error: model blazepose_detector.tflite not found in {empty}, {empty}, "
        f"{empty}; run `hipflex models fetch`"
    ]
    assert not (tmp_path / "h.db").exists()  # stopped before anything was recorded


class Stderr:
    """Collects a child's stderr lines as they come, so a test can wait for one."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0, f"no {text!r} in stderr:\n" + "\n".join(self.lines)
                self._cond.wait(left)

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "\n".join(self.lines)


def test_reload_to_a_damaged_model_keeps_the_running_one(tmp_path):
    for key in ("blazepose_detector", "blazepose_landmark"):
        model_file(key)
    path, actual = damaged_copy("movenet", tmp_path, "corrupt")
    config = tmp_path / "config.toml"
    config.write_text('[model]\nbackend = "blazepose"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--source", str(footage_path(CLIP)),
         "--config", str(config), "--feedback", "mock", "--no-live-view",
         "--db", str(tmp_path / "h.db")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "HIPFLEX_MODEL_DIR": str(tmp_path)},
    )  # fmt: skip
    try:
        err = Stderr(proc)
        err.wait_for("running on")
        time.sleep(1.0)  # a second of the clip at real-time pace
        config.write_text('[model]\nbackend = "movenet"\n')
        proc.send_signal(signal.SIGHUP)
        kept = err.wait_for("config reload: keeping model")
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
    spec = manifest()["movenet"]
    assert kept.endswith(
        f"config reload: keeping model blazepose: model {path} is corrupt "
        f"({spec.size} bytes, expected {spec.size}): sha256 {actual}, expected {spec.sha256}"
    )
    text = err.text()
    assert "config reloaded" in text and "Traceback" not in text
    # The model that was running watched the whole clip: the last timings line counts frames.
    (timings,) = [line for line in text.splitlines() if "timings (median/p95)" in line][-1:]
    frames = int(timings.rsplit("; ", 1)[1].split()[0])
    assert frames > 150
