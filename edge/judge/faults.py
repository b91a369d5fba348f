"""The fault rules: statistics over a rep's frames, never one frame's value.

A rep's *top* is every frame whose smoothed flexion is within `TOP_FRACTION` of its rise
from the peak, widened to at least `MIN_TOP_S` around the peak. The chest and the down leg
are judged on the top's medians; the peak comes from a parabola fitted through the top
(unbiased by jitter, where a maximum is not); the knee from the median around the peak;
the lift time from a smooth ramp fitted to the whole rise; the pelvis from a slope of the
hip's travel on the lift's progress, over the way up, the top and the way down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.config.exercise import ExerciseConfig
from edge.judge.pelvis import PelvisScale
from edge.judge.reps import Col
from edge.kinematics import NUM, expected_tilt

TOP_FRACTION = 0.2
MIN_TOP_S = 0.3
PEAK_WINDOW_S = 0.15  # the knee is read within this of the peak
MIN_PROGRESS = 0.25  # the pelvis is read over the lift past this much of its rise
SURE_Z = 2.0  # standard errors of jitter a fault must stand beyond
# A thigh this far past the athlete's usual top travelled further than the hip flexed:
# either the hip forced it (over_flexion) or the pelvis curled (lumbar_rounding).
OVERSHOOT_DEG = 15.0
# The live test looks again every LUMBAR_EVERY_S as the lift goes on: more looks, more
# chances for jitter to cross, so each look must stand further beyond it than the rep's
# one verdict at its end (which still reports what the live test did not cue).
LIVE_Z = 2.5


Sums = tuple[float, float, float]  # a lift's displacement weighted by progress, per axis; weight


@dataclass
class Measures:
    start_s: float
    peak_s: float
    peak_deg: float  # hip flexion at the top, pelvis excess removed
    peak_range: tuple[float, float]  # what it may be, the pelvis read within its jitter
    knee_deg: float  # working knee flexion at the top
    travel: float  # pelvis point's travel at the top along the athlete's path, torso lengths
    path_sums: Sums  # the travel fit's sums (PelvisScale.learn)
    tilt_deg: float  # posterior pelvic tilt at the top, as reported (never below 0)
    excess_deg: float  # pelvic tilt beyond the normal tilt for that flexion
    sure_excess_deg: float  # the part of it that jitter cannot explain
    lift_s: float  # bottom to top, NaN when the bottom was not seen
    shoulder: float  # shoulder rise at the top, torso
    down_knee: float  # down-leg knee flexion at the top
    down_heel: float  # down-leg heel lift at the top, torso


def top_of(rows: np.ndarray) -> tuple[int, np.ndarray, float]:
    """(peak row, mask of the top, bottom flexion) of a rep's rows (bottom first)."""
    hs = rows[:, Col.HIP_S]
    peak = int(np.nanargmax(hs))
    bottom = float(np.nanmin(hs[: peak + 1]))
    top = hs >= hs[peak] - TOP_FRACTION * (hs[peak] - bottom)
    t = rows[:, Col.T]
    on = t[top]
    if on[-1] - on[0] < MIN_TOP_S:
        top |= np.abs(t - t[peak]) <= 0.5 * MIN_TOP_S
    return peak, top, bottom


def pelvis_travel(rows: np.ndarray, peak: int, bottom: float,
                  pelvis: PelvisScale) -> tuple[float, float, Sums]:  # fmt: skip
    """The pelvis point's travel at the top of the lift along this athlete's path (torso
    lengths), how far its jitter can move that at two standard errors, and the fit's sums
    (displacement weighted by progress, per axis, and the weight) for PelvisScale.learn.

    The pelvis curls with the lift and uncurls with the return, so the hip's displacement
    is fitted as proportional to the lift's progress p (0 at the bottom, 1 at the peak)
    over every frame past a quarter of it: a least-squares slope through the origin, which
    weighs the top most and still uses the way up and down.
    """
    nothing = (math.nan, math.nan, (math.nan, math.nan, math.nan))
    hs = rows[:, Col.HIP_S]
    if not hs[peak] > bottom:
        return nothing
    p = (hs - bottom) / (hs[peak] - bottom)
    pf, pn = rows[:, Col.PELVIS_F], rows[:, Col.PELVIS_N]
    use = (p >= MIN_PROGRESS) & np.isfinite(pf) & np.isfinite(pn)
    if not use.any():
        return nothing
    p = np.minimum(p[use], 1.0)
    weight = float(p @ p)
    sums = (float(p @ pf[use]), float(p @ pn[use]), weight)
    travel = pelvis.along_path(sums[0], sums[1]) / weight
    se = pelvis.travel_se(weight)
    margin = SURE_Z * se if se == se else 0.0
    return travel, margin, sums


