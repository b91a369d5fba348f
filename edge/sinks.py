"""Where the loop's events and judged frames go, behind one interface and one guard.

A sink takes every event (`on_event`) and every judged frame (`on_frame`), and is closed once
at the end. The loop keeps them in a `Sinks` list: a sink that raises is named in one error
line and switched off for the rest of the run, while the cues and the other sinks go on. The
history is the one sink whose failure fails the run (exit 1: reps went unstored), and its
close says whether reps are still spooled (EX_TEMPFAIL) or were lost (exit 1).

The adapters: the history database (edge.history), the journal line per event, the
`--events` file, the live view socket (edge.livefeed) and the clip recorder (edge.recorder).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from edge.errors import HipflexError
from edge.events import Event
from edge.livefeed import LiveFeed, snapshot

if TYPE_CHECKING:
    import numpy as np

    from edge.config.schema import StorageConfig
    from edge.history import History
    from edge.judge.live import LiveState
    from edge.pose import Pose
    from edge.recorder import Recorder
    from edge.sources import FrameSource

log = logging.getLogger("hipflex.run")

EX_TEMPFAIL = 75  # sysexits: reps are spooled, not in the database yet; a restart retries
HISTORY_POLL_S = 1.0  # how often the history retries writes it could not make yet


class Sink(Protocol):
    name: str  # what its one failure line calls it: "history", "events file", ...
    essential: bool  # True: its failure fails the run (exit 1), records were lost

    def on_event(self, event: Event) -> None:
        """One event, after its cue has started."""
        ...

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        """One judged frame: the RGB image (None for a keypoints file), its pose, and the
        judge's live state after it."""
        ...

    def close(self) -> int:
        """Finish; returns 0, or the exit code the run must end with because of this sink."""
        ...


class Sinks:
    """The loop's sinks, called in order through one guard."""

    def __init__(self) -> None:
        self._sinks: list[Sink] = []
        self.exit_code = 0  # non-zero once an essential sink failed or could not keep all

    @property
    def names(self) -> list[str]:
        return [sink.name for sink in self._sinks]

    def add(self, sink: Sink | None, *, first: bool = False) -> None:
        if sink is not None:
            self._sinks.insert(0 if first else len(self._sinks), sink)

    def on_event(self, event: Event) -> None:
        for sink in tuple(self._sinks):
            self._guard(sink, sink.on_event, event)

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        for sink in tuple(self._sinks):
            self._guard(sink, sink.on_frame, t, image, pose, live)

    def close(self) -> int:
        """Close every sink still on, in order; returns the run's exit code as far as the
        sinks know (a lost record, 1, outweighs a spooled one, EX_TEMPFAIL)."""
        for sink in tuple(self._sinks):
            code = self._guard(sink, sink.close)
            if code and self.exit_code != 1:
                self.exit_code = code
        self._sinks.clear()
        return self.exit_code

    def _guard(self, sink: Sink, method: Callable[..., Any], *args: Any) -> Any:
        """Call one sink; if it raises, say so in one line and drop it (not closed: its
        close would likely fail the same way)."""
        try:
            return method(*args)
        except Exception as exc:
            log.error("%s: %s: %s; %s is off for the rest of this run",
                      sink.name, type(exc).__name__, exc, sink.name)  # fmt: skip
            if sink in self._sinks:
                self._sinks.remove(sink)
            if sink.essential:
                self.exit_code = 1
            return None


