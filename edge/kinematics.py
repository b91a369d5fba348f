"""Angles of a lying athlete from 2D keypoints: cleaning, baseline and per-frame features.

The geometry is written once, on coordinate sequences: `xs[i]`, `ys[i]` are point i's x and
y. For a whole clip they are (T,) arrays (`xp=NUM`, numpy ufuncs, vectorized over frames);
for one live frame they are Python floats (`xp=PY`, the math module), which is several
times faster than numpy on a single frame. Same formulas, same numbers. Only the recursions
(hold-last-value, label-swap parity, smoothing, the resting baseline) need a streaming twin
next to their batch scan: `Cleaner`/`clean_track` and `BaselineTracker`/`baseline_track`.

Conventions (exercise.md): angles are measured in the *body frame*: x runs along the floor
line from head to feet ("caudal"), y points away from the floor. Hip flexion is the thigh
against the athlete's resting trunk line, corrected for the posterior pelvic tilt inferred
from the hip keypoint moving up and toward the head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.config.exercise import ExerciseConfig
from edge.filters import OneEuroStream, ema_scan, one_euro, smoothing_alpha
from edge.keypoints import (
    BP_L_HEEL,
    BP_R_HEEL,
    L_ANKLE,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
)

# The body points the judge uses, left/right interleaved. FOOT is the heel when BlazePose
# gives one (heel vs knee height is what "shin parallel to the floor" means), else the ankle.
SH, HIP, KNEE, ANKLE, FOOT = (0, 1), (2, 3), (4, 5), (6, 7), (8, 9)
N_POINTS = 10
COCO_POINTS = np.array([L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE])
HEELS = np.array([BP_L_HEEL, BP_R_HEEL])
LEG_NAMES = ("left", "right")
# Joint pairs whose labels a pose model swaps in side views; hips always overlap, so they
# carry no evidence and keep the model's labels.
SWAP_PAIRS = np.array([KNEE, ANKLE, FOOT])

# Baseline (resting pose), frame pixels: mid-shoulder, mid-hip, each foot, torso length.
N_BASE = 9
# Basis = baseline + floor direction f (head -> feet), up normal n, resting trunk angle.
B_F, B_N, B_THETA0 = slice(9, 11), slice(11, 13), 13
N_BASIS = 14

# Per-frame feature row (also the judge's ring-buffer row). F_T is the frame time.
(F_T, F_HIP_L, F_HIP_R, F_KNEE_L, F_KNEE_R, F_SHANK_L, F_SHANK_R, F_THIGH_L, F_THIGH_R,
 F_FOOT_L, F_FOOT_R, F_TILT, F_EXCESS, F_SHOULDER, F_TRUNK) = range(15)  # fmt: skip
N_FEATURES = 15
F_HIP = (F_HIP_L, F_HIP_R)
F_KNEE = (F_KNEE_L, F_KNEE_R)
F_FOOT = (F_FOOT_L, F_FOOT_R)

# Raw (baseline-free) checks.
C_LYING, C_RESTING, C_TRUNK, C_LEG = range(4)


class NUM:
    """Math for whole-clip arrays."""

    atan2 = staticmethod(np.arctan2)
    hypot = staticmethod(np.hypot)
    degrees = staticmethod(np.degrees)
    fmax = staticmethod(np.fmax)
    fmin = staticmethod(np.fmin)
    abs = staticmethod(np.abs)
    copysign = staticmethod(np.copysign)

    @staticmethod
    def pos(a):
        return np.maximum(a, 0.0)


class PY:
    """The same math for one frame of Python floats (NaN-aware like numpy's)."""

    atan2 = staticmethod(math.atan2)
    hypot = staticmethod(math.hypot)
    degrees = staticmethod(math.degrees)
    abs = staticmethod(abs)
    copysign = staticmethod(math.copysign)

    @staticmethod
    def fmax(a: float, b: float) -> float:
        if a != a:
            return b
        return a if b != b or a >= b else b

    @staticmethod
    def fmin(a: float, b: float) -> float:
        if a != a:
            return b
        return a if b != b or a <= b else b

    @staticmethod
    def pos(a: float) -> float:
        return 0.0 if a < 0.0 else a


def body_points(keypoints: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
    """(..., 17, 3) COCO keypoints (+ optional (..., 33, 4) BlazePose) -> (..., 10, 3)."""
    out = np.empty((*keypoints.shape[:-2], N_POINTS, 3))
    out[..., :8, :] = keypoints[..., COCO_POINTS, :]
    if landmarks is None:
        out[..., 8:, :] = out[..., 6:8, :]
    else:
        out[..., 8:, :2] = landmarks[..., HEELS, :2]
        out[..., 8:, 2] = landmarks[..., HEELS, 3]
    return out


def mid(a, b, xp=NUM):
    """Mean of two coordinates, or whichever one is known."""
    return 0.5 * (xp.fmax(a, b) + xp.fmin(a, b))


def wrap(deg, low: float = -180.0):
    """Wrap angles into [low, low + 360)."""
    return (deg - low) % 360.0 + low


def angle_between(ux, uy, vx, vy, xp=NUM):
    """Unsigned angle in degrees between vectors u and v."""
    return xp.degrees(xp.abs(xp.atan2(ux * vy - uy * vx, ux * vx + uy * vy)))


def incline(vx, vy, xp=NUM):
    """Angle in degrees between a vector and the image horizontal, in [0, 90]."""
    return xp.degrees(xp.atan2(xp.abs(vy), xp.abs(vx)))


def body_angle(vx, vy, fx, fy, nx, ny, xp=NUM):
    """Direction of a vector in the body frame (0 = toward the feet, 90 = straight up)."""
    return xp.degrees(xp.atan2(vx * nx + vy * ny, vx * fx + vy * fy))


def expected_tilt(hip_flexion, xp=NUM):
    """Normal posterior pelvic tilt for a hip flexion: ~4 deg at 60, ~11 deg at 128."""
    return xp.pos(4.0 + (hip_flexion - 60.0) * (7.0 / 68.0))


def trunk_mids(xs, ys, xp=NUM):
    """Mid-shoulder and mid-hip: (sx, sy, hx, hy)."""
    return (mid(xs[0], xs[1], xp), mid(ys[0], ys[1], xp),
            mid(xs[2], xs[3], xp), mid(ys[2], ys[3], xp))  # fmt: skip


# ---------------------------------------------------------------- raw checks (no baseline)


def raw_checks(xs, ys, vxs, vys, cfg: ExerciseConfig, xp=NUM):
    """Baseline-free checks: (lying, resting, trunk seen, a leg seen).

    lying: the trunk, or the shoulder-to-ankle line (a tuck lifts the trunk but not that
    line), is within `lying_max_deg` of the image horizontal. resting: lying, both legs long
    and side by side (thighs in line with the live trunk and near the floor, knees straight;
    a leg hovering between reps is not at rest) and the body still; the baseline learns
    only from such frames. `vxs`, `vys` are point velocities in px/s.
    """
    base, lim = cfg.baseline, cfg.tracking.lying_max_deg
    sx, sy, hx, hy = trunk_mids(xs, ys, xp)
    tx, ty = sx - hx, sy - hy
    torso = xp.hypot(tx, ty)
    ax, ay = mid(xs[6], xs[7], xp), mid(ys[6], ys[7], xp)
    lying = (incline(tx, ty, xp) <= lim) | (incline(ax - sx, ay - sy, xp) <= lim)
    rest = lying
    thighs = []
    for leg in (0, 1):
        thx, thy = xs[4 + leg] - xs[2 + leg], ys[4 + leg] - ys[2 + leg]
        shx, shy = xs[6 + leg] - xs[4 + leg], ys[6 + leg] - ys[4 + leg]
        rest = (rest & (incline(thx, thy, xp) <= lim)
                & (angle_between(-tx, -ty, thx, thy, xp) <= base.rest_max_deg)
                & (angle_between(thx, thy, shx, shy, xp) <= base.rest_max_deg))  # fmt: skip
        thighs.append((thx, thy))
    (ux, uy), (vx, vy) = thighs
    rest = rest & (angle_between(ux, uy, vx, vy, xp) <= base.legs_apart_max_deg)
    fast = base.still_max_torso_per_s * torso
    for i in range(6):
        rest = rest & (xp.hypot(vxs[i], vys[i]) <= fast)
    leg_seen = ((ux == ux) & (uy == uy)) | ((vx == vx) & (vy == vy))
    return lying, rest, torso == torso, leg_seen


# ---------------------------------------------------------------- baseline and features


def baseline_sample(xs, ys, xp=NUM) -> tuple:
    """The quantities the resting baseline averages (N_BASE values)."""
    sx, sy, hx, hy = trunk_mids(xs, ys, xp)
    return sx, sy, hx, hy, xs[8], ys[8], xs[9], ys[9], xp.hypot(sx - hx, sy - hy)


def basis(b, xp=NUM) -> tuple:
    """Resting baseline (N_BASE values) -> body frame basis (N_BASIS values).

    The floor line runs from the resting shoulders to the resting feet; the up normal is
    the perpendicular that points up the image (the camera is never upside down).
    """
    fx = 0.5 * (b[4] + b[6]) - b[0]
    fy = 0.5 * (b[5] + b[7]) - b[1]
    norm = xp.hypot(fx, fy)
    fx, fy = fx / norm, fy / norm
    side = xp.copysign(1.0, fx)
    nx, ny = fy * side, -fx * side
    theta0 = body_angle(b[2] - b[0], b[3] - b[1], fx, fy, nx, ny, xp)
    return (*b[:N_BASE], fx, fy, nx, ny, theta0)


def features(xs, ys, fr, cfg: ExerciseConfig, xp=NUM) -> tuple:
    """Per-frame angles and pelvis proxies against the basis `fr` (N_BASIS values).

    Returns the feature row without F_T (N_FEATURES - 1 values): degrees, and
    displacements in resting torso lengths. NaN where a point or the baseline is unknown.
    """
    fx, fy, nx, ny, theta0, torso = fr[9], fr[10], fr[11], fr[12], fr[13], fr[8]
    sx, sy, hx, hy = trunk_mids(xs, ys, xp)
    dx, dy = hx - fr[2], hy - fr[3]
    pelvis = cfg.pelvis
    d = math.radians(pelvis.slide_direction_deg)
    slide = (dx * fx + dy * fy) * math.cos(d) + (dx * nx + dy * ny) * math.sin(d)
    tilt = xp.degrees(slide / (torso * pelvis.radius_torso))
    tilt_pos = xp.pos(tilt)
    hip, knee, shank, thigh, foot = [], [], [], [], []
    for leg in (0, 1):
        h, k, a, f = 2 + leg, 4 + leg, 6 + leg, 8 + leg
        th = body_angle(xs[k] - xs[h], ys[k] - ys[h], fx, fy, nx, ny, xp)
        sh = body_angle(xs[a] - xs[k], ys[a] - ys[k], fx, fy, nx, ny, xp)
        hip.append(wrap(th - theta0, -90.0) - tilt_pos)
        knee.append(wrap(th - sh))
        shank.append(body_angle(xs[f] - xs[k], ys[f] - ys[k], fx, fy, nx, ny, xp))
        thigh.append(th)
        b = 4 + 2 * leg
        foot.append(((xs[f] - fr[b]) * nx + (ys[f] - fr[b + 1]) * ny) / torso)
    excess = tilt - expected_tilt(xp.fmax(hip[0], hip[1]), xp)
    shoulder = ((sx - fr[0]) * nx + (sy - fr[1]) * ny) / torso
    trunk = wrap(body_angle(hx - sx, hy - sy, fx, fy, nx, ny, xp) - theta0)
    return (*hip, *knee, *shank, *thigh, *foot, tilt, excess, shoulder, trunk)


def view(frame) -> tuple[str, str]:
    """(where the head is in the image, which side of the athlete faces the camera).

    The floor line of the basis runs head -> feet. Lying on the back with the head on the
    image's left, the athlete's right side faces the camera, and the other way round.
    """
    head_left = frame[9] > 0
    return ("left", "right") if head_left else ("right", "left")


def _columns(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, P, 2) -> xs, ys as (P, T) arrays (row i = point i over the clip)."""
    return points[..., 0].T, points[..., 1].T


def clip_features(points: np.ndarray, frame: np.ndarray, cfg: ExerciseConfig) -> np.ndarray:
    """`features` over a whole clip: (T, 10, 2) points, (T, N_BASIS) basis -> (T, 15)."""
    xs, ys = _columns(points)
    out = np.empty((points.shape[0], N_FEATURES))
    out[:, 1:] = np.stack(features(xs, ys, frame.T, cfg), axis=-1)
    return out


def clip_checks(points: np.ndarray, speed: np.ndarray, cfg: ExerciseConfig) -> np.ndarray:
    """`raw_checks` over a whole clip -> (T, 4) bool."""
    xs, ys = _columns(points)
    vxs, vys = _columns(speed)
    return np.stack(np.broadcast_arrays(*raw_checks(xs, ys, vxs, vys, cfg)), axis=-1)


# ---------------------------------------------------------------- cleaning, batch


@dataclass
class CleanTrack:
    points: np.ndarray  # (T, 10, 2) smoothed, NaN where lost for longer than the gap limit
    speed: np.ndarray  # (T, 10, 2) filtered velocity, px/s
    present: np.ndarray  # (T,) any body point seen this frame


def last_true_index(mask: np.ndarray) -> np.ndarray:
    """For every index along axis 0, the last index <= it where mask is true, else -1."""
    idx = np.arange(mask.shape[0]).reshape((-1,) + (1,) * (mask.ndim - 1))
    return np.maximum.accumulate(np.where(mask, idx, -1), axis=0)


def hold_last(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward-fill invalid samples of (T, P, 2) along axis 0: (held, index of last valid)."""
    last = last_true_index(valid)
    width = values.shape[1]
    flat = values.reshape(-1, values.shape[2])
    held = flat[np.maximum(last, 0) * width + np.arange(width)]
    held[last < 0] = np.nan
    return held, last


def swap_costs(ax, ay, bx, by, pax, pay, pbx, pby):
    """(same, cross): squared motion of a left/right pair a, b since the previous frame p,
    with the labels kept or swapped."""
    same = (ax - pax) ** 2 + (ay - pay) ** 2 + (bx - pbx) ** 2 + (by - pby) ** 2
    cross = (ax - pbx) ** 2 + (ay - pby) ** 2 + (bx - pax) ** 2 + (by - pay) ** 2
    return same, cross


def swap_parity(held: np.ndarray, cfg: ExerciseConfig) -> tuple[np.ndarray, np.ndarray]:
    """Label swaps from `held` (T, 10, 2), each pair held where last seen together.

    Returns (parity, apart), both (T, 3) for SWAP_PAIRS. A pair's parity toggles when its
    motion since the previous frame is far better explained by a swap; where the pair
    overlaps the evidence is void and the model's labels are trusted again, so one wrong
    toggle cannot last forever. `apart`: the pair was apart in the previous frame, so a
    lone joint of it cannot be trusted with its label.
    """
    tr = cfg.tracking
    xs, ys = _columns(held)
    sx, sy, hx, hy = trunk_mids(xs, ys)
    near = tr.swap_overlap_torso * np.hypot(sx - hx, sy - hy)
    parity = np.zeros((held.shape[0], len(SWAP_PAIRS)), dtype=bool)
    apart = np.zeros_like(parity)
    for k, (i, j) in enumerate(SWAP_PAIRS):
        same, cross = swap_costs(xs[i][1:], ys[i][1:], xs[j][1:], ys[j][1:],
                                 xs[i][:-1], ys[i][:-1], xs[j][:-1], ys[j][:-1])  # fmt: skip
        toggle = np.concatenate([[False], cross < tr.swap_ratio * same])
        gap = np.hypot(xs[i] - xs[j], ys[i] - ys[j])
        overlap = gap < near
        apart[1:, k] = (gap >= near)[:-1]
        count = np.cumsum(toggle & ~overlap)
        reset = last_true_index(overlap)
        base = np.where(reset >= 0, count[np.maximum(reset, 0)], 0)
        parity[:, k] = (count - base) % 2 == 1
    return parity, apart


def apply_swaps(xy: np.ndarray, valid: np.ndarray, parity: np.ndarray) -> None:
    """Swap each pair's labels where its parity is set, in place (positions, validity)."""
    for k, (i, j) in enumerate(SWAP_PAIRS):
        m = np.flatnonzero(parity[:, k])
        xy[m, i], xy[m, j] = xy[m, j], xy[m, i]  # fancy indexing copies: a safe swap
        valid[m, i], valid[m, j] = valid[m, j], valid[m, i]


def clean_track(points: np.ndarray, times: np.ndarray, fps: float,
                cfg: ExerciseConfig) -> CleanTrack:  # fmt: skip
    """Confidence gate, hold short gaps, repair label swaps, One Euro smooth: (T, 10, 3).

    For the swap evidence both joints of a left/right pair are held together when either
    is unseen, so it always compares positions labelled at the same moment. A lone joint
    of a pair that is apart is not trusted (its label could be the other leg's). Each
    frame's observations are relabelled with that frame's parity before any holding.
    """
    tr = cfg.tracking
    xy = points[..., :2].astype(np.float64)
    valid = (points[..., 2] >= tr.min_score) & np.isfinite(xy).all(-1)
    present = valid.any(-1)
    fresh = valid[:, SWAP_PAIRS].all(-1)
    paired = valid.copy()
    paired[:, SWAP_PAIRS] = fresh[..., None]
    parity, apart = swap_parity(hold_last(xy, paired)[0], cfg)
    valid[:, SWAP_PAIRS] &= ~apart[..., None] | fresh[..., None]
    apply_swaps(xy, valid, parity)
    held, last = hold_last(xy, valid)
    smooth, speed = one_euro(held, fps, tr.min_cutoff_hz, tr.beta, tr.d_cutoff_hz)
    age = np.where(last >= 0, times[:, None] - times[np.maximum(last, 0)], np.inf)
    smooth[age > tr.max_gap_s] = np.nan
    return CleanTrack(points=smooth, speed=speed, present=present)


# ---------------------------------------------------------------- cleaning, streaming


class Cleaner:
    """`clean_track` one frame at a time: Python floats for the per-point logic, one
    preallocated numpy filter for the 20 coordinates."""

    def __init__(self, fps: float, cfg: ExerciseConfig):
        tr = cfg.tracking
        self.cfg = cfg
        nan = math.nan
        self.hx, self.hy = [nan] * N_POINTS, [nan] * N_POINTS  # held positions
        self.last_t = [-math.inf] * N_POINTS
        self.qx, self.qy = [nan] * N_POINTS, [nan] * N_POINTS  # held by pair, for swaps
        self.parity = [False] * len(SWAP_PAIRS)
        self.pairs = [(int(i), int(j)) for i, j in SWAP_PAIRS]
        self.order = list(range(N_POINTS))
        self.filter = OneEuroStream((2, N_POINTS), fps, tr.min_cutoff_hz, tr.beta, tr.d_cutoff_hz)
        self._x = np.zeros((2, N_POINTS))
        self.xs: list[float] = [nan] * N_POINTS  # smoothed output, NaN where lost
        self.ys: list[float] = [nan] * N_POINTS
        self.vxs: list[float] = [0.0] * N_POINTS  # filtered velocity, px/s
        self.vys: list[float] = [0.0] * N_POINTS
        self._all_seen = False

    def update(self, t: float, pts: list) -> bool:
        """Feed one frame of 10 [x, y, score] lists; returns whether any point was seen."""
        tr = self.cfg.tracking
        lo, inf = tr.min_score, math.inf
        valid = [p[2] >= lo and -inf < p[0] < inf and -inf < p[1] < inf for p in pts]
        qx, qy = self.qx, self.qy
        px, py = qx[:], qy[:]
        sx, sy, mx, my = trunk_mids(px, py, PY)
        near_prev = tr.swap_overlap_torso * math.hypot(sx - mx, sy - my)
        for i in range(4):  # shoulders and hips, for the torso scale
            if valid[i]:
                qx[i], qy[i] = pts[i][0], pts[i][1]
        sx, sy, mx, my = trunk_mids(qx, qy, PY)
        near = tr.swap_overlap_torso * math.hypot(sx - mx, sy - my)
        order = self.order
        for k, (i, j) in enumerate(self.pairs):
            if valid[i] and valid[j]:
                qx[i], qy[i], qx[j], qy[j] = pts[i][0], pts[i][1], pts[j][0], pts[j][1]
            elif math.hypot(px[i] - px[j], py[i] - py[j]) >= near_prev:
                valid[i] = valid[j] = False
            same, cross = swap_costs(qx[i], qy[i], qx[j], qy[j], px[i], py[i], px[j], py[j])
            if math.hypot(qx[i] - qx[j], qy[i] - qy[j]) < near:
                self.parity[k] = False
            elif cross < tr.swap_ratio * same:
                self.parity[k] = not self.parity[k]
            order[i], order[j] = (j, i) if self.parity[k] else (i, j)
        hx, hy, ft = self.hx, self.hy, self.last_t
        first = []
        for i, src in enumerate(order):
            if valid[src]:
                if hx[i] != hx[i]:
                    first.append(i)
                hx[i], hy[i] = pts[src][0], pts[src][1]
                ft[i] = t
        x = self._x
        x[0], x[1] = hx, hy
        flt = self.filter
        if not self._all_seen:
            np.nan_to_num(x, copy=False, nan=0.0)
            for i in first:  # a point seen for the first time starts the filter there
                flt.value[:, i] = flt.prev[:, i] = x[:, i]
            self._all_seen = all(v == v for v in hx)
        value = flt.update(x)
        self.xs, self.ys = value.tolist()
        self.vxs, self.vys = flt.speed.tolist()
        gap = tr.max_gap_s
        for i in range(N_POINTS):
            if t - ft[i] > gap:
                self.xs[i] = self.ys[i] = math.nan
        return any(valid)


# ---------------------------------------------------------------- resting baseline


def run_start(mask: np.ndarray) -> np.ndarray:
    """Index where the current run of True started (meaningful only where mask is True)."""
    starts = mask.copy()
    starts[1:] &= ~mask[:-1]
    return np.maximum(last_true_index(starts), 0)


def rest_gate(resting: np.ndarray, times: np.ndarray, settle_s: float) -> np.ndarray:
    """Resting frames that belong to a resting spell at least `settle_s` long so far."""
    return resting & (times - times[run_start(resting)] >= settle_s)


def _baseline_alpha(fps: float, cfg: ExerciseConfig) -> float:
    return smoothing_alpha(1.0 / (2.0 * math.pi * cfg.baseline.time_constant_s), fps)


def baseline_track(points: np.ndarray, gate: np.ndarray, fps: float,
                   cfg: ExerciseConfig) -> np.ndarray:  # fmt: skip
    """Body-frame basis for every frame (T, N_BASIS): the resting pose averaged over gated
    frames (an EMA), NaN before the first one."""
    sample = np.stack(baseline_sample(*_columns(points)), axis=-1)
    gate = gate & np.isfinite(sample).all(-1)
    gain = np.where(gate, _baseline_alpha(fps, cfg), 0.0)
    seen = np.cumsum(gate)
    gain[gate & (seen == 1)] = 1.0
    base = ema_scan(gain[:, None], np.where(gate[:, None], sample, 0.0))
    base[seen == 0] = np.nan
    return np.stack(basis(base.T), axis=-1)


class BaselineTracker:
    """`baseline_track` one frame at a time; `frame` is the current basis (or None)."""

    def __init__(self, fps: float, cfg: ExerciseConfig):
        self.configure(fps, cfg)
        self.base: list[float] = []
        self.frame: tuple | None = None
        self._rest_since: float | None = None

    def configure(self, fps: float, cfg: ExerciseConfig) -> None:
        self.alpha = _baseline_alpha(fps, cfg)
        self.settle_s = cfg.baseline.settle_s

    def update(self, t: float, xs: list, ys: list, resting: bool) -> None:
        if not resting:
            self._rest_since = None
            return
        if self._rest_since is None:
            self._rest_since = t
        if t - self._rest_since < self.settle_s:
            return
        sample = baseline_sample(xs, ys, PY)
        if not all(v == v for v in sample):
            return
        if self.base:
            a = self.alpha
            self.base = [b + a * (s - b) for b, s in zip(self.base, sample, strict=True)]
        else:
            self.base = list(sample)
        self.frame = basis(self.base, PY)
