"""From raw keypoints to the points and resting pose the judge measures against.

Three recursions, each written once and run frame by frame (live, and for a whole clip by
driving the same objects): the confidence gate that holds short gaps, the smoothed pose
whose speed says "still", and the resting baseline.

Every time constant is in seconds, so no test gets stricter as the frame rate rises: a
speed read from an exponential average with time constant tau has noise of about
sigma / tau whatever the frame rate, where a frame-to-frame difference has sigma * fps.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from edge.config.exercise import ExerciseConfig
from edge.kinematics import (
    COCO_POINTS,
    HEELS,
    N_POINTS,
    PY,
    basis,
    pair_legs,
    pose_checks,
    rest_sample,
)

NO_BASELINE, PROVISIONAL, RESTING = 0, 1, 2
# x, y and visibility of each BlazePose heel, as flat indices into a (33, 4) landmark array
HEEL_FIELDS = (HEELS[:, None] * 4 + np.array([0, 1, 3])).ravel()
BASELINE_KINDS = ("none", "provisional", "rest")


def gain(tau_s: float, fps: float) -> float:
    """Per-frame gain of an exponential average with time constant `tau_s` at `fps`."""
    return 1.0 if tau_s <= 0.0 else 1.0 - math.exp(-1.0 / (tau_s * fps))


class PointGate:
    """Keypoints scoring below `min_score` are unseen; unseen points keep their last
    position for `max_gap_s`, then become NaN. Preallocated, no per-frame arrays."""

    def __init__(self, cfg: ExerciseConfig):
        self.configure(cfg)
        self._pts = np.zeros((N_POINTS, 3))
        self._held = np.full((N_POINTS, 2), np.nan)
        self._seen_t = np.full(N_POINTS, -np.inf)
        self._valid = np.zeros(N_POINTS, dtype=bool)
        self._finite = np.zeros((N_POINTS, 2), dtype=bool)
        self._age = np.zeros(N_POINTS)
        self._fresh: list[bool] = [False] * N_POINTS

    def configure(self, cfg: ExerciseConfig) -> None:
        self.min_score = cfg.tracking.min_score
        self.max_gap_s = cfg.tracking.max_gap_s

    def update(self, t: float, keypoints: np.ndarray, landmarks: np.ndarray | None):
        """(17, 3) COCO keypoints (+ (33, 4) BlazePose landmarks for the heels) ->
        (xs, ys, any point seen): lists of the 10 body points, NaN where lost, the legs'
        joints paired by geometry (`kinematics.pair_legs`)."""
        pts = self._pts
        pts[:8] = keypoints[COCO_POINTS]
        if landmarks is None:
            pts[8:] = pts[6:8]
        else:
            pts[8:] = landmarks.reshape(-1)[HEEL_FIELDS].reshape(2, 3)
        valid, finite = self._valid, self._finite
        np.greater_equal(pts[:, 2], self.min_score, out=valid)
        np.isfinite(pts[:, :2], out=finite)
        valid &= finite[:, 0]
        valid &= finite[:, 1]
        held = self._held
        np.copyto(held, pts[:, :2], where=valid[:, None])
        np.copyto(self._seen_t, t, where=valid)
        xs, ys = held.T.tolist()
        if self._seen_t.min() < t - self.max_gap_s:  # some point unseen for too long
            np.subtract(t, self._seen_t, out=self._age)
            for i in np.flatnonzero(self._age > self.max_gap_s).tolist():
                xs[i] = ys[i] = math.nan
        pair_legs(xs, ys, PY)
        self._fresh = fresh = valid.tolist()
        return xs, ys, any(fresh)

    def fresh(self, point: int) -> bool:
        """Was body point `point` seen on the last frame (not only held)?"""
        return self._fresh[point]

    def fresh_hips(self) -> bool:
        """Were both hips seen on the last frame?"""
        return self._fresh[2] and self._fresh[3]

    def fresh_trunk_and_knees(self) -> bool:
        """Were the shoulders, hips and knees all seen on the last frame?"""
        return all(self._fresh[:6])


class Baseline:
    """The athlete's resting pose, as a body frame (`kinematics.Basis`) or None.

    Every check reads the pose smoothed over `still_smooth_s`, and every keypoint it
    reads must be seen, not held. A rest is lying with the legs long, together and still,
    for `settle_s`; a rest frame is averaged in (with `time_constant_s`) only once the rest
    has lasted `still_smooth_s` beyond it, so the smoothing's lag at the start of a lift
    never reaches the baseline. Until the first rest a *provisional* baseline stands in, so an
    athlete who never lies still still gets reps: the live trunk line from the first lying
    frame (the box may come on mid-tuck), replaced by the first frame with both legs long
    and then averaged over such frames. The first real rest replaces it.
    """

    def __init__(self, fps: float, cfg: ExerciseConfig):
        self.fps = fps
        self.configure(cfg)
        self.kind = NO_BASELINE
        self.frame: tuple | None = None
        self.resting = False
        self.legs_long = False
        self._mean: list[float] = []
        self._rest_since: float | None = None
        self.seen_long = False  # ever lying with a leg long: reps can start from here
        self._fresh = False  # the provisional baseline has had a frame with both legs long
        self._xy = np.zeros((2, 8))  # x and y of shoulders, hips, knees, ankles
        self._smooth = np.full((2, 8), np.nan)
        self._d = np.zeros((2, 8))
        self._vel = np.zeros((2, 8))
        self._speed = np.zeros(6)
        self._pending: deque[tuple[float, tuple]] = deque()

    def configure(self, cfg: ExerciseConfig) -> None:
        b = cfg.baseline
        self.cfg = cfg
        self._gain = gain(b.time_constant_s, self.fps)
        self._still_gain = gain(b.still_smooth_s, self.fps)
        self._still = b.still_max_torso_per_s
        self._settle = b.settle_s
        self._delay = b.still_smooth_s

    def update(self, t: float, xs: list, ys: list, fresh: bool) -> bool:
        """Feed one frame's gated points (`fresh`: shoulders, hips and knees all seen on
        this frame, none only held); returns whether the athlete is lying down."""
        b, tr = self.cfg.baseline, self.cfg.tracking
        xy, smooth, d, vel = self._xy, self._smooth, self._d, self._vel
        xy[...] = (xs[:8], ys[:8])
        a = self._still_gain
        np.subtract(xy, smooth, out=d)
        if np.isfinite(d.sum()):  # every point and its average known: the usual frame
            d *= a
            smooth += d
            # velocity: the average's own step, averaged again, so its noise falls with
            # the frame rate instead of rising with it
            d *= self.fps
            d -= vel
            d *= a
            vel += d
        else:
            self._partial(xy, d, a)
        speed = np.hypot(vel[0, :6], vel[1, :6], out=self._speed)
        px, py = smooth.tolist()
        px += xs[8:]
        py += ys[8:]
        lying, one_long, long, rest_pose, torso = pose_checks(
            px, py, tr.lying_max_deg, b.rest_max_deg, b.legs_apart_max_deg, PY
        )
        rest = fresh and rest_pose and speed.max() <= self._still * torso
        self.resting = rest
        self.legs_long = bool(long)
        self.seen_long = self.seen_long or bool(one_long)
        if not rest:
            self._rest_since = None
            self._pending.clear()  # the smoothed pose was late to see the rest end
        elif self._rest_since is None:
            self._rest_since = t
        if rest and t - self._rest_since >= self._settle:
            # a rest frame counts once the rest has outlasted the smoothing after it
            pending = self._pending
            pending.append((t, rest_sample(xs, ys, False, PY)))
            while t - pending[0][0] >= self._delay:
                self._add(pending.popleft()[1], RESTING)
        elif self.kind == PROVISIONAL and long:
            if not self._fresh:  # the first frame with both legs long starts afresh
                self._fresh = True
                self.kind = NO_BASELINE
            self._add(rest_sample(xs, ys, True, PY), PROVISIONAL)
        elif self.kind == NO_BASELINE and lying:
            self._fresh = bool(long)
            self._add(rest_sample(xs, ys, True, PY), PROVISIONAL)
        return bool(lying)

    def _partial(self, xy: np.ndarray, d: np.ndarray, a: float) -> None:
        """The smoothing step when a point or its average is unknown: unseen points keep
        their average and speed, points seen for the first time start from themselves."""
        seen = np.isfinite(d[0]) & np.isfinite(d[1])
        d *= a
        np.add(self._smooth, d, out=self._smooth, where=seen)
        d *= self.fps
        d -= self._vel
        d *= a
        np.add(self._vel, d, out=self._vel, where=seen)
        new = np.isnan(self._smooth[0])
        np.copyto(self._smooth, xy, where=new)

    def _add(self, sample: tuple, kind: int) -> None:
        if not all(v == v for v in sample) or sample[-1] <= 0.0:
            return
        if kind != self.kind:  # a first sample, or the first rest replacing a provisional
            self._mean = list(sample)
            self.kind = kind
        else:
            g = self._gain
            self._mean = [m + g * (s - m) for m, s in zip(self._mean, sample, strict=True)]
        self.frame = basis(self._mean, PY)
