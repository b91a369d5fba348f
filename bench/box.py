"""The box's two service-level numbers (issue 4), measured rather than asserted:

1. start-up to READY: `hipflex run` spawned as systemd would, with a fake NOTIFY_SOCKET,
   timed from spawn to the READY=1 datagram (model load and first frame included), then
   SIGTERM to exit;
2. real-time file runs: frames the loop processes per second of video, against the model's
   own throughput on the same frames (the loop must keep >= 0.9 of it, or the source fps
   if that is lower).

    .venv/bin/python bench/box.py [--runs 5] [CLIP ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = REPO.parent / "shared" / "footage"
DEFAULT_CLIPS = ("supine_knee_raise_right.mp4", "side_dish_and_tucks.mp4")


def startup(clip: Path, runs: int) -> tuple[list[float], list[float]]:
    ready, stop = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            sock_path = os.path.join(tmp, "notify")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(sock_path)
            sock.settimeout(30)
            env = {**os.environ, "NOTIFY_SOCKET": sock_path, "HIPFLEX_LOCK": f"{tmp}/lock"}
            config = Path(tmp, "config.toml")  # empty: the defaults (a device is refused)
            config.touch()
            cmd = [str(REPO / ".venv/bin/hipflex"), "--log-level", "WARNING", "run",
                   "--source", str(clip), "--feedback", "mock", "--no-live-view",
                   "--db", f"{tmp}/h.db", "--config", str(config)]  # fmt: skip
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
            while b"READY=1" not in sock.recv(4096):
                pass
            ready.append(time.perf_counter() - start)
            t0 = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
            stop.append(time.perf_counter() - t0)
            assert code == 0, f"exit code {code} after SIGTERM"
            sock.close()
    return ready, stop


def model_only_fps(clip: Path) -> tuple[float, float]:
    """Frames/s of the pose model alone on the clip's frames (decoded beforehand)."""
    from edge.pose import create
    from edge.sources import open_source

    with open_source(str(clip)) as source:
        fps = source.fps
        frames = [f.copy() for _, f in source.frames()]
    estimator = create()
    for f in frames[:5]:
        estimator(f)
    estimator.reset()
    start = time.perf_counter()
    for f in frames:
        estimator(f)
    return len(frames) / (time.perf_counter() - start), fps


def realtime(clip: Path) -> tuple[int, float, int]:
    """(frames processed, seconds of video, frames dropped) of a real-time-paced run."""
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from edge.config.schema import Config
    from edge.feedback import Feedback
    from edge.loop import Box, RunOptions

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HIPFLEX_LOCK"] = f"{tmp}/lock"
        config = Config()
        feedback = Feedback(config.feedback, MockFactory(pin_class=MockPWMPin))
        options = RunOptions(source=str(clip), db_path=Path(tmp, "h.db"), live_view=False)
        box = Box(options, config, feedback)
        assert box.run() == 0
        feedback.close()
        return box.frames_seen, box._last_t, box.frames_dropped


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    return f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", default=DEFAULT_CLIPS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {machine()}")
    clips = [Path(c) if os.sep in c else FOOTAGE / c for c in args.clips]
    ready, stop = startup(clips[0], args.runs)
    print(f"\nstart-up to READY=1 ({args.runs} runs, {clips[0].name}): "
          f"median {statistics.median(ready):.2f} s, max {max(ready):.2f} s")  # fmt: skip
    print(f"SIGTERM to exit: median {statistics.median(stop):.2f} s, max {max(stop):.2f} s")
    print(
        "\n| clip | source fps | model-only fps | processed / s of video "
        "| ratio to min(model, source) | dropped |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for clip in clips:
        model_fps, src_fps = model_only_fps(clip)
        seen, seconds, dropped = realtime(clip)
        rate = seen / max(seconds, 1e-9)
        target = min(model_fps, src_fps)
        print(f"| {clip.name} | {src_fps:.2f} | {model_fps:.1f} | {rate:.1f} | "
              f"{rate / target:.2f} | {dropped} |")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
