"""One `hipflex run` per box: two loops would fight over the camera and the pins."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from edge.errors import HipflexError


def default_lock_path() -> Path:
    if env := os.environ.get("HIPFLEX_LOCK"):
        return Path(env)
    run_dir = Path("/run/hipflex")
    if run_dir.is_dir() and os.access(run_dir, os.W_OK):
        return run_dir / "run.lock"
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return Path(base) / f"hipflex-{os.getuid()}.lock"


class RunLock:
    """An flock held for the life of the process; the kernel drops it if we are killed."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_lock_path()
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise HipflexError(
                f"hipflex run is already running (pid {holder}, lock {self.path}); "
                "stop it first (systemctl stop hipflex)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
