"""Angles of a lying athlete from 2D keypoints: cleaning, baseline and per-frame features.

Every function here works on arrays with any leading shape, `(..., P, 2)`, so one live frame
and a whole clip go through the same code. Only the recursions (hold-last-value, label swap
parity, smoothing, the resting baseline) need a streaming twin and a batch scan; they live
in `Cleaner`/`clean_track` and `BaselineTracker`/`baseline_track` and are written to give
the same numbers frame for frame.

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
LEFT, RIGHT = 0, 1
LEG_NAMES = ("left", "right")
# Joint pairs whose labels a pose model swaps in side views; hips always overlap, so they
# carry no evidence and keep the model's labels.
SWAP_PAIRS = np.array([KNEE, ANKLE, FOOT])

# Baseline vector (resting pose), in frame pixels: mid-shoulder, mid-hip, each foot, torso.
B_S, B_H, B_FL, B_FR, B_L = slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8), 8
N_BASE = 9
# Basis = baseline + floor direction f (head -> feet), up normal n, resting trunk angle.
B_F, B_N, B_THETA0 = slice(9, 11), slice(11, 13), 13
N_BASIS = 14

# Per-frame feature row (also the judge's ring-buffer row).
(F_T, F_HIP_L, F_HIP_R, F_KNEE_L, F_KNEE_R, F_SHANK_L, F_SHANK_R, F_THIGH_L, F_THIGH_R,
 F_FOOT_L, F_FOOT_R, F_TILT, F_EXCESS, F_SHOULDER, F_TRUNK) = range(15)  # fmt: skip
N_FEATURES = 15
F_HIP = (F_HIP_L, F_HIP_R)
F_KNEE = (F_KNEE_L, F_KNEE_R)
F_FOOT = (F_FOOT_L, F_FOOT_R)


def body_points(keypoints: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
    """(..., 17, 3) COCO keypoints (+ optional (..., 33, 4) BlazePose) -> (..., 10, 3)."""
    out = np.empty(keypoints.shape[:-2] + (N_POINTS, 3))
    out[..., :8, :] = keypoints[..., COCO_POINTS, :]
    if landmarks is None:
        out[..., 8:, :] = out[..., 6:8, :]
    else:
        out[..., 8:, :2] = landmarks[..., [BP_L_HEEL, BP_R_HEEL], :2]
        out[..., 8:, 2] = landmarks[..., [BP_L_HEEL, BP_R_HEEL], 3]
    return out


def mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of two points, or whichever one is known (NaN-aware, no branches)."""
    return 0.5 * (np.fmax(a, b) + np.fmin(a, b))


def wrap(deg: np.ndarray, low: float = -180.0) -> np.ndarray:
    """Wrap angles into [low, low + 360)."""
    return (deg - low) % 360.0 + low


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle in degrees between vectors (..., 2)."""
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = (u * v).sum(-1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def incline(v: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors (..., 2) and the image horizontal, in [0, 90]."""
    return np.degrees(np.arctan2(np.abs(v[..., 1]), np.abs(v[..., 0])))


def expected_tilt(hip_flexion: np.ndarray) -> np.ndarray:
    """Normal posterior pelvic tilt for a hip flexion: ~4 deg at 60, ~11 deg at 128."""
    return np.maximum(4.0 + (hip_flexion - 60.0) * (7.0 / 68.0), 0.0)


# ---------------------------------------------------------------- raw checks (no baseline)


