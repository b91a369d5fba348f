"""The live loop: frame source -> pose -> judge -> feedback, and every event's sinks.

One frame at a time, always the newest one (edge.latest). Everything that can fail on a gym
floor is handled here: a camera that vanishes or freezes, a bad config edit under SIGHUP,
a history database on a full disk. SIGTERM turns the lights and buzzer off and exits 0.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

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
from edge.sources import FrameSource, open_source
from edge.timing import StageTimer

log = logging.getLogger("hipflex.run")

LOOP_STAGES = ("capture", "pose", "kinematics", "judge", "feedback")
EX_TEMPFAIL = 75  # sysexits: reps are spooled, not in the database yet; a restart retries
POLL_S = 0.1  # longest wait for a frame before signals and the stall check are looked at
STALL_S = 5.0  # no frame for this long: the camera is frozen; the watchdog takes it from here


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
        self._stop = False
        self._reload = False
        self._events_file: TextIO | None = None
        self._history: Any = None
        self._live: Any = None
        self._recorder: Any = None
        self._estimator: PoseEstimator | None = None
        self.frames_seen = 0
        self.frames_dropped = 0
        self._last_t = 0.0
        self._good_reps = {"left": 0, "right": 0}
        self._last_faults: deque[dict[str, Any]] = deque(maxlen=5)
        self._athlete = ""
        self._exit = 0  # non-zero once history could not take every event

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
        opts, storage = self.options, self.config.storage
        self._athlete = opts.athlete if opts.athlete is not None else storage.athlete
        if opts.events_path is not None:
            try:
                opts.events_path.parent.mkdir(parents=True, exist_ok=True)
                self._events_file = opts.events_path.open("a", buffering=1, encoding="utf-8")
            except OSError as exc:
                raise HipflexError(f"--events {opts.events_path}: {exc.strerror}") from None
        if storage.history:
            from edge.dbfile import HistoryUnusable
            from edge.history import History

            # A database that cannot be used stops the run (HipflexError): history is never
            # switched off behind the coach's back.
            try:
                self._history = History(opts.db_path or Path(storage.db_path))
            except HipflexError as exc:
                raise HistoryUnusable(str(exc)) from None
            if storage.history_max_age_days:
                cutoff = datetime.now(UTC) - timedelta(days=storage.history_max_age_days)
                self._history.forget_before(cutoff)
            self._history.start_session(self._athlete, spec, model, source.fps)
        if opts.live_view:
            from edge.livefeed import LiveFeed

            try:
                self._live = LiveFeed(opts.socket_path)
            except HipflexError as exc:
                log.warning("live view disabled: %s", exc)
        if storage.record and source.kind == "keypoints":
            log.warning("storage.record is on, but a keypoints file has no images to record")
        elif storage.record:
            from edge.recorder import Recorder

            try:
                self._recorder = Recorder(
                    storage, source.fps, source.width, source.height,
                    set_pause_s=self.config.exercise.rep.set_pause_s, wait=not source.live,
                )  # fmt: skip
            except HipflexError as exc:
                log.error("recording disabled for this run: %s", exc)

    def _close_sinks(self, duration_s: float) -> None:
        if self._history is not None:
            try:
                self._history.end_session(duration_s)
                self._history.close()
            except Exception as exc:
                self._history_failed(exc)
            else:
                if self._history.spooled_reps:
                    log.error("history: %d reps are spooled in %s, not yet in the database; "
                              "they are written when hipflex next starts with space free",
                              self._history.spooled_reps, self._history.spool_path)  # fmt: skip
                    self._exit = EX_TEMPFAIL
                if self._history.lost_reps:  # History said how many, in one line
                    self._exit = 1
            self._history = None
        if self._live is not None:
            self._live.close()
            self._live = None
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        if self._events_file is not None:
            self._events_file.close()
            self._events_file = None

    def _emit(self, event: Event) -> None:
        """Cue first (the athlete is waiting for it), then store, then report: an event that
        reached the journal or the events file is already committed to the history."""
        self.feedback.on_event(event)
        if self._history is not None:
            try:
                self._history.record(event)
            except Exception as exc:
                self._history_failed(exc)
        if self._recorder is not None:
            self._recorder.on_event(event)
        line = json.dumps(event.to_json())
        log.info("event %s", line)
        if self._events_file is not None:
            try:
                self._events_file.write(line + "\n")
            except OSError as exc:
                log.error("events file: %s", exc)
        if event.type == "rep":
            data = event.data
            if not data["faults"]:
                self._good_reps[data["leg"]] += 1
            for fault in data["faults"]:
                self._last_faults.append(
                    {"t": event.t, "leg": data["leg"], "fault": fault, "rep": data["index"]}
                )

    def _history_failed(self, exc: Exception) -> None:
        """The store absorbs a full or failing disk itself; anything else it raises is an
        event it cannot store. The cues matter more than the record: go on without it."""
        log.error("history: %s: %s; history is off for the rest of this run",
                  type(exc).__name__, exc)  # fmt: skip
        self._history = None
        self._exit = 1

    def _publish(self, judge: StreamingJudge, t: float, fps: float) -> None:
        live = judge.live
        legs = {
            name: {
                "hip_flexion_deg": _finite(live.hip_flexion_deg[i]),
                "knee_flexion_deg": _finite(live.knee_flexion_deg[i]),
                "reps": live.reps[name],
                "good_reps": self._good_reps[name],
            }
            for i, name in enumerate(("left", "right"))
        }
        self._live.publish(
            {
                "t": round(t, 2),
                "status": live.status,
                "fps": round(fps, 1),
                "athlete": self._athlete,
                "set": live.set,
                "working_leg": live.working_leg,
                "legs": legs,
                "last_faults": list(self._last_faults),
            }
        )

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
                self._close_sinks(self._last_t)
            return code or self._exit

    def _frames(self, source: FrameSource) -> int:
        judge = StreamingJudge(source.fps, self.config.exercise, timer=self.timer)
        timer = self.timer
        realtime = not self.options.fast and not source.live
        media_time = self.feedback.scheduler.media_time
        slot = None if self.options.fast else LatestFrame(source.frames(), realtime).start()
        frames = source.frames() if slot is None else None
        ready_sent = False
        watchdog_s = sdnotify.watchdog_interval()
        next_ping = 0.0
        next_timing = time.monotonic() + self.config.logging.timing_interval_s
        stalled = False
        next_poll = 0.0
        fps_est, prev_wall = 0.0, None
        try:
            while not self._stop:
                if self._reload:
                    self._apply_reload(judge)
                start = time.perf_counter()
                if slot is None:
                    item = next(frames, None)
                    if item is None:
                        break
                else:
                    item = slot.get(POLL_S)
                    if item is None:
                        if slot.exhausted:
                            break
                        if time.monotonic() - slot.last_frame_at > STALL_S and not stalled:
                            stalled = True
                            log.error("no frame from the camera for %.0f s", STALL_S)
                            self.feedback.error()
                        continue
                t, frame = item
                now = time.monotonic()
                if stalled:
                    stalled = False
                    log.info("frames are back")
                    self.feedback.on_event(Event(t, "status", {"status": judge.live.status}))
                timer.add("capture", time.perf_counter() - start)
                if media_time:
                    self.feedback.advance(t)

                with timer.stage("pose"):
                    pose: Pose = frame if self._estimator is None else self._estimator(frame)
                events = judge.update(t, pose.keypoints, pose.landmarks)  # times itself
                with timer.stage("feedback"):
                    for event in events:
                        self._emit(event)
                    live = judge.live
                    leg = 1 if live.working_leg == "right" else 0
                    self.feedback.show_range(live.hip_flexion_deg[leg])
                    if self._history is not None:
                        try:
                            self._history.sample(t, *live.hip_flexion_deg, *live.knee_flexion_deg)
                        except Exception as exc:
                            self._history_failed(exc)
                    if self._recorder is not None:
                        angles = (live.hip_flexion_deg, live.knee_flexion_deg)
                        self._recorder.frame(t, frame, pose, angles)  # drawn in the clip
                self._last_t = t
                self.frames_seen += 1

                if prev_wall is not None:
                    dt = now - prev_wall
                    if dt > 0:
                        fps_est = 1.0 / dt if fps_est == 0 else 0.9 * fps_est + 0.1 / dt
                prev_wall = now
                if self._live is not None and self._live.due():
                    self._publish(judge, t, fps_est)
                if not ready_sent:
                    sdnotify.ready()
                    ready_sent = True
                if watchdog_s and now >= next_ping:
                    sdnotify.watchdog()
                    next_ping = now + watchdog_s / 2
                if now >= next_poll:
                    next_poll = now + 1.0
                    if self._history is not None:
                        try:
                            self._history.poll()
                        except Exception as exc:
                            self._history_failed(exc)
                if now >= next_timing:
                    next_timing = now + self.config.logging.timing_interval_s
                    self._log_timings(slot)
            else:
                log.info("stopping on signal")
                sdnotify.stopping()
                return 0
            if source.live:  # a camera has no last frame: a stream that ends means it is gone
                raise SourceError("the camera stopped delivering frames (its stream ended)")
            for event in judge.finish():
                self._emit(event)
            if media_time:  # let the last cues play out in the clip's time
                self.feedback.advance(self._last_t + self.feedback.settle_s)
            return 0
        except SourceError as exc:
            self.feedback.error()
            raise HipflexError(f"camera lost: {exc}") from None
        finally:
            if slot is not None:
                self.frames_dropped = slot.dropped
                slot.stop()
            self._log_timings(slot)

    def _log_timings(self, slot: LatestFrame | None) -> None:
        parts = [self.timer.format()]
        estimator_timer = getattr(self._estimator, "timer", None)
        if estimator_timer is not None:
            parts.append(estimator_timer.format())
        dropped = f", {slot.dropped} dropped" if slot is not None else ""
        log.info(
            "timings (median/p95): %s; %d frames%s", "; ".join(parts), self.frames_seen, dropped
        )


def _finite(x: float) -> float | None:
    return round(x, 1) if math.isfinite(x) else None
