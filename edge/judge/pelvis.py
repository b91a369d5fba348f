"""The athlete's own pelvis: where the hip keypoint sits with the legs down, and how far it
travels per degree of posterior tilt.

Both differ between athletes (exercise.md: hip travel per degree varies about twofold),
so both are learned from the athlete. The pelvis point weighs the two hips by their own
measured jitter; its resting place is averaged over every frame with the working leg low
(rests and the bottom of each rep, where the normal tilt is nil), many more frames than
rests alone. The travel per degree of the *normal* tilt is the median over the athlete's
recent reps of (travel at the top) / (normal tilt for that flexion), started from the
nominal `pelvis.radius_torso` as one pseudo-rep: a median that an occasional rounded rep
cannot move, so excess tilt is judged against this athlete's own normal, not against a
textbook pelvis.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

from edge.kinematics import PY as _PY
from edge.kinematics import Basis, expected_tilt
from edge.tracking import gain

SETTLED_DEG = 15.0  # working-leg flexion below which the normal tilt is nil
SETTLE_TAU_S = 1.0
JITTER_TAU_S = 3.0
PRIOR_REPS = 1
RECENT_REPS = 9
MIN_NORMAL_TILT_DEG = 5.0  # reps with less normal tilt say little about its scale
SPREAD = 2.0  # no athlete's travel per degree is further than this from the nominal


class PelvisScale:
    def __init__(self, fps: float, radius_torso: float):
        self._hip: list[float] | None = None
        self.noise = math.nan  # per-axis jitter of the pelvis point, torso lengths
        self.weight = 0.5  # of the left hip in the pelvis point
        self._ratios: deque[float] = deque(maxlen=RECENT_REPS)
        self._var = [math.nan, math.nan]  # each hip's jitter variance per axis, torso^2
        self._last: tuple[float, float, float, float] | None = None
        self._first = 1.0  # weight the resting hip still gives its first frame, squared
        self.reference_var = 1.0
        self.configure(fps, radius_torso)

    def configure(self, fps: float, radius_torso: float) -> None:
        self._gain = g = gain(SETTLE_TAU_S, fps)
        self._jitter_gain = gain(JITTER_TAU_S, fps)
        self.reference_var = g / (2.0 - g)  # an exponential average's variance, per frame's
        self._prior = radius_torso * math.pi / 180.0
        self._update()

    def _update(self) -> None:
        self.per_deg = median([self._prior] * PRIOR_REPS + list(self._ratios))

    def observe(self, xs: list, ys: list, torso: float, settled: bool) -> None:
        """Every judged frame with both hips seen: each hip's frame-to-frame step feeds its
        jitter estimate (white jitter of sigma per axis makes steps of variance 2 sigma^2
        per axis; the hip's own slow motion only makes it cautious), which weighs the two
        hips into the pelvis point (the far hip jitters more). With both legs down
        (`settled`) the pelvis point is also averaged into the resting one."""
        hips = (xs[2], ys[2], xs[3], ys[3])
        last = self._last
        self._last = hips
        if last is not None:
            g = self._jitter_gain
            for k in (0, 1):
                dx, dy = hips[2 * k] - last[2 * k], hips[2 * k + 1] - last[2 * k + 1]
                var = 0.25 * (dx * dx + dy * dy) / (torso * torso)
                old = self._var[k]
                self._var[k] = var if old != old else old + g * (var - old)
            left, right = self._var
            if left + right > 0.0:
                self.weight = right / (left + right)
                self.noise = math.sqrt(left * right / (left + right))
        if not settled:
            return
        w = self.weight
        hx, hy = w * xs[2] + (1.0 - w) * xs[3], w * ys[2] + (1.0 - w) * ys[3]
        g = self._gain
        if self._hip is None:
            self._hip = [hx, hy]
            self._first = 1.0
        else:
            self._hip[0] += g * (hx - self._hip[0])
            self._hip[1] += g * (hy - self._hip[1])
            self._first *= (1.0 - g) ** 2
        # the resting point's variance, as a fraction of one frame's: an average started
        # from one frame, then exponential (what a few frames into a session it still is)
        steady = g / (2.0 - g)
        self.reference_var = self._first + steady * (1.0 - self._first)

    def frame(self, frame: tuple | None) -> tuple | None:
        """The baseline's body frame with this resting pelvis point and hip weights."""
        if frame is None or self._hip is None:
            return frame
        return (*frame[: Basis.HIP_X], *self._hip, *frame[Basis.HIP_Y + 1 : Basis.HIP_W],
                self.weight, *frame[Basis.HIP_W + 1 :])  # fmt: skip

    def learn(self, travel: float, hip_flexion_deg: float) -> None:
        """One finished rep: its hip travel (torso lengths) at its true flexion."""
        normal = float(expected_tilt(hip_flexion_deg, _PY))
        if travel == travel and normal >= MIN_NORMAL_TILT_DEG:
            ratio = travel / normal
            self._ratios.append(min(max(ratio, self._prior / SPREAD), self._prior * SPREAD))
            self._update()
