"""One `hipflex run` per box: two loops would fight over the camera and the pins.

The lock lives where only this user (or the service) can create files: /run/hipflex, else
$XDG_RUNTIME_DIR, else a private 0700 directory of this user under the temp directory. Never
at a fixed name in a shared /tmp, where another user could plant a symlink or a file first.
It is opened with O_NOFOLLOW and never truncated: the pid is written over its first bytes.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from pathlib import Path

from edge.errors import HipflexError


def default_lock_path() -> Path:
    if env := os.environ.get("HIPFLEX_LOCK"):
        return Path(env)
    run_dir = Path("/run/hipflex")
    if run_dir.is_dir() and os.access(run_dir, os.W_OK):
        return run_dir / "run.lock"
    if xdg := os.environ.get("XDG_RUNTIME_DIR"):
        return Path(xdg) / "hipflex.lock"
    return private_dir() / "run.lock"


def private_dir() -> Path:
    """<tmp>/hipflex-<uid>, created 0700, and refused unless it is this user's own
    directory with nobody else's access (a planted one would let its owner swap the lock)."""
    path = Path(tempfile.gettempdir()) / f"hipflex-{os.getuid()}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise HipflexError(f"cannot create the lock directory {path}: {exc.strerror}") from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise HipflexError(
            f"{path} is not a private directory of this user; remove it, or set "
            "XDG_RUNTIME_DIR or HIPFLEX_LOCK"
        )
    return path


class RunLock:
    """An flock held for the life of the process; the kernel drops it if we are killed."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_lock_path()
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            why = "it is a symbolic link" if os.path.islink(self.path) else exc.strerror
            raise HipflexError(f"cannot open the run lock {self.path}: {why}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise HipflexError(f"the run lock {self.path} is not a regular file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            first = os.pread(fd, 32, 0).decode(errors="replace").split("\n")[0].strip()
            holder = first if first.isdigit() else "another process"
            os.close(fd)
            raise HipflexError(
                f"hipflex run is already running (pid {holder}, lock {self.path}); "
                "stop it first (systemctl stop hipflex)"
            ) from None
        # Fixed width over the first bytes: no truncation, and no older, longer pid left.
        os.pwrite(fd, f"{os.getpid():<10}\n".encode(), 0)
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