class HistorySink:
    """The history database: every event, one angle sample per frame, a retry each second
    for what it could not write yet. It absorbs a full disk itself (its spool); anything it
    raises is a record lost."""

    name = "history"
    essential = True

    def __init__(self, history: History, clock: Callable[[], float] = time.monotonic):
        self.history = history
        self._clock = clock
        self._next_poll = 0.0
        self._t = 0.0  # the session's length so far: its last frame's time

    @classmethod
    def open(cls, storage: StorageConfig, db_path: Path | None, athlete: str, spec: str,
             model: str, fps: float) -> HistorySink:  # fmt: skip
        """A database that cannot be used stops the run (HistoryUnusable): history is never
        switched off behind the coach's back."""
        from edge.dbfile import HistoryUnusable
        from edge.history import History

        try:
            history = History(db_path or Path(storage.db_path))
        except HipflexError as exc:
            raise HistoryUnusable(str(exc)) from None
        if storage.history_max_age_days:
            history.forget_before(datetime.now(UTC) - timedelta(days=storage.history_max_age_days))
        history.start_session(athlete, spec, model, fps)
        return cls(history)

    def on_event(self, event: Event) -> None:
        self.history.record(event)

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        self._t = t
        self.history.sample(t, *live.hip_flexion_deg, *live.knee_flexion_deg)
        now = self._clock()
        if now >= self._next_poll:
            self._next_poll = now + HISTORY_POLL_S
            self.history.poll()

    def close(self) -> int:
        history = self.history
        history.end_session(self._t)
        history.close()
        code = 0
        if history.spooled_reps:
            log.error("history: %d reps are spooled in %s, not yet in the database; "
                      "they are written when hipflex next starts with space free",
                      history.spooled_reps, history.spool_path)  # fmt: skip
            code = EX_TEMPFAIL
        if history.lost_reps:  # History said how many, in one line
            code = 1
        return code


class JournalSink:
    """One journal line per event, its JSON as in the events file."""

    name = "journal"
    essential = False

    def on_event(self, event: Event) -> None:
        log.info("event %s", json.dumps(event.to_json()))

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        pass

    def close(self) -> int:
        return 0


class EventsFileSink:
    """`--events FILE`: every event appended as one JSON line, flushed at each line."""

    name = "events file"
    essential = False

    def __init__(self, file: TextIO):
        self.file = file

    @classmethod
    def open(cls, path: Path) -> EventsFileSink:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(path.open("a", buffering=1, encoding="utf-8"))
        except OSError as exc:
            raise HipflexError(f"--events {path}: {exc.strerror}") from None

    def on_event(self, event: Event) -> None:
        self.file.write(json.dumps(event.to_json()) + "\n")

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        pass

    def close(self) -> int:
        self.file.close()
        return 0


class LiveViewSink:
    """The live view socket for `hipflex watch`: a snapshot of the live state every
    interval the feed asks for, with the loop's frame rate measured here."""

    name = "live view"
    essential = False

    def __init__(self, feed: LiveFeed, athlete: str, clock: Callable[[], float] = time.monotonic):
        self.feed = feed
        self.athlete = athlete
        self.fps = 0.0  # frames the loop judges per second of wall time, smoothed
        self._clock = clock
        self._prev: float | None = None

    @classmethod
    def open(cls, socket_path: Path | None, athlete: str) -> LiveViewSink | None:
        try:
            return cls(LiveFeed(socket_path), athlete)
        except HipflexError as exc:
            log.warning("live view disabled: %s", exc)
            return None

    def on_event(self, event: Event) -> None:
        pass  # what it shows is the live state, read each frame

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        now = self._clock()
        if self._prev is not None and now > self._prev:
            rate = 1.0 / (now - self._prev)
            self.fps = rate if self.fps == 0 else 0.9 * self.fps + 0.1 * rate
        self._prev = now
        if self.feed.due():
            self.feed.publish(snapshot(live, t, self.fps, self.athlete))

    def close(self) -> int:
        self.feed.close()
        return 0


class RecorderSink:
    """storage.record: a clip of each set, with the skeleton and the angles drawn in."""

    name = "recorder"
    essential = False

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    @classmethod
    def open(cls, storage: StorageConfig, source: FrameSource,
             set_pause_s: float) -> RecorderSink | None:  # fmt: skip
        if source.kind == "keypoints":
            log.warning("storage.record is on, but a keypoints file has no images to record")
            return None
        from edge.recorder import Recorder

        try:
            return cls(Recorder(storage, source.fps, source.width, source.height,
                                set_pause_s=set_pause_s, wait=not source.live))  # fmt: skip
        except HipflexError as exc:
            log.error("recording disabled for this run: %s", exc)
            return None

    def on_event(self, event: Event) -> None:
        self.recorder.on_event(event)

    def on_frame(self, t: float, image: np.ndarray | None, pose: Pose, live: LiveState) -> None:
        if image is not None:
            self.recorder.frame(t, image, pose, (live.hip_flexion_deg, live.knee_flexion_deg))

    def close(self) -> int:
        self.recorder.close()
        return 0
