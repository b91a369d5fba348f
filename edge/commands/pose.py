"""hipflex pose INPUT --model blazepose|movenet --out FILE.npz [--overlay FILE.mp4]"""

from __future__ import annotations

import argparse
import sys
import time

from edge.backends import DEFAULT_POSE_BACKEND, POSE_BACKENDS
from edge.commands import MAX_THREADS, check_range

HELP = "run the pose model over a video and write the keypoints file (.npz)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="video file")
    p.add_argument("--model", choices=POSE_BACKENDS, default=DEFAULT_POSE_BACKEND)
    p.add_argument("--out", required=True, help="keypoints file to write (.npz)")
    p.add_argument("--overlay", help="also write the video with the skeleton drawn (.mp4)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"interpreter threads, 0-{MAX_THREADS} (default 0: all cores)",
    )


class ProgressBar:
    """A one-line bar on stderr, redrawn at most 10 times a second; silent when not a tty
    except for the final line, so logs and CI output stay short."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label, self.stream = label, stream
        self.start = self._last = time.monotonic()
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.tty and (now - self._last >= 0.1 or done == total):
            self._last = now
            self.stream.write("\r" + self._line(done, total, now))
            self.stream.flush()

    def finish(self, done: int) -> None:
        line = self._line(done, done, time.monotonic())
        self.stream.write(("\r" if self.tty else "") + line + "\n")
        self.stream.flush()

    def _line(self, done: int, total: int, now: float) -> str:
        width = 30
        filled = width * done // total if total else 0
        rate = done / max(now - self.start, 1e-9)
        return (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{total} frames, {rate:.1f} frames/s"
        )


def check_paths(args: argparse.Namespace) -> None:
    """The input is a readable file; neither output is the input, the other output or the
    history database."""
    from edge.history import default_db_path
    from edge.paths import database_files, input_file, output_file

    input_file(args.input, "input")
    keep = [("input video", args.input)]
    keep += [("history database", f) for f in database_files(default_db_path())]
    output_file(args.out, "--out", keep)
    if args.overlay:
        output_file(args.overlay, "--overlay", [*keep, ("--out file", args.out)])


def run(args: argparse.Namespace) -> int:
    from edge.errors import HipflexError
    from edge.keypoints import save_keypoints
    from edge.track import track_video

    check_range("--threads", args.threads, 0, MAX_THREADS)
    if not args.out.lower().endswith(".npz"):
        raise HipflexError(f"--out {args.out}: the keypoints file must end in .npz")
    if args.overlay and not args.overlay.lower().endswith(".mp4"):
        raise HipflexError(f"--overlay {args.overlay}: the overlay video must end in .mp4")
    check_paths(args)
    bar = ProgressBar(args.model)
    track = track_video(
        args.input,
        backend=args.model,
        num_threads=args.threads,
        progress=bar,
        overlay=args.overlay,
    )
    bar.finish(track.frames)
    try:
        save_keypoints(args.out, track)
    except OSError as exc:
        raise HipflexError(f"cannot write {args.out}: {exc.strerror}") from None
    seen = float((track.keypoints[:, :, 2].max(axis=1) > 0).mean())
    print(f"{args.out}: {track.frames} frames, person seen in {seen:.0%}, model {track.model}")
    if args.overlay:
        print(f"{args.overlay}: skeleton overlay")
    return 0