def trunk_points(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mid-shoulder, mid-hip and mid-ankle of (..., 10, 2) points."""
    m = mid(points[..., [0, 2, 6], :], points[..., [1, 3, 7], :])
    return m[..., 0, :], m[..., 1, :], m[..., 2, :]


def raw_checks(points: np.ndarray, speed: np.ndarray, cfg: ExerciseConfig) -> np.ndarray:
    """Baseline-free checks per frame -> (..., 4) bool: lying, resting, trunk seen, a leg seen.

    lying: the trunk, or the shoulder-to-ankle line (a tuck lifts the trunk but not that
    line), is within `lying_max_deg` of the image horizontal. resting: lying, both thighs in
    line with the live trunk and the body still; the baseline learns only from such frames.
    """
    s, h, a = trunk_points(points)
    trunk = s - h
    torso = np.hypot(trunk[..., 0], trunk[..., 1])
    lying = np.minimum(incline(trunk), incline(a - s)) <= cfg.tracking.lying_max_deg
    thighs = points[..., KNEE, :] - points[..., HIP, :]
    shanks = points[..., ANKLE, :] - points[..., KNEE, :]
    bend = np.maximum(angle_between(-trunk[..., None, :], thighs), angle_between(thighs, shanks))
    flat = incline(thighs).max(-1) <= cfg.tracking.lying_max_deg
    moving = np.hypot(speed[..., :6, 0], speed[..., :6, 1]).max(-1)
    still = moving <= cfg.baseline.still_max_torso_per_s * torso
    together = angle_between(thighs[..., 0, :], thighs[..., 1, :]) <= cfg.baseline.legs_apart_max_deg
    resting = lying & flat & together & (bend.max(-1) <= cfg.baseline.rest_max_deg) & still
    leg_seen = np.isfinite(thighs).all(-1).any(-1)
    trunk_seen = np.isfinite(torso)
    return np.stack([lying, resting, trunk_seen, leg_seen], axis=-1)


C_LYING, C_RESTING, C_TRUNK, C_LEG = range(4)


# ---------------------------------------------------------------- baseline and features


def baseline_sample(points: np.ndarray) -> np.ndarray:
    """The quantities the resting baseline averages: (..., 10, 2) -> (..., N_BASE)."""
    s, h, _ = trunk_points(points)
    out = np.empty(points.shape[:-2] + (N_BASE,))
    out[..., B_S] = s
    out[..., B_H] = h
    out[..., B_FL] = points[..., FOOT[0], :]
    out[..., B_FR] = points[..., FOOT[1], :]
    d = s - h
    out[..., B_L] = np.hypot(d[..., 0], d[..., 1])
    return out


def basis(base: np.ndarray) -> np.ndarray:
    """Resting baseline (..., N_BASE) -> body frame basis (..., N_BASIS).

    The floor line runs from the resting shoulders to the resting feet; the up normal is
    the perpendicular that points up the image (the camera is never upside down).
    """
    out = np.empty(base.shape[:-1] + (N_BASIS,))
    out[..., :N_BASE] = base
    feet = 0.5 * (base[..., B_FL] + base[..., B_FR])
    f = feet - base[..., B_S]
    f /= np.hypot(f[..., :1], f[..., 1:])
    n = np.stack([f[..., 1], -f[..., 0]], axis=-1)
    n *= np.where(n[..., 1:] > 0, -1.0, 1.0)
    out[..., B_F] = f
    out[..., B_N] = n
    ext = base[..., B_H] - base[..., B_S]
    out[..., B_THETA0] = np.degrees(
        np.arctan2((ext * n).sum(-1), (ext * f).sum(-1))
    )
    return out


# Segment vectors for `features`: thighs, shanks (knee -> ankle), knee -> foot, live trunk.
_HEAD = np.array([4, 5, 6, 7, 8, 9])
_TAIL = np.array([2, 3, 4, 5, 4, 5])


def features(points: np.ndarray, frame: np.ndarray, cfg: ExerciseConfig) -> np.ndarray:
    """Per-frame angles and pelvis proxies, (..., 10, 2) + basis (..., N_BASIS) -> (..., 15).

    Column F_T is left for the caller (time). All angles in degrees, displacements in
    resting torso lengths. NaN where a point or the baseline is unknown.
    """
    s, h, _ = trunk_points(points)
    vec = np.concatenate(
        [
            points[..., _HEAD, :] - points[..., _TAIL, :],
            (h - s)[..., None, :],
            np.stack([h - frame[..., 2:4], s - frame[..., 0:2]], axis=-2),
            points[..., FOOT, :] - frame[..., None, 4:8].reshape(frame.shape[:-1] + (2, 2)),
        ],
        axis=-2,
    )  # (..., 11, 2): 6 segments, trunk, hip disp, shoulder disp, 2 foot disps
    f = frame[..., None, B_F]
    n = frame[..., None, B_N]
    along = (vec * f).sum(-1)
    up = (vec * n).sum(-1)
    ang = np.degrees(np.arctan2(up[..., :7], along[..., :7]))
    torso = frame[..., B_L, None]
    theta0 = frame[..., B_THETA0, None]
    pelvis = cfg.pelvis
    d = math.radians(pelvis.slide_direction_deg)
    tilt = np.degrees(
        (along[..., 7] * math.cos(d) + up[..., 7] * math.sin(d))
        / (torso[..., 0] * pelvis.radius_torso)
    )
    out = np.empty(points.shape[:-2] + (N_FEATURES,))
    hip = wrap(ang[..., 0:2] - theta0, -90.0) - np.maximum(tilt, 0.0)[..., None]
    out[..., F_T] = 0.0
    out[..., 1:3] = hip
    out[..., 3:5] = wrap(ang[..., 0:2] - ang[..., 2:4])
    out[..., 5:7] = ang[..., 4:6]
    out[..., 7:9] = ang[..., 0:2]
    out[..., 9:11] = up[..., 9:11] / torso
    out[..., F_TILT] = tilt
    out[..., F_EXCESS] = tilt - expected_tilt(np.fmax(hip[..., 0], hip[..., 1]))
    out[..., F_SHOULDER] = up[..., 8] / torso[..., 0]
    out[..., F_TRUNK] = wrap(ang[..., 6] - theta0[..., 0])
    return out


# ---------------------------------------------------------------- cleaning, batch


@dataclass
class CleanTrack:
    points: np.ndarray  # (T, 10, 2) smoothed, NaN where lost for longer than the gap limit
    speed: np.ndarray  # (T, 10, 2) filtered velocity, px/s
    present: np.ndarray  # (T,) any body point seen this frame


def _last_true_index(mask: np.ndarray) -> np.ndarray:
    """For every index along axis 0, the last index <= it where mask is true, else -1."""
    idx = np.arange(mask.shape[0]).reshape((-1,) + (1,) * (mask.ndim - 1))
    return np.maximum.accumulate(np.where(mask, idx, -1), axis=0)


def hold_last(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward-fill invalid samples along axis 0. Returns (held, index of last valid)."""
    last = _last_true_index(valid)
    held = np.take_along_axis(values, np.maximum(last, 0)[..., None], axis=0)
    held[last < 0] = np.nan
    return held, last


def swap_parity(held: np.ndarray, cfg: ExerciseConfig) -> np.ndarray:
    """(T, 10, 2) held points -> (T, 3) bool: swap each SWAP_PAIRS pair in this frame?

    A pair toggles when the frame-to-frame motion is far better explained by the model
    having swapped the labels; where the two joints overlap the evidence is void and the
    model's labels are trusted again (this stops one wrong toggle from lasting forever).
    """
    t = held.shape[0]
    a = held[:, SWAP_PAIRS[:, 0]]
    b = held[:, SWAP_PAIRS[:, 1]]
    toggle = np.zeros((t, len(SWAP_PAIRS)), dtype=bool)
    same = ((a[1:] - a[:-1]) ** 2).sum(-1) + ((b[1:] - b[:-1]) ** 2).sum(-1)
    cross = ((a[1:] - b[:-1]) ** 2).sum(-1) + ((b[1:] - a[:-1]) ** 2).sum(-1)
    toggle[1:] = cross < cfg.tracking.swap_ratio * same
    s, h, _ = trunk_points(held)
    scale = np.hypot(s[:, 0] - h[:, 0], s[:, 1] - h[:, 1])
    apart = np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1])
    overlap = apart < cfg.tracking.swap_overlap_torso * scale[:, None]
    count = np.cumsum(toggle & ~overlap, axis=0)
    reset = _last_true_index(overlap)
    base = np.where(reset >= 0, np.take_along_axis(count, np.maximum(reset, 0), axis=0), 0)
    return ((count - base) % 2).astype(bool)


