"""`hipflex run` on a terminal: one short line per rep, status changes and cue lines, and a
summary at the end, each line cut to the terminal's width.

A coach watching over SSH reads this; the full JSON events stay in `--events` and the
journal (under systemd stderr is no terminal and nothing here is switched on). The console
is an event sink: it sees every event the box emits by standing in front of the feedback
(`Tee`), so the loop needs no change.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, TextIO

from edge.config.faults import FAULTS, REGISTRY
from edge.events import Event
from edge.history import LEGS

CUES = {f.name: f.cue for f in REGISTRY}
LABELS = {f.name: f.label for f in REGISTRY}
STATUS_TEXT = {
    "ok": "athlete in place: judging",
    "no_athlete": "no athlete in view",
    "not_lying": "athlete not lying down",
    "tracking_lost": "tracking lost",
}


def terminal_width(stream: TextIO, fallback: int = 80) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or fallback
    except (OSError, ValueError, AttributeError):
        return fallback


def fit(text: str, width: int) -> str:
    """One line no wider than the terminal: cut with an ellipsis, never wrapped mid-word."""
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


class Console:
    """Reads the box's events and writes the coach's lines to `stream`."""

    def __init__(self, stream: TextIO, width: int | None = None, total_s: float | None = None):
        self.stream = stream
        self.width = width
        self.total_s = total_s  # a file's length: a progress bar follows the clip's time
        self._bar_shown = False
        self._bar_at = 0.0
        self.status: str | None = None
        self.reps = {leg: 0 for leg in LEGS}
        self.good = {leg: 0 for leg in LEGS}
        self.faults: dict[str, int] = {}
        self.closed = False

    def line(self, text: str) -> None:
        width = self.width or terminal_width(self.stream)
        self._clear_bar()
        self.stream.write(fit(text, width) + "\n")
        self.stream.flush()

    def progress(self, t: float, force: bool = False) -> None:
        """Redraw the progress bar on the last line (at most ten times a second)."""
        if not self.total_s:
            return
        now = time.monotonic()
        if not force and now - self._bar_at < 0.1:
            return
        self._bar_at = now
        width = self.width or terminal_width(self.stream)
        done = min(max(t / self.total_s, 0.0), 1.0)
        tail = f" {100 * done:3.0f}% {_clock(t)}/{_clock(self.total_s)}"
        room = width - len(tail) - 3
        text = tail.strip()
        if room >= 5:
            filled = round(room * done)
            text = "[" + "#" * filled + "." * (room - filled) + "]" + tail
        self.stream.write("\r\x1b[K" + fit(text, width - 1))
        self.stream.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\x1b[K")
            self._bar_shown = False

    def wrapped(self, text: str, indent: str) -> None:
        """A longer line (a cue, the fault list) wrapped at word boundaries."""
        width = self.width or terminal_width(self.stream)
        for piece in textwrap.wrap(text, width=width, subsequent_indent=indent):
            self.line(piece)

    def on_event(self, event: Event) -> None:
        data = event.data
        if event.type == "status":
            status = str(data.get("status"))
            if status != self.status:
                self.status = status
                text = STATUS_TEXT.get(status, status.replace("_", " "))
                self.line(f"{_clock(event.t)}  · {text}")
        elif event.type == "set":
            self.line(f"{_clock(event.t)}  Set {data.get('set')} · {data.get('leg')} leg")
        elif event.type == "fault":
            fault = str(data.get("fault"))
            text = f"{_clock(event.t)}  ! {LABELS.get(fault, fault)}: {CUES.get(fault, '')}"
            self.wrapped(text, " " * 11)
        elif event.type == "rep":
            self._rep(event.t, data)

    def _rep(self, t: float, rep: dict[str, Any]) -> None:
        leg, faults = rep["leg"], list(rep["faults"])
        self.reps[leg] = self.reps.get(leg, 0) + 1
        if not faults:
            self.good[leg] = self.good.get(leg, 0) + 1
        for name in faults:
            self.faults[name] = self.faults.get(name, 0) + 1
        peak = rep.get("peak_hip_flexion_deg")
        angle = f"{peak:.0f}°" if isinstance(peak, int | float) else "–"
        verdict = ", ".join(faults) if faults else "good"
        self.wrapped(f"{_clock(t)}  R{rep['index']} {leg} {angle} {verdict}", " " * 9)
        # one cue per rep, the first fault in the registry's order (the one that matters most)
        first = next((f for f in FAULTS if f in faults), None)
        if first is not None:
            self.wrapped(f"{'':7}  cue: {CUES[first]}", " " * 14)

    def close(self) -> None:
        """The session's summary: reps per leg, good rate, faults."""
        if self.closed:
            return
        self.closed = True
        if self.total_s and self._bar_at:  # a bar was shown: leave it at 100% on screen
            self.progress(self.total_s, force=True)
            self.stream.write("\n")
            self._bar_shown = False
        total, good = sum(self.reps.values()), sum(self.good.values())
        rate = f"{100 * good / total:.0f}%" if total else "–"
        self.wrapped(
            f"Summary: {total} rep{'' if total == 1 else 's'} (left {self.reps['left']}, "
            f"right {self.reps['right']}), {good} good ({rate})",
            "  ",
        )
        if self.faults:
            order = {name: i for i, name in enumerate(FAULTS)}
            ranked = sorted(self.faults.items(), key=lambda kv: (-kv[1], order.get(kv[0], 99)))
            self.wrapped("Faults: " + ", ".join(f"{name} {n}" for name, n in ranked), "  ")
        elif total:
            self.line("Faults: none")