def excess_tilt(travel: float, peak_deg: float, pelvis: PelvisScale) -> tuple[float, float]:
    """(pelvic tilt, its excess over the normal tilt for `peak_deg`), both in degrees, from
    a hip travel and this athlete's travel per degree of tilt."""
    tilt = travel / pelvis.per_deg
    return tilt, tilt - float(expected_tilt(peak_deg, NUM))


def lumbar_so_far(rows: np.ndarray, pelvis: PelvisScale, cfg: ExerciseConfig) -> bool:
    """Live: has the top of the lift so far shown more pelvic tilt than allowed, beyond
    jitter, over at least `min_duration_s` of it?"""
    f = cfg.faults.lumbar_rounding
    peak, top, bottom = top_of(rows)
    t = rows[top, Col.T]
    if t[-1] - t[0] < f.min_duration_s:
        return False
    travel, margin, _ = pelvis_travel(rows, peak, bottom, pelvis)
    sure = excess_tilt(travel - margin * LIVE_Z / SURE_Z, float(rows[peak, Col.HIP_S]), pelvis)[1]
    return sure > f.max_excess_tilt_deg


def _parabola_peak(t: np.ndarray, h: np.ndarray) -> tuple[float, float] | None:
    """(time, value) of the vertex of the least-squares parabola through (t, h), if it is a
    maximum inside the samples."""
    seen = np.isfinite(h)
    t, h = t[seen], h[seen]
    if t.size < 4 or t[-1] - t[0] <= 0.0:
        return None
    t0 = t.mean()
    a, b, c = np.polyfit(t - t0, h, 2)
    if a >= 0.0:
        return None
    tv = -b / (2.0 * a)
    if not t[0] - t0 <= tv <= t[-1] - t0:
        return None
    return float(tv + t0), float(c - b * b / (4.0 * a))


