"""Soak: a simulated 2-hour session through the real loop, watching for leaks and drift.

    .venv/bin/python bench/soak.py [--minutes 120] [--workdir DIR]

A keypoints track of a lying athlete doing sets of reps (tests/synthetic.py clips at 30 fps,
different athletes and camera set-ups one after another) goes through edge.loop.Box exactly
as `hipflex run --source FILE.npz --fast` would run it: real judge, real gpiozero devices on
mock PWM pins with cues in media time, real SQLite history, events to a file, the live-view
socket open. The only instrument is a thin wrapper around the frame source, which stamps the
time each frame is asked for: the gap between two stamps is one frame's full trip through
the loop.

Reported: RSS after warm-up and at the end, open file descriptors and OS threads at the
first and last frame (and before and after the whole run), per-frame time in the first and
last 10 minutes of media time, and whether every emitted rep is in the database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from synthetic import make_clip  # noqa: E402

import edge.loop  # noqa: E402
from edge.config.load import load_config  # noqa: E402
from edge.cues import Scheduler  # noqa: E402
from edge.feedback import Feedback  # noqa: E402
from edge.history import REP_FIELDS, History  # noqa: E402
from edge.keypoints import KeypointTrack, save_keypoints  # noqa: E402
from edge.loop import Box, RunOptions  # noqa: E402

FPS = 30.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def fd_targets() -> set[str]:
    """What each open descriptor points at ("3 -> /path/history.db", ...)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the descriptor listdir itself used
            found.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
    return found


def thread_ids() -> set[str]:
    return set(os.listdir("/proc/self/task"))


def os_threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError("no Threads: line in /proc/self/status")


def session_track(frames: int, seed: int = 0) -> KeypointTrack:
    """`frames` frames at 30 fps: synthetic 640x360 clips of different athletes, one after
    another, each a set or two of reps with rests, getting into position, lost tracking."""
    clips, rng_seed = [], seed
    while len(clips) < 12:
        clip = make_clip(rng_seed)
        rng_seed += 1
        if clip.track.fps == FPS and clip.track.width == 640:
            clips.append(clip.track.keypoints)
    order = np.resize(np.arange(len(clips)), frames)  # cycle through them
    parts, total, i = [], 0, 0
    while total < frames:
        part = clips[order[i]]
        parts.append(part)
        total += len(part)
        i += 1
    keypoints = np.concatenate(parts)[:frames]
    return KeypointTrack(keypoints, FPS, 640, 360, "synthetic-soak", None)


@dataclass
class SoakResult:
    frames: int
    media_minutes: float
    wall_s: float
    rss_warm_mb: float
    rss_end_mb: float
    rss_growth_mb: float
    rss_max_mb: float
    fds_first_frame: int
    fds_last_frame: int
    fds_before: int
    fds_after: int
    threads_first_frame: int
    threads_last_frame: int
    threads_before: int
    threads_after: int
    new_fds: list[str]  # open at the last frame and not at the first: a leak if not empty
    new_threads: int  # OS threads alive at the last frame that were not at the first
    first10_median_us: float
    first10_p95_us: float
    first10_mean_us: float
    last10_median_us: float
    last10_p95_us: float
    last10_mean_us: float
    median_ratio: float
    mean_ratio: float
    reps_emitted: int
    reps_stored: int
    reps_match: bool


class Instrumented:
    """The frame source, unchanged, plus a stamp each time the loop asks for a frame."""

    def __init__(self, source: Any, warmup_frame: int, stamps: np.ndarray, probes: dict):
        self._source = source
        self._warmup = warmup_frame
        self._stamps = stamps
        self._probes = probes
        for name in ("fps", "width", "height", "kind", "live", "frame_count"):
            setattr(self, name, getattr(source, name))

    def frames(self) -> Iterator[tuple[float, Any]]:
        stamps, probes, last = self._stamps, self._probes, len(self._stamps) - 2
        clock = time.perf_counter
        for i, item in enumerate(self._source.frames()):
            stamps[i] = clock()
            if i == 0:
                probes["fds_first"], probes["threads_first"] = open_fds(), os_threads()
                probes["fd_set_first"], probes["tids_first"] = fd_targets(), thread_ids()
            if i % 900 == 0:  # every 30 s of media time
                probes["rss"].append(rss_bytes())
            if i == self._warmup:
                probes["rss_warm"] = rss_bytes()
            if i == last:
                probes["fds_last"], probes["threads_last"] = open_fds(), os_threads()
                probes["fd_set_last"], probes["tids_last"] = fd_targets(), thread_ids()
                probes["rss_end"] = rss_bytes()
            yield item

    def close(self) -> None:
        self._source.close()


