"""The judge: one frame in, events out. `judge_clip` drives the same object over a clip,
so the live box and `hipflex analyze` agree rep for rep by construction.

Per frame: gate the keypoints (tracking.PointGate), update the resting baseline and the
status, take the frame's geometry (kinematics.frame_geometry, Python floats), write one row
into a preallocated buffer, and move the rep boundaries. Rep statistics (judge.faults) run
on a view of that buffer: once per frame during a lift for the live lumbar cue, once per
rep at its start (band_unloaded) and end (the rest).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import median
from time import perf_counter

import numpy as np

from edge.config.exercise import ExerciseConfig
from edge.config.faults import FAULTS
from edge.events import Event
from edge.judge import faults as rules
from edge.judge.live import LiveState
from edge.judge.pelvis import SETTLED_DEG, PelvisScale
from edge.judge.reps import N_COLS, Col, Rep, RepBoundaries, majority_leg
from edge.judge.status import OK, STATUSES, StatusTracker
from edge.judge.trace import Trace
from edge.kinematics import KNEE, LEG_NAMES, PY, Basis, Geo, frame_geometry, head_side
from edge.timing import StageTimer
from edge.tracking import BASELINE_KINDS, Baseline, PointGate, gain

NO_EVENTS: tuple[Event, ...] = ()
UNSEEN_RISE_DEG = 5.0  # a rep already up when judging began must still rise this much
LUMBAR_EVERY_S = 0.1  # the live lumbar test's cadence during a lift (cue latency)
HIPS_UP_TORSO = 0.3  # more hip lift than the worst lumbar rounding (~30 deg at a long radius)
RECENT_TOPS = 9  # reps the athlete's usual peak is taken over
MIN_KNEE_DEG = -40.0  # knee flexion below this (hyperextension) is no one leg's
LOST_GRACE_S = 1.0  # a rep survives tracking lost this long (both knees hidden a moment)
_NAN_GEO = (math.nan,) * (N_COLS - Col.HIP)


@dataclass
class _RepInProgress:
    bottom: int  # buffer row of its bottom
    bottom_seen: bool
    leg: int  # provisional leg at the start (sets and band_unloaded need one then)
    set: int
    undo: tuple[bool, int | None]  # (opened a set, the leg before): to undo if not counted
    t: float  # when the lift was seen to start
    lost_t: float | None = None  # when tracking was lost, while it stays lost
    faults: set[str] = field(default_factory=set)


class StreamingJudge:
    """Reps per leg and the eight faults of exercise.md, frame by frame."""

    def __init__(self, fps: float, config: ExerciseConfig | None = None,
                 timer: StageTimer | None = None, trace: Trace | None = None):  # fmt: skip
        self.fps = float(fps)
        cfg = config or ExerciseConfig()
        self.timer = timer  # "kinematics" and "judge" stages, for the loop's log and bench
        self.trace = trace
        self.gate = PointGate(cfg)
        self.baseline = Baseline(self.fps, cfg)
        self.status = StatusTracker(cfg)
        self.bounds = RepBoundaries(cfg.rep, self.fps)
        self.pelvis = PelvisScale(self.fps, cfg.pelvis.radius_torso)
        self.live = LiveState()
        self._rows = np.full((1, N_COLS), math.nan)
        self._n = 0  # rows used
        self._t = 0.0
        self._smooth = math.nan
        self._rep: _RepInProgress | None = None
        self._pending: Rep | None = None  # a rep whose start was not seen, see _end
        self._pending_undo: tuple[bool, int | None] = (False, None)
        self._last_end = 0  # row the last rep ended on
        self._last_end_t = -math.inf
        self._last_leg: int | None = None
        self._set = 0
        self._index = 0
        self._tops: deque[float] = deque(maxlen=RECENT_TOPS)
        self._judged_before = False
        self._lumbar_next = -math.inf
        self._apply(cfg)

    def _apply(self, cfg: ExerciseConfig) -> None:
        self.cfg = cfg
        self.gate.configure(cfg)
        self.baseline.configure(cfg)
        self.status.cfg = cfg
        self.bounds.cfg = cfg.rep
        self.pelvis.configure(self.fps, cfg.pelvis.radius_torso)
        self._gain = gain(cfg.tracking.smooth_s, self.fps)
        keep = math.ceil((cfg.rep.lookback_s + cfg.rep.max_rep_s) * self.fps) + 2
        if self._rows.shape[0] < 2 * keep:
            rows = np.full((2 * keep, N_COLS), math.nan)
            rows[: self._n] = self._rows[: self._n]
            self._rows = rows
        self._keep = keep

    def reconfigure(self, config: ExerciseConfig) -> None:
        """New thresholds from now on; counts, set, baseline and the rep in progress stay."""
        self._apply(config)

    # ------------------------------------------------------------------ per frame

    def update(self, t: float, keypoints: np.ndarray, landmarks: np.ndarray | None = None):
        """Judge one frame: (17, 3) COCO keypoints, optional (33, 4) BlazePose landmarks."""
        timer = self.timer
        if timer is not None:
            start = perf_counter()
        self._t = t
        xs, ys, seen = self.gate.update(t, keypoints, landmarks)
        base = self.baseline
        lying = base.update(t, xs, ys, self.gate.fresh_trunk_and_knees())
        frame = self.pelvis.frame(base.frame)
        geo = _NAN_GEO if frame is None else frame_geometry(xs, ys, frame, PY)
        hip, left, right = geo[Geo.HIP], geo[Geo.HIP_L], geo[Geo.HIP_R]
        if hip < self.cfg.rep.start_deg and (left != left or right != right):
            hip = math.nan  # one thigh unseen and the other low: either could be working
        elif hip == hip and not self.gate.fresh(KNEE[int(geo[Geo.LEG])]):
            hip = math.nan  # the working knee is only held: no new evidence on this frame
        elif geo[Geo.KNEE_W] < MIN_KNEE_DEG:
            hip = math.nan  # a knee bent backwards: its points are not one leg (a swap)
        if self._n == self._rows.shape[0]:
            self._compact()
        i = self._n
        self._n += 1
        if timer is not None:
            split = perf_counter()
            timer.add("kinematics", split - start)

        events = None
        trunk = xs[0] == xs[0] or xs[1] == xs[1]
        trunk = trunk and (xs[2] == xs[2] or xs[3] == xs[3])
        leg_seen = xs[4] == xs[4] or xs[5] == xs[5]
        if self.status.update(t, seen, lying, trunk, leg_seen):
            self.live.status = STATUSES[self.status.code]
            events = [Event(t, "status", {"status": self.live.status})]
        # hips lifted off the floor (a bridge, sitting up) is no frame of this exercise
        judged = (self.status.code == OK and frame is not None
                  and not geo[Geo.PELVIS_N] > HIPS_UP_TORSO)  # fmt: skip
        if not judged:
            self._smooth = math.nan
        elif hip == hip:
            s = self._smooth
            self._smooth = hip if s != s else s + self._gain * (hip - s)
        self._rows[i] = (t, self._smooth if hip == hip else math.nan, float(judged), hip, *geo[1:])

        if judged and self.gate.fresh_hips():
            settled = geo[Geo.THIGH_REST] < SETTLED_DEG and base.legs_long
            self.pelvis.observe(xs, ys, frame[Basis.TORSO], settled)
        if self._pending is not None and not judged:
            self._pending = None
            self._undo(self._pending_undo)
        elif self._pending is not None and base.legs_long:
            events = self._emit(events, self._pending)
            self._pending = None
        rep = self._rep
        if rep is not None and not judged:
            if rep.lost_t is None:
                rep.lost_t = t
            elif t - rep.lost_t > LOST_GRACE_S:  # lost mid-rep for good: not counted
                self._rep = None
                self._undo(rep.undo)
                self._last_end, self._last_end_t = i, t
                self.bounds.reset(i, math.inf)
        elif judged and hip == hip:
            if rep is not None:
                rep.lost_t = None
            change = None
            if not self._judged_before and self.bounds.start_at_once(i, self._smooth):
                events = self._start(events, i, bottom_seen=False)
            else:
                change = self.bounds.update(i, self._smooth)
            self._judged_before = True
            if change == "start" and not base.seen_long:
                # never seen lying with the legs long (a bridge, knees bent from the
                # start): no lift of this exercise can start
                self.bounds.reset(i, self._smooth)
            elif change == "start":
                events = self._start(events, self.bounds.low_at, bottom_seen=True)
            elif change == "end":
                events = self._end(events)
            rep = self._rep
            if rep is not None and "lumbar_rounding" not in rep.faults and t >= self._lumbar_next:
                self._lumbar_next = t + LUMBAR_EVERY_S
                f = self.cfg.faults.lumbar_rounding
                if f.enabled and rules.lumbar_so_far(
                    self._rows[rep.bottom : i + 1], self.pelvis, self.cfg
                ):
                    rep.faults.add("lumbar_rounding")
                    events = _add(events, self._fault("lumbar_rounding", rep))
        self._show(geo, frame)
        if self.trace is not None:
            self.trace.row(self._rows[i], self.live, base, self._rep is not None, self._index)
        if timer is not None:
            timer.add("judge", perf_counter() - split)
        return NO_EVENTS if events is None else events

    def finish(self):
        """End of the clip or session: a rep still in progress counts, ending now."""
        if self._rep is None:
            return NO_EVENTS
        self.bounds.reset(self._n - 1, math.inf)
        if not self._rep.bottom_seen or self._rep.lost_t is not None:
            # never seen going up nor coming down, or lost when it ended: no lift
            self._undo(self._rep.undo)
            self._rep = None
            return NO_EVENTS
        return self._end(None) or NO_EVENTS

    # ------------------------------------------------------------------ reps

    def _start(self, events: list | None, bottom: int, bottom_seen: bool) -> list | None:
        t, cfg = self._t, self.cfg
        if self._pending is not None:  # a next lift proves the unseen one was a lift too
            events = self._emit(events, self._pending)
            self._pending = None
        bottom = max(bottom, self._n - 1 - round(cfg.rep.lookback_s * self.fps), 0)
        leg = majority_leg(self._rows[bottom : self._n], 0.5 * cfg.rep.start_deg)
        same_set = self._continues_set(self._last_leg, leg, t)
        if not same_set:
            events = self._open_set(events, leg)
        rep = self._rep = _RepInProgress(bottom, bottom_seen, leg, self._set,
                                         undo=(not same_set, self._last_leg), t=t)
        if same_set and self._band_rested(bottom):
            rep.faults.add("band_unloaded")
            events = _add(events, self._fault("band_unloaded", rep))
        self._last_leg = leg
        self.live.working_leg = LEG_NAMES[leg]
        return events

    def _end(self, events: list | None) -> list | None:
        rep, cfg = self._rep, self.cfg
        assert rep is not None
        self._rep = None
        end = self._n - 1
        rows = self._rows[rep.bottom : end + 1]
        hs = rows[:, Col.HIP_S]
        if not rep.bottom_seen and np.nanmax(hs) - hs[0] < UNSEEN_RISE_DEG:
            # judging began with the legs already up and they only came down: lying down
            # after sitting, not a lift
            self._last_end, self._last_end_t = end, self._t
            self._undo(rep.undo)
            return events
        m = rules.measure(rows, rep.bottom_seen, self.pelvis, cfg)
        self.pelvis.learn(m.travel, m.peak_deg + max(m.excess_deg, 0.0), m.path_sums)
        leg = majority_leg(rows, cfg.rep.start_deg)
        if leg != rep.leg:
            events = self._revote(events, rep, leg)
        faults = rules.end_faults(m, cfg, rep.faults, self._usual_top())
        if m.peak_deg == m.peak_deg:
            self._tops.append(m.peak_deg)
        done = Rep(
            index=self._index + 1,
            leg=LEG_NAMES[leg],
            set=rep.set,
            start_s=m.start_s,
            peak_s=m.peak_s,
            end_s=self._t,
            peak_hip_flexion_deg=m.peak_deg,
            knee_flexion_at_peak_deg=m.knee_deg,
            pelvis_tilt_deg=m.tilt_deg,
            lift_s=m.lift_s if m.lift_s == m.lift_s else m.peak_s - m.start_s,
            faults=[name for name in FAULTS if name in faults],
        )
        self._last_end, self._last_end_t, self._last_leg = end, self._t, leg
        if not rep.bottom_seen and not self.baseline.legs_long:
            # a lift already under way when judging began counts once the legs lie long
            # again or the next lift starts: a bridge or a sit-up that began bent never does
            self._pending, self._pending_undo = done, rep.undo
            return events
        return self._emit(events, done)

    def _revote(self, events: list | None, rep: _RepInProgress, leg: int) -> list | None:
        """The whole rep outvoted the leg its start was given (a label swap over the start):
        its set and band_unloaded follow the whole rep's leg, as if the start had seen it."""
        rep.faults.discard("band_unloaded")
        opened, before = rep.undo
        same_set = self._continues_set(before, leg, rep.t)
        if opened and same_set:  # it goes on with the set before it
            self._set -= 1
            rep.undo = (False, before)
            if self._band_rested(rep.bottom):
                rep.faults.add("band_unloaded")
        elif not opened and not same_set:  # it starts a set of its own
            events = self._open_set(events, leg)
            rep.undo = (True, before)
        rep.set = self.live.set = self._set
        return events

    def _continues_set(self, leg_before: int | None, leg: int, t: float) -> bool:
        """A lift of `leg` starting at `t` goes on with the set before it."""
        return leg_before == leg and t - self._last_end_t <= self.cfg.rep.set_pause_s

    def _open_set(self, events: list | None, leg: int) -> list:
        self._set += 1
        self.live.set = self._set
        return _add(events, Event(self._t, "set", {"set": self._set, "leg": LEG_NAMES[leg]}))

    def _band_rested(self, bottom: int) -> bool:
        """band_unloaded: the working heel rested on the floor between the last rep's end
        and this lift's `bottom` row."""
        cfg = self.cfg
        gap = self._rows[self._last_end : bottom + 1]
        return cfg.faults.band_unloaded.enabled and rules.rested_on_floor(gap, cfg)

    def _usual_top(self) -> float:
        """The athlete's usual peak flexion: the median over recent reps, with the middle of
        the target band as one more."""
        f = self.cfg.faults
        return median([0.5 * (f.short_range.min_peak_deg + f.over_flexion.max_peak_deg),
                       *self._tops])  # fmt: skip

    def _undo(self, undo: tuple[bool, int | None]) -> None:
        """A rep that is not counted leaves no set behind."""
        opened, leg_before = undo
        if opened:
            self._set -= 1
            self.live.set = self._set
        self._last_leg = leg_before

    def _emit(self, events: list | None, done: Rep) -> list:
        self._index += 1
        self.live.count(self._t, done)
        return _add(events, Event(self._t, "rep", done.to_json()))

    def _fault(self, name: str, rep: _RepInProgress) -> Event:
        data = {"fault": name, "leg": LEG_NAMES[rep.leg], "rep": self._index + 1}
        return Event(self._t, "fault", data)

    def _compact(self) -> None:
        """Make room: keep the last lookback + longest rep, and all of a rep in progress
        (a rep longer than that keeps its latest part)."""
        keep_from = self._n - self._keep
        if self._rep is not None and self._rep.bottom > 0:
            keep_from = min(keep_from, self._rep.bottom)
        n = self._n - keep_from
        self._rows[:n] = self._rows[keep_from : self._n]
        self._n = n
        self._last_end = max(0, self._last_end - keep_from)
        self.bounds.shift(keep_from)
        if self._rep is not None:
            self._rep.bottom = max(0, self._rep.bottom - keep_from)

    def _show(self, geo: tuple, frame: tuple | None) -> None:
        live = self.live
        live.hip_flexion_deg[0], live.hip_flexion_deg[1] = geo[Geo.HIP_L], geo[Geo.HIP_R]
        work, down = geo[Geo.KNEE_W], geo[Geo.KNEE_D]
        right = geo[Geo.LEG] == 1.0
        live.knee_flexion_deg[0] = down if right else work
        live.knee_flexion_deg[1] = work if right else down
        live.baseline = BASELINE_KINDS[self.baseline.kind]
        if frame is not None:
            live.head = head_side(frame)


def _add(events: list | None, event: Event) -> list:
    if events is None:
        return [event]
    events.append(event)
    return events


@dataclass
class ClipResult:
    events: list[Event]
    reps: list[dict]


def judge_clip(
    keypoints: np.ndarray,
    landmarks: np.ndarray | None,
    fps: float,
    cfg: ExerciseConfig | None = None,
    trace: Trace | None = None,
) -> ClipResult:
    """Every event of a clip: the streaming judge driven frame by frame, then finished."""
    judge = StreamingJudge(fps, cfg, trace=trace)
    events: list[Event] = []
    update = judge.update
    for i in range(keypoints.shape[0]):
        out = update(i / fps, keypoints[i], None if landmarks is None else landmarks[i])
        if out:
            events += out
    events += judge.finish()
    return ClipResult(events, [e.data for e in events if e.type == "rep"])