def apply_swaps(held: np.ndarray, last: np.ndarray, parity: np.ndarray) -> None:
    """Swap the labels of each pair where parity is set, in place, positions and ages."""
    for k, (i, j) in enumerate(SWAP_PAIRS):
        m = parity[:, k]
        held[m, i], held[m, j] = held[m, j].copy(), held[m, i].copy()
        last[m, i], last[m, j] = last[m, j].copy(), last[m, i].copy()


def clean_track(points: np.ndarray, times: np.ndarray, fps: float,
                cfg: ExerciseConfig) -> CleanTrack:  # fmt: skip
    """Confidence gate, hold short gaps, repair label swaps, One Euro smooth: (T, 10, 3).

    Both joints of a left/right pair are held together when either is unseen, so the swap
    evidence always compares positions labelled at the same moment.
    """
    tr = cfg.tracking
    xy = points[..., :2].astype(np.float64)
    valid = (points[..., 2] >= tr.min_score) & np.isfinite(xy).all(-1)
    pair = valid[:, SWAP_PAIRS].all(-1)
    valid[:, SWAP_PAIRS] = pair[..., None]
    held, last = hold_last(xy, valid)
    parity = swap_parity(held, cfg)
    apply_swaps(held, last, parity)
    smooth, speed = one_euro(held, fps, tr.min_cutoff_hz, tr.beta, tr.d_cutoff_hz)
    age = np.where(last >= 0, times[:, None] - times[np.maximum(last, 0)], np.inf)
    smooth[age > tr.max_gap_s] = np.nan
    return CleanTrack(points=smooth, speed=speed, present=valid.any(-1))


# ---------------------------------------------------------------- cleaning, streaming