def _ramp(u: np.ndarray) -> np.ndarray:
    """A smooth lift's shape: 0 before it, a half cosine through it, 1 after it."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


LIFT_GRID_S = np.geomspace(0.12, 3.0, 56)  # lift durations tried, about 6% apart
MID_SHIFTS = np.linspace(-1.0, 1.0, 9)  # centre tried around the half-rise crossing, frames


def lift_time(rows: np.ndarray, peak: int, bottom: float) -> float:
    """Bottom-to-top time of the lift: the duration of the smooth ramp that fits the
    flexion best (least squares over every frame from the bottom to the peak, its two
    levels solved exactly for each duration). Both ends of a lift are too flat to time
    by level crossings under jitter; a fit uses the whole rise, at any frame rate."""
    top = rows[peak, Col.HIP_S]
    rows = rows[: peak + 1]
    rows = rows[np.isfinite(rows[:, Col.HIP]) & np.isfinite(rows[:, Col.HIP_S])]
    t, h, hs = rows[:, Col.T], rows[:, Col.HIP], rows[:, Col.HIP_S]
    half = bottom + 0.5 * (top - bottom)
    below = np.flatnonzero(hs < half)
    if t.size < 4 or not below.size or below[-1] + 1 >= t.size:
        return math.nan
    i = int(below[-1])
    mid = t[i] + (t[i + 1] - t[i]) * (half - hs[i]) / (hs[i + 1] - hs[i])
    dt = (t[-1] - t[0]) / max(t.size - 1, 1)
    centres = mid + MID_SHIFTS * dt
    starts = centres[:, None] - 0.5 * LIFT_GRID_S[None, :]  # (shifts, durations)
    u = (t[None, None, :] - starts[..., None]) / LIFT_GRID_S[None, :, None]
    ramp = _ramp(u)  # h ~ low + (high - low) * ramp: least squares in (low, high)
    n = t.size
    sr, srr = ramp.sum(-1), (ramp * ramp).sum(-1)
    sh, srh = h.sum(), (ramp * h).sum(-1)
    det = n * srr - sr * sr
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * srh - sr * sh) / det
        low = (sh - slope * sr) / n
        fit = low[..., None] + slope[..., None] * ramp
    err = np.where(det > 0.0, ((fit - h) ** 2).sum(-1), np.inf)
    best = np.unravel_index(int(np.argmin(err)), err.shape)
    return float(LIFT_GRID_S[best[1]])


def measure(rows: np.ndarray, bottom_seen: bool, pelvis: PelvisScale,
            cfg: ExerciseConfig) -> Measures:  # fmt: skip
    """The numbers of one rep from its rows, bottom first."""
    peak, top, bottom = top_of(rows)
    t = rows[:, Col.T]
    fit = _parabola_peak(t[top], rows[top, Col.HIP])
    peak_t, peak_nominal = fit if fit is not None else (t[peak], float(rows[peak, Col.HIP_S]))
    travel, margin, path_sums = pelvis_travel(rows, peak, bottom, pelvis)
    tilt, excess = excess_tilt(travel, peak_nominal, pelvis)
    sure = excess_tilt(travel - margin, peak_nominal, pelvis)[1]
    most = excess_tilt(travel + margin, peak_nominal, pelvis)[1]
    near = np.abs(t - peak_t) <= PEAK_WINDOW_S
    if not near.any():
        near = t == t[peak]
    return Measures(
        start_s=float(t[0]),
        peak_s=float(peak_t),
        peak_deg=peak_nominal - max(excess, 0.0),
        peak_range=(peak_nominal - max(most, 0.0), peak_nominal - max(sure, 0.0)),
        knee_deg=_median(rows[near, Col.KNEE_W]),
        travel=travel,
        path_sums=path_sums,
        # a hip that went the other way (a curl dragging it toward the feet) is no tilt
        tilt_deg=max(tilt, 0.0),
        excess_deg=excess,
        sure_excess_deg=sure,
        lift_s=lift_time(rows, peak, bottom) if bottom_seen else math.nan,
        shoulder=_median(rows[top, Col.SHOULDER]),
        down_knee=_median(rows[top, Col.KNEE_D]),
        down_heel=_median(rows[top, Col.HEEL_D]),
    )


def _median(x: np.ndarray) -> float:
    """Median of the known values; NaN when none is known."""
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def end_faults(m: Measures, cfg: ExerciseConfig, cued: set[str], usual_top: float) -> set[str]:
    """The rep's faults: those `cued` during it (band_unloaded at the start, lumbar_rounding
    live) and those judged now that it has ended; `usual_top` is the athlete's usual peak."""
    f = cfg.faults
    out = set(cued)
    if f.lumbar_rounding.enabled and rounded(m, f.lumbar_rounding.max_excess_tilt_deg, usual_top):
        out.add("lumbar_rounding")
    if f.chest_lift.enabled and m.shoulder > f.chest_lift.max_rise_torso:
        out.add("chest_lift")
    dl = f.down_leg_bent
    bent = m.down_knee > dl.max_knee_flexion_deg or m.down_heel > dl.max_heel_lift_torso
    if dl.enabled and bent:
        out.add("down_leg_bent")
    # short or forced only if it is so however much of the thigh's travel the pelvis made
    low, high = m.peak_range
    if f.short_range.enabled and high < f.short_range.min_peak_deg:
        out.add("short_range")
    # "when the extra thigh travel comes from the pelvis curling, the fault is
    # lumbar_rounding" (exercise.md): a rep found rounded is not also called forced
    curled = "lumbar_rounding" in out
    if f.over_flexion.enabled and low > f.over_flexion.max_peak_deg and not curled:
        out.add("over_flexion")
    ka = f.knee_angle
    if ka.enabled and abs(m.knee_deg - ka.target_deg) > ka.tolerance_deg:
        out.add("knee_angle")
    if f.too_fast.enabled and m.lift_s < f.too_fast.min_lift_s:
        out.add("too_fast")
    return out


def rounded(m: Measures, limit_deg: float, usual_top: float) -> bool:
    """lumbar_rounding: pelvic tilt beyond the normal by more than `limit_deg`, even at the
    edge of what jitter allows. When the thigh overshot the athlete's usual top, the rep is
    forced or rounded either way, and the pelvis need only explain the larger part of the
    overshoot (no tone on a good rep is risked: a good rep does not overshoot)."""
    if m.sure_excess_deg > limit_deg:
        return True
    overshoot = m.peak_deg + max(m.excess_deg, 0.0) - usual_top
    return overshoot >= OVERSHOOT_DEG and m.excess_deg > max(limit_deg, 0.5 * overshoot)


def rested_on_floor(gap: np.ndarray, cfg: ExerciseConfig) -> bool:
    """band_unloaded: between two reps of a set, the working heel lay at floor level for at
    least `min_rest_s` (the median over every such stretch, so jitter cannot fake or break
    it)."""
    b = cfg.faults.band_unloaded
    t, heel = gap[:, Col.T], gap[:, Col.HEEL_W]
    if t.size < 2 or t[-1] - t[0] < b.min_rest_s:
        return False
    dt = (t[-1] - t[0]) / (t.size - 1)
    width = max(2, round(b.min_rest_s / dt) + 1)
    if width > heel.size:
        return False
    windows = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(heel, nan=np.inf), width)
    return bool((np.median(windows, axis=1) <= b.floor_tolerance_torso).any())