def soak(minutes: float, workdir: Path, warmup_minutes: float | None = None) -> SoakResult:
    """Run `minutes` of media time through the loop; warm-up is the first 5 minutes (or a
    fifth of a shorter run)."""
    frames = int(minutes * 60 * FPS)
    warm = warmup_minutes if warmup_minutes is not None else min(5.0, minutes / 5)
    warmup_frame = int(warm * 60 * FPS)
    workdir.mkdir(parents=True, exist_ok=True)
    npz = workdir / "session.npz"
    save_keypoints(npz, session_track(frames))
    config_path = workdir / "config.toml"
    config_path.write_text("")
    config = load_config(config_path)
    events, db = workdir / "events.jsonl", workdir / "history.db"
    for path in (events, db):
        path.unlink(missing_ok=True)

    stamps = np.zeros(frames + 1)
    probes: dict[str, Any] = {"rss": []}
    real_open = edge.loop.open_source

    def open_instrumented(spec: str, **kw: Any) -> Instrumented:
        return Instrumented(real_open(spec, **kw), warmup_frame, stamps, probes)

    from gpiozero.pins.mock import MockFactory

    from edge.outputs.mock import BoundedMockPWMPin

    fds_before, threads_before = open_fds(), os_threads()
    scheduler = Scheduler(media_time=True)
    feedback = Feedback(config.feedback, MockFactory(pin_class=BoundedMockPWMPin), scheduler)
    options = RunOptions(
        source=str(npz),
        fast=True,
        events_path=events,
        config_path=config_path,
        db_path=db,
        socket_path=workdir / "live.sock",
    )
    edge.loop.open_source = open_instrumented
    start = time.perf_counter()
    try:
        code = Box(options, config, feedback).run()
    finally:
        edge.loop.open_source = real_open
        feedback.close()
        scheduler.close()
    stamps[frames] = time.perf_counter()
    wall = stamps[frames] - start
    if code != 0:
        raise RuntimeError(f"the loop exited {code}")
    fds_after, threads_after = open_fds(), os_threads()

    per_frame = np.diff(stamps) * 1e6  # us, one loop iteration per frame
    ten = min(int(10 * 60 * FPS), frames // 2)
    first, last = per_frame[:ten], per_frame[-ten:]

    emitted = [
        {k: e[k] for k in REP_FIELDS}
        for e in map(json.loads, events.read_text().splitlines())
        if e["type"] == "rep"
    ]
    with History(db, readonly=True) as history:
        (session,) = history.sessions()
    stored = [{k: r[k] for k in REP_FIELDS} for r in session["reps"]]
    emitted_sets = [{**r, "faults": sorted(r["faults"])} for r in emitted]

    mb = 1 / 2**20
    return SoakResult(
        frames=frames,
        media_minutes=minutes,
        wall_s=round(wall, 1),
        rss_warm_mb=round(probes["rss_warm"] * mb, 2),
        rss_end_mb=round(probes["rss_end"] * mb, 2),
        rss_growth_mb=round((probes["rss_end"] - probes["rss_warm"]) * mb, 2),
        rss_max_mb=round(max(probes["rss"]) * mb, 2),
        fds_first_frame=probes["fds_first"],
        fds_last_frame=probes["fds_last"],
        fds_before=fds_before,
        fds_after=fds_after,
        threads_first_frame=probes["threads_first"],
        threads_last_frame=probes["threads_last"],
        threads_before=threads_before,
        threads_after=threads_after,
        new_fds=sorted(probes["fd_set_last"] - probes["fd_set_first"]),
        new_threads=len(probes["tids_last"] - probes["tids_first"]),
        first10_median_us=round(float(np.median(first)), 1),
        first10_p95_us=round(float(np.percentile(first, 95)), 1),
        first10_mean_us=round(float(first.mean()), 1),
        last10_median_us=round(float(np.median(last)), 1),
        last10_p95_us=round(float(np.percentile(last, 95)), 1),
        last10_mean_us=round(float(last.mean()), 1),
        median_ratio=round(float(np.median(last) / np.median(first)), 3),
        mean_ratio=round(float(last.mean() / first.mean()), 3),
        reps_emitted=len(emitted),
        reps_stored=len(stored),
        reps_match=stored == emitted_sets,
    )


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="media time to simulate")
    parser.add_argument("--workdir", type=Path, help="where the track, db and events go")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    # The journal gets every event at INFO on the box; format them the same, into nowhere.
    logging.basicConfig(
        level=logging.INFO,
        stream=open(os.devnull, "w"),  # noqa: SIM115 - lives as long as the process
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with tempfile.TemporaryDirectory(prefix="hipflex-soak-") as tmp:
        result = soak(args.minutes, args.workdir or Path(tmp))
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    print(f"machine: {machine()}")
    for key, value in asdict(result).items():
        print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
