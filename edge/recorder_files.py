"""The recordings directory's bookkeeping: names, where files may go, and what is kept.

Its one job is the files as files: what the recorder's clips and stills are called (and so
how the report finds them), the confinement of the directory under the service, publishing
a finished file under its final name, deleting what a killed run left unfinished, and the
age and size limits.

Names, all from the run's start in local time (`STAMP`, YYYYMMDD-HHMMSS) and the set:
  STAMP_setNN.mp4          the set's clip (STAMP_setNN-2.mp4 if that name is taken)
  STAMP_setNN_repIII.jpg   the still of rep III (the session's rep index) at its peak
  .NAME.partial.EXT        either while being written; renamed only once complete
A clip and its stills are one group (STAMP_setNN): they are pruned together.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

from edge.errors import HipflexError

log = logging.getLogger("hipflex.record")

MB = 1_000_000
STAMP_FORMAT = "%Y%m%d-%H%M%S"
_GROUP = r"(?P<stamp>\d{8}-\d{6})_set(?P<set>\d+)(?:-\d+)?"
MEDIA_NAME = re.compile(rf"^(?P<group>{_GROUP})(?:\.mp4|_rep(?P<rep>\d+)\.jpg)$")
CLIP_NAME = re.compile(rf"^{_GROUP}\.mp4$")
STILL_NAME = re.compile(rf"^{_GROUP}_rep(?P<rep>\d+)\.jpg$")
PARTIAL_NAME = re.compile(rf"^\.{_GROUP}(?:_rep\d+)?\.partial\.(?:mp4|jpg)$")


def stamp(t: float | None = None) -> str:
    """A run's name: its start in local time, to the second."""
    return time.strftime(STAMP_FORMAT, time.localtime(t))


def stamp_time(text: str) -> float:
    """The epoch time of a STAMP (local time)."""
    return time.mktime(time.strptime(text, STAMP_FORMAT))


def confine(directory: Path) -> None:
    """Under the service ($STATE_DIRECTORY, set by systemd's StateDirectory=), recordings
    go nowhere but inside the state directory, wherever symlinks in `directory` lead."""
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if not state:
        return
    base, real = os.path.realpath(state), os.path.realpath(directory)
    if os.path.commonpath([base, real]) != base:
        raise HipflexError(
            f"recordings: {directory} leads outside the state directory {base}; "
            "storage.record_dir must lie inside it"
        )


def prepare(directory: Path) -> None:
    """Confine, create (0750) and check the directory; HipflexError if it cannot be used."""
    confine(directory)
    try:
        directory.mkdir(mode=0o750, parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(13, "permission denied")
    except OSError as exc:
        raise HipflexError(f"recordings: {directory}: {exc.strerror or exc}") from None


def disk_free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def free_stem(directory: Path, stem: str) -> str:
    """`stem`, or stem-2, stem-3... if a clip of that name is already there."""
    n, name = 1, stem
    while (directory / f"{name}.mp4").exists():
        n += 1
        name = f"{stem}-{n}"
    return name


def partial_path(final: Path) -> Path:
    """Where `final` is written before it is complete: hidden, and never a finished name."""
    return final.with_name(f".{final.stem}.partial{final.suffix}")


def publish(partial: Path, final: Path) -> None:
    """Give a complete file its final name (one rename: it is whole or absent)."""
    os.rename(partial, final)


def prune(
    directory: Path, max_bytes: int, max_age_s: float, now: float | None = None
) -> list[Path]:
    """Delete recordings (a clip with its stills, one group) whose newest file is older
    than `max_age_s`, then the oldest groups until the rest total at most `max_bytes`. Only
    files named like the recorder's are touched. Never raises: returns the deleted paths."""
    now = time.time() if now is None else now
    groups: dict[str, list[tuple[float, str, int]]] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                m = MEDIA_NAME.match(entry.name)
                if m and entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    groups.setdefault(m["group"], []).append((st.st_mtime, entry.name, st.st_size))
    except OSError as exc:
        log.error("recordings: cannot list %s: %s", directory, exc.strerror or exc)
        return []
    ordered = sorted(  # oldest first
        (max(f[0] for f in files), key, sorted(files)) for key, files in groups.items()
    )
    total = sum(f[2] for files in groups.values() for f in files)
    deleted = []
    for mtime, _, files in ordered:
        if now - mtime <= max_age_s and total <= max_bytes:
            continue
        for _, name, size in files:
            path = directory / name
            try:
                path.unlink()
            except OSError as exc:
                log.error("recordings: cannot delete %s: %s", path, exc.strerror or exc)
                continue
            total -= size
            deleted.append(path)
    if deleted:
        log.info("recordings: deleted %d old file(s) (age or size limit)", len(deleted))
    return deleted


def remove_partials(directory: Path) -> list[Path]:
    """Delete files a killed run left unfinished. Never raises: returns the deleted paths."""
    deleted = []
    try:
        names = [p.name for p in directory.iterdir() if PARTIAL_NAME.match(p.name)]
    except OSError as exc:
        log.error("recordings: cannot list %s: %s", directory, exc.strerror or exc)
        return []
    for name in names:
        try:
            (directory / name).unlink()
        except OSError as exc:
            log.error("recordings: cannot delete %s: %s", name, exc.strerror or exc)
        else:
            log.warning("recordings: deleted %s, cut short by a crash or a kill", name)
            deleted.append(directory / name)
    return deleted