class Tee:
    """The feedback with the console reading along: every event goes to both; anything
    else is the feedback's own."""

    def __init__(self, feedback: Any, console: Console):
        self._feedback = feedback
        self.console = console

    def wrapped(self, text: str, indent: str) -> None:
        """A longer line (a cue, the fault list) wrapped at word boundaries."""
        width = self.width or terminal_width(self.stream)
        for piece in textwrap.wrap(text, width=width, subsequent_indent=indent):
            self.line(piece)

    def on_event(self, event: Event) -> None:
        self._feedback.on_event(event)
        self.console.on_event(event)

    def advance(self, t: float) -> None:
        """A --fast file run moves the clip's time each frame: the progress bar follows."""
        self._feedback.advance(t)
        self.console.progress(t)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._feedback, name)


class _FitFormatter(logging.Formatter):
    """Log lines on the terminal wrapped at word boundaries to its width."""

    def __init__(self, stream: TextIO):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.stream = stream

    def format(self, record: logging.LogRecord) -> str:
        width = terminal_width(self.stream)
        text = super().format(record)
        return "\n".join(textwrap.fill(line, width=width, subsequent_indent="  ")
                         for line in text.splitlines())  # fmt: skip


def media_length_s(spec: str | None) -> float | None:
    """The length of a video or keypoints file in seconds; None for a camera or when the
    file does not say."""
    if not spec or not Path(spec).is_file():
        return None
    try:
        if spec.lower().endswith(".npz"):
            from edge.keypoints import load_keypoints

            track = load_keypoints(spec)
            return len(track.keypoints) / track.fps
        import cv2

        cap = cv2.VideoCapture(spec)
        try:
            frames, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
        finally:
            cap.release()
        return frames / fps if frames > 0 and fps > 0 else None
    except Exception:  # the run itself reports a bad file; the bar is only a nicety
        return None


def attach(feedback: Any, keep_info: bool = False, stream: TextIO | None = None,
           fast_file: str | None = None) -> Any:  # fmt: skip
    """When `stream` (stderr) is a terminal: a `Tee` of `feedback` and a Console, with the
    log on that terminal cut down to warnings (unless `keep_info`, e.g. --log-level was
    given) and wrapped to its width, and a progress bar for a `--fast` run on the file
    `fast_file`. Otherwise `feedback` unchanged."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return feedback
    for handler in logging.getLogger().handlers:
        if getattr(handler, "stream", None) is stream:
            if not keep_info:
                handler.setLevel(logging.WARNING)
            handler.setFormatter(_FitFormatter(stream))
    return Tee(feedback, Console(stream, total_s=media_length_s(fast_file)))


def _clock(t: float) -> str:
    return f"{int(t // 60):02d}:{t % 60:04.1f}"