class Cleaner:
    """`clean_track` one frame at a time, on preallocated arrays."""

    def __init__(self, fps: float, cfg: ExerciseConfig):
        tr = cfg.tracking
        self.cfg = cfg
        self.held = np.full((N_POINTS, 2), np.nan)
        self.prev_held = np.full((N_POINTS, 2), np.nan)
        self.last_t = np.full(N_POINTS, -np.inf)
        self.parity = np.zeros(len(SWAP_PAIRS), dtype=bool)
        self.fixed = np.full((N_POINTS, 2), np.nan)
        self.fixed_t = np.full(N_POINTS, -np.inf)
        self.filter = OneEuroStream((N_POINTS, 2), fps, tr.min_cutoff_hz, tr.beta, tr.d_cutoff_hz)
        self.out = np.full((N_POINTS, 2), np.nan)
        self._valid = np.zeros(N_POINTS, dtype=bool)

    def update(self, t: float, points: np.ndarray) -> bool:
        """Feed one (10, 3) frame; result in `self.out` / `self.filter.speed`.

        Returns whether any point was seen.
        """
        tr = self.cfg.tracking
        valid = self._valid
        np.greater_equal(points[:, 2], tr.min_score, out=valid)
        valid &= np.isfinite(points[:, 0]) & np.isfinite(points[:, 1])
        valid[SWAP_PAIRS] = valid[SWAP_PAIRS].all(-1)[:, None]
        np.copyto(self.prev_held, self.held)
        held = self.held
        np.copyto(held, points[:, :2], where=valid[:, None])
        self.last_t[valid] = t
        self._update_parity()
        fixed, fixed_t = self.fixed, self.fixed_t
        np.copyto(fixed, held)
        np.copyto(fixed_t, self.last_t)
        for k in np.flatnonzero(self.parity):
            i, j = SWAP_PAIRS[k]
            fixed[[i, j]] = held[[j, i]]
            fixed_t[[i, j]] = self.last_t[[j, i]]
        smooth = self.filter.update(fixed)
        np.copyto(self.out, smooth)
        self.out[t - fixed_t > tr.max_gap_s] = np.nan
        return bool(valid.any())

    def _update_parity(self) -> None:
        tr = self.cfg.tracking
        h, p = self.held, self.prev_held
        a, b = h[SWAP_PAIRS[:, 0]], h[SWAP_PAIRS[:, 1]]
        pa, pb = p[SWAP_PAIRS[:, 0]], p[SWAP_PAIRS[:, 1]]
        same = ((a - pa) ** 2).sum(-1) + ((b - pb) ** 2).sum(-1)
        cross = ((a - pb) ** 2).sum(-1) + ((b - pa) ** 2).sum(-1)
        toggle = cross < tr.swap_ratio * same
        s, hip, _ = trunk_points(h)
        scale = math.hypot(*(s - hip))
        d = a - b
        overlap = np.hypot(d[:, 0], d[:, 1]) < tr.swap_overlap_torso * scale
        self.parity ^= toggle
        self.parity[overlap] = False


# ---------------------------------------------------------------- resting baseline


def rest_gate(resting: np.ndarray, times: np.ndarray, settle_s: float) -> np.ndarray:
    """Resting frames that belong to a resting spell at least `settle_s` long so far."""
    return resting & (times - times[_run_start(resting)] >= settle_s)


def _run_start(mask: np.ndarray) -> np.ndarray:
    """Index where the current run of True started (meaningful only where mask is True)."""
    starts = mask.copy()
    starts[1:] &= ~mask[:-1]
    return np.maximum(_last_true_index(starts), 0)


def baseline_track(points: np.ndarray, gate: np.ndarray, fps: float,
                   cfg: ExerciseConfig) -> np.ndarray:  # fmt: skip
    """Resting baseline for every frame (T, N_BASE): an EMA over gated frames, NaN before."""
    sample = baseline_sample(points)
    gate = gate & np.isfinite(sample).all(-1)
    alpha = smoothing_alpha(1.0 / (2.0 * math.pi * cfg.baseline.time_constant_s), fps)
    gain = np.where(gate, alpha, 0.0)
    seen = np.cumsum(gate)
    gain[gate & (seen == 1)] = 1.0
    base = ema_scan(gain[:, None], np.where(gate[:, None], sample, 0.0))
    base[seen == 0] = np.nan
    return base


class BaselineTracker:
    """`baseline_track` one frame at a time; `frame` is the current body-frame basis."""

    def __init__(self, fps: float, cfg: ExerciseConfig):
        self.alpha = smoothing_alpha(1.0 / (2.0 * math.pi * cfg.baseline.time_constant_s), fps)
        self.settle_s = cfg.baseline.settle_s
        self.base = np.full(N_BASE, np.nan)
        self.frame = np.full(N_BASIS, np.nan)
        self.ready = False
        self._rest_since: float | None = None

    def update(self, t: float, points: np.ndarray, resting: bool) -> None:
        if not resting:
            self._rest_since = None
            return
        if self._rest_since is None:
            self._rest_since = t
        if t - self._rest_since < self.settle_s:
            return
        sample = baseline_sample(points)
        if not np.isfinite(sample).all():
            return
        if self.ready:
            self.base += self.alpha * (sample - self.base)
        else:
            self.base[:] = sample
            self.ready = True
        self.frame[:] = basis(self.base)
