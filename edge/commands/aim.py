"""hipflex aim: the camera setup assistant a coach runs over SSH.

It watches the athlete lying in place for a few seconds and prints PASS or FAIL per check
(edge.aim) with what to do about each failure. The status light mirrors the verdict while
it runs, for whoever is moving the camera: slow blink while something needs fixing (or
nobody lies down yet), off when every check passes. Stop the service first: it holds the
camera and the pins.

With --watch it keeps checking the last N seconds, once a second, and redraws the verdict
in place while the coach moves the camera, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import shutil
import textwrap
import time
from collections import deque
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
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep checking the last N seconds and redraw in place until Ctrl-C",
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
                if args.watch:
                    return watch_live(
                        source, estimator, spec, args.seconds, tracking.min_score,
                        tracking.lying_max_deg, show,
                    )  # fmt: skip
                say(
                    f"Watching {spec} for {args.seconds:g} s: the athlete lies still on their "
                    "back, legs long, side-on to the camera."
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


def say(text: str, indent: str = "", first: str = "") -> None:
    """Print wrapped at word boundaries to the terminal's width (80 when not a terminal)."""
    width = shutil.get_terminal_size((80, 24)).columns
    print(textwrap.fill(text, width=max(width, 40), initial_indent=first,
                        subsequent_indent=indent, break_on_hyphens=False), flush=True)  # fmt: skip


def verdict_lines(verdict: Verdict) -> list[tuple[str, str, str]]:
    """(first-line prefix, text, continuation indent) for every line of the verdict."""
    width = max(len(c.name) for c in verdict.checks)
    pad = " " * (6 + width + 2)
    out = []
    for c in verdict.checks:
        out.append((f"{'PASS' if c.ok else 'FAIL'}  {c.name:<{width}}  ", c.detail, pad))
        if c.advice:
            out.append((pad + "-> ", c.advice, pad + "   "))
    failed = [c.name for c in verdict.checks if not c.ok]
    if not failed:
        out.append(("", "All checks passed: the camera is ready.", ""))
        return out
    if verdict.status != "misaligned":
        out.append(("", "The other checks need the athlete lying down in view.", ""))
    out.append(("", f"{len(failed)} of {len(verdict.checks)} checks failed: "
                f"{', '.join(failed)}", "  "))  # fmt: skip
    return out


def report(verdict: Verdict) -> int:
    """Print one PASS/FAIL line per check, the advice under each failure, and a summary,
    wrapped at word boundaries; exit status 0 only when every check passes."""
    for first, text, indent in verdict_lines(verdict):
        say(text, indent, first)
    return 0 if verdict.ok else 1


def watch_live(source: FrameSource, estimator: PoseEstimator | None, spec: str,
               seconds: float, min_score: float, lying_max_deg: float,
               show: Callable[[Verdict, float], None]) -> int:  # fmt: skip
    """Check the last `seconds` once a second and redraw in place (rich), the status light
    following, until Ctrl-C (exit 0). A file that ends keeps its last verdict on screen."""
    import numpy as np
    from rich.console import Console
    from rich.live import Live

    from edge.aim import Window

    console = Console()
    keep = max(2, math.ceil(seconds * source.fps))
    kp: deque[np.ndarray] = deque(maxlen=keep)
    lm: deque[np.ndarray | None] = deque(maxlen=keep)
    luma: deque[tuple[float, float]] = deque(maxlen=keep)
    updates, tick = 0, 1.0
    screen = _screen(spec, None, 0, "starting", console.width)
    with Live(screen, console=console, auto_refresh=False) as live:
        try:
            for t, frame in _frames(source):
                pose = frame if estimator is None else estimator(frame)
                if estimator is not None:
                    luma.append(_luma(frame))
                kp.append(np.array(pose.keypoints, np.float32))
                lm.append(None if pose.landmarks is None else np.array(pose.landmarks))
                if t < tick:
                    continue
                tick = math.floor(t) + 1.0
                window = Window(
                    np.stack(kp), source.width, source.height,
                    np.stack(lm) if all(x is not None for x in lm) else None,  # type: ignore[arg-type]
                    np.array(luma) if luma else None,
                )  # fmt: skip
                verdict = assess_window(window, min_score, lying_max_deg)
                show(verdict, t)
                updates += 1
                screen = _screen(spec, verdict, updates, f"t = {t:.0f} s", console.width)
                live.update(screen, refresh=True)
            last = None if not updates else verdict
            screen = _screen(spec, last, updates, "the source ended", console.width)
            live.update(screen, refresh=True)
            while True:  # a file ended: keep the last verdict up until Ctrl-C
                time.sleep(0.2)
        except KeyboardInterrupt:
            return 0


def assess_window(window: Window, min_score: float, lying_max_deg: float) -> Verdict:
    from edge.aim import assess

    return assess(window, min_score, lying_max_deg)


def _luma(frame: Any) -> tuple[float, float]:
    import cv2

    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    mean, std = cv2.meanStdDev(gray)
    return float(mean[0, 0]), float(std[0, 0])


def _screen(spec: str, verdict: Verdict | None, updates: int, note: str, width: int) -> Any:
    """One screen of --watch: the header with the update count, then the verdict, wrapped
    at word boundaries to `width` with hanging indents."""
    from rich.text import Text

    def fill(first: str, line: str, indent: str) -> str:
        return textwrap.fill(line, width=max(width, 40), initial_indent=first,
                             subsequent_indent=indent, break_on_hyphens=False)  # fmt: skip

    text = Text(no_wrap=True, overflow="ellipsis")
    head = f"Checking {spec} continuously · update {updates} · {note} · Ctrl-C stops"
    text.append(fill("", head, "  ") + "\n", style="bold")
    if verdict is None:
        text.append("Waiting for the first second of frames…\n", style="dim")
        return text
    for first, line, indent in verdict_lines(verdict):
        style = "green" if first.startswith("PASS") else "red" if first.startswith("FAIL") else ""
        body = fill(first, line, indent)
        text.append(body[: len(first)], style=style)
        text.append(body[len(first) :] + "\n")
    return text
