"""hipflex aim: the camera setup assistant a coach runs over SSH.

It watches the athlete lying in place for a few seconds and prints PASS or FAIL per check
(edge.aim) with what to do about each failure. The status light mirrors the verdict while
it runs, for whoever is moving the camera: slow blink while something needs fixing (or
nobody lies down yet), off when every check passes. Stop the service first: it holds the
camera and the pins.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from edge.errors import HipflexError, SourceError

if TYPE_CHECKING:
    from edge.aim import Verdict, Window
    from edge.pose import PoseEstimator
    from edge.sources import FrameSource

from edge.commands import add_config_option, add_feedback_option

HELP = "check the camera setup with the athlete lying in place: PASS/FAIL with guidance"

MIN_SECONDS, MAX_SECONDS = 1.0, 60.0
CAMERA_TIMEOUT_S = 5.0  # no frame for this long: the camera is not delivering
POLL_S = 0.1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        help='"camera", "webcam:N", a video file or a keypoints .npz '
        "(default: camera.source from the config)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        metavar="N",
        help="how long to watch (default 5; a file: its first N seconds)",
    )
    add_config_option(p)
    add_feedback_option(p)


def run(args: argparse.Namespace) -> int:
    if not MIN_SECONDS <= args.seconds <= MAX_SECONDS:
        raise HipflexError(
            f"--seconds {args.seconds:g}: must be between {MIN_SECONDS:g} and {MAX_SECONDS:g}"
        )
    from edge.config.load import load_config
    from edge.events import Event
    from edge.feedback import Feedback
    from edge.outputs import pin_factory
    from edge.pose import create
    from edge.runlock import RunLock
    from edge.sources import open_source

    config = load_config(args.config)
    cam, tracking = config.camera, config.exercise.tracking
    spec = args.source or cam.source
    with RunLock():  # first: the service holds the pins and the camera while it runs
        feedback = Feedback(config.feedback, pin_factory(args.feedback, config.feedback))

        def show(verdict: Verdict, t: float) -> None:
            feedback.on_event(Event(t, "status", {"status": verdict.status}))

        try:
            feedback.on_event(Event(0.0, "status", {"status": "no_athlete"}))
            with open_source(
                spec, width=cam.width, height=cam.height, fps=cam.fps, zoom=cam.zoom
            ) as source:
                estimator = None
                if source.kind != "keypoints":
                    estimator = create(config.model.backend, config.model.num_threads or None)
                print(
                    f"Watching {spec} for {args.seconds:g} s: the athlete lies still on their "
                    "back, legs long, side-on to the camera.",
                    flush=True,
                )
                verdict = watch(
                    source, estimator, args.seconds, tracking.min_score,
                    tracking.lying_max_deg, show,
                )  # fmt: skip
            return report(verdict)
        finally:
            feedback.close()


def watch(
    source: FrameSource,
    estimator: PoseEstimator | None,
    seconds: float,
    min_score: float,
    lying_max_deg: float,
    show: Callable[[Verdict, float], None] | None = None,
) -> Verdict:
    """Run the model over the first `seconds` of `source` and judge the setup; `show` gets
    the verdict so far once a second (for the status light) and the final one."""
    from edge.aim import assess

    window, tick = None, 1.0
    for window, t in capture(source, estimator, seconds):
        if show is not None and t >= tick:
            tick = math.floor(t) + 1.0
            show(assess(window, min_score, lying_max_deg), t)
    if window is None:
        raise SourceError(f"no frame came from the source within {seconds:g} s")
    verdict = assess(window, min_score, lying_max_deg)
    if show is not None:
        show(verdict, seconds)
    return verdict


def capture(
    source: FrameSource, estimator: PoseEstimator | None, seconds: float
) -> Iterator[tuple[Window, float]]:
    """Yield (the window so far, frame time) after each frame of the first `seconds`.

    Arrays are allocated once for the longest possible window; each yielded Window views
    their filled part. A frame's brightness is measured on the frame the model saw.
    """
    import cv2
    import numpy as np

    from edge.aim import Window

    n = math.ceil(seconds * source.fps) + 1
    kp = np.zeros((n, 17, 3), np.float32)
    landmarks: np.ndarray | None = None
    luma = None if estimator is None else np.zeros((n, 2))
    gray: np.ndarray | None = None
    for i, (t, frame) in enumerate(_frames(source)):
        if t >= seconds or i == n:
            break
        if estimator is None:
            pose = frame
        else:
            pose = estimator(frame)
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY, dst=gray)
            mean, std = cv2.meanStdDev(gray)
            luma[i] = mean[0, 0], std[0, 0]
        kp[i] = pose.keypoints
        if pose.landmarks is not None:
            if landmarks is None:
                landmarks = np.zeros((n, 33, 4), np.float32)
            landmarks[i] = pose.landmarks
        k = i + 1
        yield (
            Window(
                kp[:k], source.width, source.height,
                None if landmarks is None else landmarks[:k],
                None if luma is None else luma[:k],
            ),
            t,
        )  # fmt: skip


def _frames(source: FrameSource) -> Iterator[tuple[float, Any]]:
    """Every frame of a file; the newest frame of a live camera (never a backlog)."""
    if not source.live:
        yield from source.frames()
        return
    from edge.latest import LatestFrame

    slot = LatestFrame(source.frames(), realtime=False).start()
    try:
        while True:
            item = slot.get(POLL_S)
            if item is not None:
                yield item
            elif slot.exhausted:
                return
            elif time.monotonic() - slot.last_frame_at > CAMERA_TIMEOUT_S:
                raise SourceError(f"no frame from the camera for {CAMERA_TIMEOUT_S:g} s")
    finally:
        slot.stop()


def report(verdict: Verdict) -> int:
    """Print one PASS/FAIL line per check, the advice under each failure, and a summary;
    exit status 0 only when every check passes."""
    width = max(len(c.name) for c in verdict.checks)
    for c in verdict.checks:
        print(f"{'PASS' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}")
        if c.advice:
            print(f"      {'':<{width}}  -> {c.advice}")
    failed = [c.name for c in verdict.checks if not c.ok]
    if not failed:
        print("All checks passed: the camera is ready.")
        return 0
    if verdict.status != "misaligned":
        print("The other checks need the athlete lying down in view.")
    print(f"{len(failed)} of {len(verdict.checks)} checks failed: {', '.join(failed)}")
    return 1
