"""hipflex bench [INPUT] [--frames N]: per-stage timings for every model and runtime found.

Stages per frame: decode (what capture costs from a file), preprocess, inference and
postprocess (the backend's own timer), then kinematics, judge and feedback (the streaming
judge and the cues on mock pins, in the clip's time) over the keypoints the model produced.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from edge.backends import POSE_BACKENDS
from edge.commands import MAX_THREADS, check_range

HELP = "time every stage of the box per frame, per model and runtime"
POSE_STAGES = ("preprocess", "inference", "postprocess")
BOX_STAGES = ("kinematics", "judge", "feedback")
STAGES = ("decode", *POSE_STAGES, *BOX_STAGES)
DEFAULT_CLIP = "supine_knee_raise_right.mp4"
MAX_BENCH_FRAMES = 10_000  # the clip is decoded into memory first: 10,000 VGA frames is 9 GB


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input", nargs="?", help=f"video file (default: ../shared/footage/{DEFAULT_CLIP})"
    )
    p.add_argument("--frames", type=int, default=200, help="frames to time (default: 200)")
    p.add_argument("--size", default="640x480", help="resize frames to WxH first (default 640x480)")
    p.add_argument("--models", default=",".join(POSE_BACKENDS), help="comma-separated backends")
    p.add_argument("--runtime", action="append", help="runtime(s) to time (default: all found)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"interpreter threads, 0-{MAX_THREADS} (default 0: all cores)",
    )
    p.add_argument("--warmup", type=int, default=10, help="untimed frames first (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _parse_size(text: str) -> tuple[int, int]:
    from edge.errors import HipflexError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise HipflexError(f"--size {text}: expected WxH, e.g. 640x480") from None
    if not (16 <= w <= 4096 and 16 <= h <= 4096):
        raise HipflexError(f"--size {text}: width and height must be 16..4096")
    return w, h


def prepare_clip(src: Path, frames: int, size: tuple[int, int], workdir: Path):
    """Resize the first `frames` frames to `size`, keep them in memory for the model runs,
    and re-encode them (mp4v) so decoding is timed at the benchmark size too."""
    import cv2
    import numpy as np

    from edge.errors import SourceError
    from edge.sources.video import VideoFileSource

    w, h = size
    out = workdir / "bench.mp4"
    with VideoFileSource(src) as source:
        clip = np.empty((frames, h, w, 3), np.uint8)
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), source.fps, size)
        bgr = np.empty((h, w, 3), np.uint8)
        n = 0
        for _, rgb in source.frames():
            if n == frames:
                break
            cv2.resize(rgb, size, dst=clip[n], interpolation=cv2.INTER_AREA)
            writer.write(cv2.cvtColor(clip[n], cv2.COLOR_RGB2BGR, dst=bgr))
            n += 1
        writer.release()
    if n == 0:
        raise SourceError(f"{src}: no frames to benchmark")
    return clip[:n], out, source.fps


def time_decode(path: Path) -> list[float]:
    """Seconds per frame for read + BGR->RGB, the work a video source does per frame."""
    from edge.sources.video import VideoFileSource

    times = []
    with VideoFileSource(path) as source:
        start = time.perf_counter()
        for _ in source.frames():
            now = time.perf_counter()
            times.append(now - start)
            start = now
    return times[1:]  # the first frame was decoded when the file was opened


def time_model(
    model: str, runtime: str, clip, fps: float, threads: int | None, warmup: int
) -> dict:
    from edge.pose import create

    estimator = create(model, num_threads=threads, runtime=runtime)
    for rgb in clip[:warmup]:
        estimator(rgb)
    estimator.reset()
    estimator.timer.reset()
    start = time.perf_counter()
    poses = [estimator(rgb) for rgb in clip]
    wall = time.perf_counter() - start
    stats = estimator.timer.summary()
    stats["fps"] = len(clip) / wall
    return stats | time_box(poses, fps)


def time_box(poses: list, fps: float) -> dict:
    """The stages after the model, per frame, as the live loop runs them."""
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from edge.config.feedback import FeedbackConfig
    from edge.cues import Scheduler
    from edge.feedback import Feedback
    from edge.judge import StreamingJudge
    from edge.timing import StageTimer

    timer = StageTimer(BOX_STAGES, capacity=max(len(poses), 1))
    judge = StreamingJudge(fps, timer=timer)
    scheduler = Scheduler(media_time=True)
    feedback = Feedback(FeedbackConfig(), MockFactory(pin_class=MockPWMPin), scheduler)
    try:
        for i, pose in enumerate(poses):
            t = i / fps
            events = judge.update(t, pose.keypoints, pose.landmarks)
            with timer.stage("feedback"):
                feedback.advance(t)
                for event in events:
                    feedback.on_event(event)
                feedback.show_range(judge.live.hip_flexion_deg[0])
    finally:
        feedback.close()
        scheduler.close()
    return timer.summary()


def _summary(samples: list[float]) -> dict[str, float]:
    import numpy as np

    s = np.asarray(samples)
    return {
        "median_ms": float(np.median(s) * 1e3),
        "p95_ms": float(np.percentile(s, 95) * 1e3),
        "n": int(s.size),
    }


def run(args: argparse.Namespace) -> int:
    from edge.errors import HipflexError
    from edge.models import REPO_ROOT
    from edge.runtime import available_runtimes, default_threads

    check_range("--threads", args.threads, 0, MAX_THREADS)
    check_range("--frames", args.frames, 1, MAX_BENCH_FRAMES)
    check_range("--warmup", args.warmup, 0, MAX_BENCH_FRAMES)
    size = _parse_size(args.size)
    src = Path(args.input) if args.input else REPO_ROOT.parent / "shared" / "footage" / DEFAULT_CLIP
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in POSE_BACKENDS:
            choices = ", ".join(POSE_BACKENDS)
            raise HipflexError(f"--models: unknown model {m!r}; choose from {choices}")
    found = dict(available_runtimes())
    runtimes = args.runtime or list(found)
    for r in runtimes:
        if r not in found:
            raise HipflexError(f"--runtime {r}: not importable here (found: {', '.join(found)})")
    if not runtimes:
        raise HipflexError("no TFLite runtime found: install ai-edge-litert or tflite-runtime")
    with tempfile.TemporaryDirectory(prefix="hipflex-bench-") as tmp:
        clip, encoded, fps = prepare_clip(src, max(args.frames, 1), size, Path(tmp))
        decode = _summary(time_decode(encoded))
    threads = args.threads or default_threads()
    rows = []
    for runtime in runtimes:
        for model in models:
            stats = time_model(model, runtime, clip, fps, threads, args.warmup)
            stats["decode"] = decode
            rows.append({"model": model, "runtime": runtime, "version": found[runtime], **stats})
    report = {
        "input": str(src),
        "size": f"{size[0]}x{size[1]}",
        "frames": len(clip),
        "threads": threads,
        "python": sys.version.split()[0],
        "rows": rows,
    }
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def overhead(row: dict, with_decode: bool) -> float:
    """Everything but inference, as a fraction of inference (medians per frame): the pose
    pre/postprocessing alone, or every other stage of the box, decode included."""
    stages = [s for s in STAGES if s != "inference"] if with_decode else POSE_STAGES[::2]
    return sum(row[s]["median_ms"] for s in stages if s in row) / row["inference"]["median_ms"]


def format_report(report: dict) -> str:
    lines = [
        f"input {report['input']} resized to {report['size']}, {report['frames']} frames, "
        f"{report['threads']} threads",
        "",
        "| model | runtime | stage | median ms | p95 ms |",
        "|---|---|---|---:|---:|",
    ]
    for row in report["rows"]:
        rt = f"{row['runtime']} {row['version']}"
        for stage in (s for s in STAGES if s in row):
            s = row[stage]
            lines.append(
                f"| {row['model']} | {rt} | {stage} | {s['median_ms']:.3f} | {s['p95_ms']:.3f} |"
            )
    lines += [
        "",
        "| model | runtime | frames/s (model) | (pre+post)/inference | (all but inference)/inf. |",
        "|---|---|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['model']} | {row['runtime']} {row['version']} | {row['fps']:.1f} | "
            f"{overhead(row, False):.1%} | {overhead(row, True):.1%} |"
        )
    return "\n".join(lines)
