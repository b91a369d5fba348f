"""The athlete's own pelvis: where the hip keypoint sits with the legs down, and how far it
travels per degree of posterior tilt.

Both differ between athletes (exercise.md: hip travel per degree varies about twofold),
so both are learned from the athlete. The pelvis point weighs the two hips by their own
measured jitter; its resting place is averaged over every frame with the working leg low
(rests and the bottom of each rep, where the normal tilt is nil), many more frames than
rests alone. The travel per degree of the *normal* tilt comes from the athlete's recent
reps, each giving (travel at the top) / (normal tilt for that flexion): their mean in log
terms, each rep weighted by how well its jitter let it measure the ratio, with the nominal
`pelvis.radius_torso` as a prior good to a factor of 1.4, and reps far from the median left
out, so that an occasional rounded rep cannot move it. Excess tilt is judged against this
athlete's own normal, not against a textbook pelvis; a jittery camera leans on the prior
for longer, a clean one learns the athlete from the first rep.

The hip's path under tilt also differs (up for one athlete, toward the head for another),
but it is one path per athlete: travel is read along the direction learned from the
athlete's recent reps. Read along a known line, jitter averages out; the length of a
noisy 2D vector would grow with the jitter and make every rep look rounded.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

from edge.kinematics import PY as _PY
from edge.kinematics import Basis, expected_tilt
from edge.tracking import gain

# Working thigh below this: the normal tilt is nil and the pelvis at rest. Read from the
# resting pelvis point to the knee, not from the live hip: frames picked by the live hip's
# flexion would pick its jitter too, and shift the resting point along the hip's path.
SETTLED_DEG = 20.0
SETTLE_TAU_S = 1.0
JITTER_TAU_S = 3.0
RECENT_REPS = 9
MIN_NORMAL_TILT_DEG = 5.0  # reps with less normal tilt say little about its scale
SPREAD = 2.0  # no athlete's travel per degree is further than this from the nominal
PRIOR_PATH_DEG = 45.0  # the hip's path under tilt, degrees above the line toward the head
PATH_RANGE_DEG = (10.0, 80.0)  # every athlete's path lies within this
PRIOR_PATH_WEIGHT = 4.0  # the prior path counts as this many frames at the top of a lift
TYPICAL_TILT_DEG = 8.0  # the normal tilt near 90 deg of flexion
PRIOR_STEPS = 30.0  # the hips weigh alike until the jitter estimates have seen about this many
PRIOR_WEIGHT = 1.0 / 0.35**2  # the nominal scale, known to within a factor of 1.4
OUTLIER = math.log(1.8)  # a rep this far from the median ratio is not a normal one
MIN_REL_ERROR = 0.1  # no rep is taken as surer than this (the normal tilt itself varies)
SURE_REFERENCE_VAR = 0.25  # reps teach the scale once the resting point averages 4 frames


class PelvisScale:
    def __init__(self, fps: float, radius_torso: float):
        self._rest: list[float] | None = None  # each hip's resting place: lx, ly, rx, ry
        self._steps = 0.0  # frame-to-frame steps the jitter estimates have seen
        self.noise = math.nan  # per-axis jitter of the pelvis point, torso lengths
        self.weight = 0.5  # of the left hip in the pelvis point
        self._ratios: deque[tuple[float, float]] = deque(maxlen=RECENT_REPS)  # (log, weight)
        self._paths: deque[tuple[float, float, float]] = deque(maxlen=RECENT_REPS)
        self._var = [math.nan, math.nan]  # each hip's jitter variance per axis, torso^2
        self._last: tuple[float, float, float, float] | None = None
        self.reference_var = 1.0
        self.configure(fps, radius_torso)

    def configure(self, fps: float, radius_torso: float) -> None:
        self._gain = gain(SETTLE_TAU_S, fps)
        self._jitter_gain = gain(JITTER_TAU_S, fps)
        self._prior = radius_torso * math.pi / 180.0
        self._update()

    def _update(self) -> None:
        # travel per degree: a precision-weighted mean of log ratios with the nominal as a
        # prior, over the reps within OUTLIER of the median (a rounded rep is not normal)
        prior = math.log(self._prior)
        logs = [prior, *(r for r, _ in self._ratios)]
        centre = median(logs)
        kept = [(r, w) for r, w in self._ratios if abs(r - centre) <= OUTLIER]
        total = PRIOR_WEIGHT + sum(w for _, w in kept)
        self.per_deg = math.exp((PRIOR_WEIGHT * prior + sum(r * w for r, w in kept)) / total)
        prior = PRIOR_PATH_WEIGHT * TYPICAL_TILT_DEG * self._prior
        a = math.radians(PRIOR_PATH_DEG)
        toward_head = prior * math.cos(a) - sum(s[0] for s in self._paths)
        up = prior * math.sin(a) + sum(s[1] for s in self._paths)
        low, high = PATH_RANGE_DEG
        a = math.radians(min(max(math.degrees(math.atan2(up, toward_head)), low), high))
        self.path = (-math.cos(a), math.sin(a))

    def along_path(self, f: float, n: float) -> float:
        """A displacement (toward the feet, up; torso lengths) read along the hip's path."""
        return f * self.path[0] + n * self.path[1]

    def travel_se(self, weight: float) -> float:
        """Standard error of a lift's travel fitted with `weight` (its sum of progress
        squared), torso lengths: the pelvis point's jitter over the fit and the resting
        point's own; NaN while the jitter is unknown."""
        return self.noise * math.sqrt(1.0 / weight + self.reference_var)

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
            self._steps = min(self._steps + 1, 2.0 / g)  # an average's effective count
            # a few steps say little about which hip jitters more: until they are many,
            # both estimates lean on their pooled mean, and the hips weigh alike
            pooled = 0.5 * (self._var[0] + self._var[1])
            lean = PRIOR_STEPS / (self._steps + PRIOR_STEPS)
            left, right = ((1.0 - lean) * v + lean * pooled for v in self._var)
            if left + right > 0.0:
                self.weight = right / (left + right)
                self.noise = math.sqrt(left * right / (left + right))
        if not settled:
            return
        if self._rest is None:
            self._rest = list(hips)
            self.reference_var = 1.0
            return
        # each hip's resting place, so that the pelvis point's weights may change: a plain
        # mean over the first frames, then an exponential average that follows an athlete
        # who shifts on the mat; its variance (as a fraction of one frame's) follows
        g = max(self._gain, self.reference_var / (1.0 + self.reference_var))
        rest = self._rest
        for k in range(4):
            rest[k] += g * (hips[k] - rest[k])
        self.reference_var = (1.0 - g) ** 2 * self.reference_var + g * g

    def frame(self, frame: tuple | None) -> tuple | None:
        """The baseline's body frame with this resting pelvis point and hip weights."""
        if frame is None or self._rest is None:
            return frame
        w, (lx, ly, rx, ry) = self.weight, self._rest
        return (*frame[: Basis.HIP_X], w * lx + (1.0 - w) * rx, w * ly + (1.0 - w) * ry,
                *frame[Basis.HIP_Y + 1 : Basis.HIP_W], w, *frame[Basis.HIP_W + 1 :])  # fmt: skip

    def learn(self, travel: float, hip_flexion_deg: float,
              path_sums: tuple[float, float, float]) -> None:  # fmt: skip
        """One finished rep: its hip travel (torso lengths) at its true flexion, and the
        travel fit's sums: displacement weighted by progress per axis (summed over reps,
        it points along the path, however jittery each) and the fit's weight."""
        if self.reference_var > SURE_REFERENCE_VAR:
            return  # measured from a resting point still too uncertain to teach anything
        normal = float(expected_tilt(hip_flexion_deg, _PY))
        sf, sn, weight = path_sums
        if sf == sf and sn == sn:
            self._paths.append(path_sums)
        se = self.travel_se(weight) if weight > 0 else 0.0
        if travel == travel and normal >= MIN_NORMAL_TILT_DEG and se == se:
            ratio = min(max(travel / normal, self._prior / SPREAD), self._prior * SPREAD)
            # the ratio's relative error, so a jittery rep teaches less than a clean one
            rel = max(se / (self.per_deg * normal), MIN_REL_ERROR)
            self._ratios.append((math.log(ratio), 1.0 / (rel * rel)))
        self._update()
