"""The live loop: frame source -> pose -> judge -> cues, then the sinks (edge.sinks).

One frame at a time, always the newest one (edge.latest). The loop owns the frame's path
and the run's life: a camera that vanishes or freezes, a bad config edit under SIGHUP,
systemd's ready and watchdog, SIGTERM (lights and buzzer off, exit 0). What happens to an
event or a judged frame after its cue is the sinks' business, behind one guard.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from edge import sdnotify
from edge.config.load import load_config
from edge.config.schema import Config
from edge.errors import ConfigError, HipflexError, SourceError
from edge.events import Event
from edge.feedback import Feedback
from edge.judge import StreamingJudge
from edge.latest import LatestFrame
from edge.pose import Pose, PoseEstimator, create
from edge.runlock import RunLock
from edge.sinks import (
    EX_TEMPFAIL,
    EventsFileSink,
    HistorySink,
    JournalSink,
    LiveViewSink,
    RecorderSink,
    Sinks,
)
from edge.sources import FrameSource, open_source
from edge.timing import StageTimer

__all__ = ["EX_TEMPFAIL", "LOOP_STAGES", "Box", "RunOptions"]

log = logging.getLogger("hipflex.run")

LOOP_STAGES = ("capture", "pose", "kinematics", "judge", "feedback")
POLL_S = 0.1  # longest wait for a frame before signals and the stall check are looked at
STALL_S = 5.0  # no frame for this long: the camera is frozen; the watchdog takes it from here
_WAITING = (-1.0, None)  # no frame within POLL_S: look at signals and the stall, then wait on


@dataclass
class RunOptions:
    source: str | None = None  # None: the config's camera.source
    fast: bool = False
    events_path: Path | None = None
    config_path: Path | None = None
    db_path: Path | None = None  # None: the config's storage.db_path
    athlete: str | None = None
    socket_path: Path | None = None  # None: the live view's default socket
    live_view: bool = True
    log_level: str | None = None  # set on the command line: the config's level is ignored


class Box:
    """One run of the box, from opening the camera to switching the lights off."""

    def __init__(self, options: RunOptions, config: Config, feedback: Feedback):
        self.options = options
        self.config = config
        self.feedback = feedback
        self.timer = StageTimer(LOOP_STAGES)
        self.sinks = Sinks()
        self._stop = False
        self._reload = False
        self._estimator: PoseEstimator | None = None
        self.frames_seen = 0
        self.frames_dropped = 0
        self._last_t = 0.0
        self._media_time = False  # cues run in the clip's time (a --fast file)
        self._stalled = False
        self._ready = False  # READY=1 sent
        self._watchdog_s = 0.0
        self._next_ping = 0.0
        self._next_timing = 0.0

    # ---------------------------------------------------------------- signals

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop(self, signum: int, frame: object) -> None:
        self._stop = True

    def _on_hup(self, signum: int, frame: object) -> None:
        self._reload = True

    # ---------------------------------------------------------------- sinks

    def _open_sinks(self, source: FrameSource, spec: str, model: str) -> None:
        """Opened in this order, so a bad --events file or database stops the run before a
        session starts; called in the order of `self.sinks`, the history first, so an event
        that reached the journal or the events file is already stored."""
        opts, storage, sinks = self.options, self.config.storage, self.sinks
        athlete = opts.athlete if opts.athlete is not None else storage.athlete
        sinks.add(JournalSink())
        if opts.events_path is not None:
            sinks.add(EventsFileSink.open(opts.events_path))
        if storage.history:
            history = HistorySink.open(storage, opts.db_path, athlete, spec, model, source.fps)
            sinks.add(history, first=True)
        if opts.live_view:
            sinks.add(LiveViewSink.open(opts.socket_path, athlete))
        if storage.record:
            sinks.add(RecorderSink.open(storage, source, self.config.exercise.rep.set_pause_s))

    def _emit(self, event: Event) -> None:
        """Cue first (the athlete is waiting for it), then the sinks."""
        self.feedback.on_event(event)
        self.sinks.on_event(event)

    # ---------------------------------------------------------------- reload

    def _apply_reload(self, judge: StreamingJudge) -> None:
        """`systemctl reload` shows "reloading" until this is done, whatever its outcome."""
        self._reload = False
        sdnotify.reloading()
        try:
            self._reload_config(judge)
        finally:
            sdnotify.ready()

    def _reload_config(self, judge: StreamingJudge) -> None:
        try:
            new = load_config(self.options.config_path)
        except ConfigError as exc:
            for line in exc.errors:
                log.error("config reload rejected, keeping the running config: %s", line)
            return
        if new.model != self.config.model and self._estimator is not None:
            try:
                estimator = create(new.model.backend, new.model.num_threads or None)
            except HipflexError as exc:
                log.error("config reload: keeping model %s: %s", self.config.model.backend, exc)
                new = new.model_copy(update={"model": self.config.model})
            else:
                self._estimator = estimator
        if new.feedback != self.config.feedback:
            self.feedback.reconfigure(new.feedback)
        judge.reconfigure(new.exercise)
        for section in ("camera", "storage"):
            if getattr(new, section) != getattr(self.config, section):
                log.warning("config reload: [%s] takes effect when hipflex restarts", section)
        if self.options.log_level is None:
            logging.getLogger().setLevel(new.logging.level)
        self.config = new
        log.info("config reloaded from %s", self.options.config_path or "the default path")

    # ---------------------------------------------------------------- the loop

    def run(self) -> int:
        opts, cfg = self.options, self.config
        spec = opts.source or cfg.camera.source
        with RunLock():
            self.feedback.on_event(Event(0.0, "status", {"status": "no_athlete"}))
            cam = cfg.camera
            source = open_source(
                spec, width=cam.width, height=cam.height, fps=cam.fps, zoom=cam.zoom
            )
            try:
                model = "keypoints" if source.kind == "keypoints" else cfg.model.backend
                if source.kind != "keypoints":
                    self._estimator = create(cfg.model.backend, cfg.model.num_threads or None)
                self._open_sinks(source, spec, model)
                log.info(
                    "running on %s (%s, %dx%d @ %.2f fps), model %s%s",
                    spec, source.kind, source.width, source.height, source.fps, model,
                    ", fast" if opts.fast else "",
                )  # fmt: skip
                code = self._frames(source)
            finally:
                source.close()
                sinks_code = self.sinks.close()
            return code or sinks_code

    def _frames(self, source: FrameSource) -> int:
        """Frame after frame until the source ends (0), a signal stops it (0) or the camera
        is lost (HipflexError, solid amber)."""
        judge = StreamingJudge(source.fps, self.config.exercise, timer=self.timer)
        self._media_time = self.feedback.media_time
        self._watchdog_s = sdnotify.watchdog_interval()
        self._next_timing = time.monotonic() + self.config.logging.timing_interval_s
        realtime = not self.options.fast and not source.live
        slot = None if self.options.fast else LatestFrame(source.frames(), realtime).start()
        frames = source.frames() if slot is None else None
        try:
            while not self._stop:
                if self._reload:
                    self._apply_reload(judge)
                start = time.perf_counter()
                item = self._next_frame(frames, slot)
                if item is None:
                    break
                if item is _WAITING:
                    continue
                self._frames_back(item[0], judge)
                self.timer.add("capture", time.perf_counter() - start)
                self._judge_frame(judge, *item)
                self._tick(slot)
            else:
                log.info("stopping on signal")
                sdnotify.stopping()
                return 0
            self._finish(source, judge)
            return 0
        except SourceError as exc:
            self.feedback.error()
            raise HipflexError(f"camera lost: {exc}") from None
        finally:
            if slot is not None:
                self.frames_dropped = slot.dropped
                slot.stop()
            self._log_timings(slot)

    def _next_frame(self, frames: Iterator | None, slot: LatestFrame | None) -> tuple | None:
        """The next (t, frame): every frame of a --fast file, else the newest one. None at
        the end; _WAITING after POLL_S without one, and after STALL_S the camera is called
        frozen (one line, solid amber; the watchdog, no longer pinged, takes it from there)."""
        if frames is not None:
            return next(frames, None)
        item = slot.get(POLL_S)
        if item is not None or slot.exhausted:
            return item
        if time.monotonic() - slot.last_frame_at > STALL_S and not self._stalled:
            self._stalled = True
            log.error("no frame from the camera for %.0f s", STALL_S)
            self.feedback.error()
        return _WAITING

    def _frames_back(self, t: float, judge: StreamingJudge) -> None:
        """After a stall, the status light shows the athlete's status again."""
        if self._stalled:
            self._stalled = False
            log.info("frames are back")
            self.feedback.on_event(Event(t, "status", {"status": judge.live.status}))

    def _judge_frame(self, judge: StreamingJudge, t: float, frame: object) -> None:
        """One frame through: pose, judge, the cues, then the sinks."""
        if self._media_time:
            self.feedback.advance(t)
        with self.timer.stage("pose"):
            pose: Pose = frame if self._estimator is None else self._estimator(frame)
        events = judge.update(t, pose.keypoints, pose.landmarks)  # times itself
        with self.timer.stage("feedback"):
            for event in events:
                self._emit(event)
            live = judge.live
            self.feedback.show_range(live.hip_flexion_deg[1 if live.working_leg == "right" else 0])
            image = None if self._estimator is None else frame  # a keypoints file has none
            self.sinks.on_frame(t, image, pose, live)
        self._last_t = t
        self.frames_seen += 1

    def _tick(self, slot: LatestFrame | None) -> None:
        """After each frame: READY=1 once, the watchdog, the timings line now and then."""
        now = time.monotonic()
        if not self._ready:
            sdnotify.ready()
            self._ready = True
        if self._watchdog_s and now >= self._next_ping:
            sdnotify.watchdog()
            self._next_ping = now + self._watchdog_s / 2
        if now >= self._next_timing:
            self._next_timing = now + self.config.logging.timing_interval_s
            self._log_timings(slot)

    def _finish(self, source: FrameSource, judge: StreamingJudge) -> None:
        """The source ended: the rep in progress counts, and in media time the last cues
        play out. A camera has no last frame: a stream that ends means it is gone."""
        if source.live:
            raise SourceError("the camera stopped delivering frames (its stream ended)")
        for event in judge.finish():
            self._emit(event)
        if self._media_time:
            self.feedback.advance(self._last_t + self.feedback.settle_s)

    def _log_timings(self, slot: LatestFrame | None) -> None:
        parts = [self.timer.format()]
        if self._estimator is not None and self._estimator.timer is not None:
            parts.append(self._estimator.timer.format())
        dropped = f", {slot.dropped} dropped" if slot is not None else ""
        log.info(
            "timings (median/p95): %s; %d frames%s", "; ".join(parts), self.frames_seen, dropped
        )
