"""Angle math of a lying athlete from 2D keypoints: one frame's geometry, written once.

Every formula here takes coordinate sequences (`xs[i]`, `ys[i]` = point i) and a math
namespace: Python floats with `PY` for the live frame (several times faster than numpy on
one frame), or (T,) arrays with `NUM` for a whole clip at once. Same formulas, same numbers.

The geometry is label-free. Pose models swap left and right labels in side views, often
for a few frames, joint by joint. Nothing here trusts a label to say which leg is which:
the working leg is the one whose thigh is higher, and `pair_legs` gives each knee the
ankle that makes the more plausible pair of shanks, each ankle its nearer heel. A swap of any joints
therefore changes no angle; labels only name the leg a rep is reported for (by majority
over the whole rep, in the judge).

Conventions (exercise.md): angles live in the *body frame* of the athlete's resting trunk
line: f runs from the resting mid-shoulder to the resting mid-hip (toward the feet), n is
its normal pointing up the image. Hip flexion is the thigh against that resting trunk line
(0 = in line, positive = lifted), with the normal posterior pelvic tilt for that flexion
taken out; knee flexion is 0 with the leg straight. Lengths are in resting torso lengths.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np

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

# Normal posterior pelvic tilt (exercise.md): ~4 deg at 60 deg of hip flexion, ~11 at 128.
TILT_AT_60, TILT_SLOPE = 4.0, 7.0 / 68.0


class Basis(IntEnum):
    """The body frame of the resting pose (see `basis`)."""

    FX, FY, NX, NY, HIP_X, HIP_Y, SH_X, SH_Y, TORSO, FOOT_H, HIP_W = range(11)
    FOOT0_X, FOOT0_Y, FOOT1_X, FOOT1_Y = range(11, 15)  # each resting heel


class Geo(IntEnum):
    """One frame's geometry (`frame_geometry`), working leg first."""

    HIP = 0  # working leg hip flexion, normal tilt taken out, deg
    LEG = 1  # label of the working leg's knee: 0 left, 1 right
    KNEE_W = 2  # working knee flexion, deg
    KNEE_D = 3  # down-leg knee flexion, deg
    HEEL_W = 4  # working heel above its resting height, relative to the live hip, torso
    HEEL_D = 5  # down heel's lift from where it rested, less any rise of the pelvis
    SHOULDER = 6  # mid-shoulder rise above rest, torso
    PELVIS_F = 7  # mid-hip displacement from rest along f (toward the feet), torso
    PELVIS_N = 8  # mid-hip displacement from rest along n (up), torso
    HIP_L = 9  # hip flexion of the left-labelled thigh, deg (what the live view shows)
    HIP_R = 10
    THIGH_REST = 11  # working thigh's angle from where the pelvis rests, deg: blind to hip jitter


class NUM:
    """Math for whole-clip arrays."""

    atan2 = staticmethod(np.arctan2)
    hypot = staticmethod(np.hypot)
    degrees = staticmethod(np.degrees)
    fmax = staticmethod(np.fmax)
    fmin = staticmethod(np.fmin)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)

    @staticmethod
    def pos(a):
        return np.maximum(a, 0.0)

    @staticmethod
    def mid(a, b):
        return 0.5 * (np.fmax(a, b) + np.fmin(a, b))

    @staticmethod
    def greater(a, b):
        """a > b, where a NaN on the left loses and a NaN on the right wins."""
        return (a > b) | np.isnan(b) & ~np.isnan(a)


class PY:
    """The same math for one frame of Python floats (NaN-aware like numpy's)."""

    atan2 = staticmethod(math.atan2)
    hypot = staticmethod(math.hypot)
    degrees = staticmethod(math.degrees)
    abs = staticmethod(abs)

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
    def where(c: bool, a: float, b: float) -> float:
        return a if c else b

    @staticmethod
    def pos(a: float) -> float:
        return 0.0 if a < 0.0 else a

    @staticmethod
    def mid(a: float, b: float) -> float:
        if a == a and b == b:
            return 0.5 * (a + b)
        return b if a != a else a

    @staticmethod
    def greater(a: float, b: float) -> bool:
        return a > b or (b != b and a == a)


def mid(a, b, xp=NUM):
    """Mean of two coordinates, or whichever one is known."""
    return xp.mid(a, b)


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
    """Normal posterior pelvic tilt (deg) for a hip flexion (deg)."""
    return xp.pos(TILT_AT_60 + (hip_flexion - 60.0) * TILT_SLOPE)


def hip_flexion(thigh, xp=NUM):
    """Hip flexion from the thigh's angle to the resting trunk line, which is the flexion
    plus the normal pelvic tilt that comes with it (solved in closed form)."""
    lifted = (thigh - TILT_AT_60 + 60.0 * TILT_SLOPE) / (1.0 + TILT_SLOPE)
    return xp.where(expected_tilt(lifted, xp) > 0.0, lifted, thigh)


def trunk_mids(xs, ys, xp=NUM):
    """Mid-shoulder and mid-hip: (sx, sy, hx, hy)."""
    return (mid(xs[0], xs[1], xp), mid(ys[0], ys[1], xp),
            mid(xs[2], xs[3], xp), mid(ys[2], ys[3], xp))  # fmt: skip


def _d2(ax, ay, bx, by):
    return (ax - bx) ** 2 + (ay - by) ** 2


def pair_legs(xs: list, ys: list, xp=NUM) -> None:
    """Re-pair ankles and feet with the knees by geometry, not by label, in place.

    The ankles go with the knees the way that makes the shanks short and alike in length
    (both shanks are equally long: their squares plus the square of their difference), so
    a slightly lifted down leg does not lend its ankle to the working knee; the rule is the
    same whichever way the labels came. A foot goes with its nearer ankle. Where the legs
    lie together both pairings are equally good and either gives the same angles. Every
    function below takes points paired so.
    """
    kx0, ky0, kx1, ky1 = xs[4], ys[4], xs[5], ys[5]
    ax0, ay0, ax1, ay1 = xs[6], ys[6], xs[7], ys[7]
    s0, s1 = xp.hypot(kx0 - ax0, ky0 - ay0), xp.hypot(kx1 - ax1, ky1 - ay1)
    c0, c1 = xp.hypot(kx0 - ax1, ky0 - ay1), xp.hypot(kx1 - ax0, ky1 - ay0)
    cross = c0 * c0 + c1 * c1 + (c0 - c1) ** 2 < s0 * s0 + s1 * s1 + (s0 - s1) ** 2
    xs[6], xs[7] = xp.where(cross, ax1, ax0), xp.where(cross, ax0, ax1)
    ys[6], ys[7] = xp.where(cross, ay1, ay0), xp.where(cross, ay0, ay1)
    ax0, ay0, ax1, ay1 = xs[6], ys[6], xs[7], ys[7]
    fx0, fy0, fx1, fy1 = xs[8], ys[8], xs[9], ys[9]
    cross = _d2(ax0, ay0, fx1, fy1) + _d2(ax1, ay1, fx0, fy0) < (
        _d2(ax0, ay0, fx0, fy0) + _d2(ax1, ay1, fx1, fy1)
    )
    xs[8], xs[9] = xp.where(cross, fx1, fx0), xp.where(cross, fx0, fx1)
    ys[8], ys[9] = xp.where(cross, fy1, fy0), xp.where(cross, fy0, fy1)


# ---------------------------------------------------------------- baseline-free checks


def pose_checks(xs, ys, lying_max_deg: float, long_max_deg: float, apart_max_deg: float,
                xp=NUM) -> tuple:  # fmt: skip
    """Checks that need no baseline: (lying, one leg long, both legs long, at rest, torso).

    lying: the trunk, or the shoulder-to-ankle line (a tuck lifts the trunk but not that
    line), within `lying_max_deg` of the image horizontal. A leg is long when its thigh is
    within `long_max_deg` of the live trunk line and its knee straight within it (a bridge
    or bent knees are not): one long leg is the set-up of this exercise, both long is
    enough for a provisional baseline, both long and side by side is a rest pose.
    """
    sx, sy, hx, hy = trunk_mids(xs, ys, xp)
    tx, ty = hx - sx, hy - sy
    ax, ay = mid(xs[6], xs[7], xp), mid(ys[6], ys[7], xp)
    lim = lying_max_deg
    lying = (incline(tx, ty, xp) <= lim) | (incline(ax - sx, ay - sy, xp) <= lim)
    a0x, a0y, a1x, a1y = xs[6], ys[6], xs[7], ys[7]
    u0x, u0y, u1x, u1y = xs[4] - hx, ys[4] - hy, xs[5] - hx, ys[5] - hy
    long0 = ((angle_between(tx, ty, u0x, u0y, xp) <= long_max_deg)
             & (angle_between(u0x, u0y, a0x - xs[4], a0y - ys[4], xp) <= long_max_deg))  # fmt: skip
    long1 = ((angle_between(tx, ty, u1x, u1y, xp) <= long_max_deg)
             & (angle_between(u1x, u1y, a1x - xs[5], a1y - ys[5], xp) <= long_max_deg))  # fmt: skip
    both = lying & long0 & long1
    together = angle_between(u0x, u0y, u1x, u1y, xp) <= apart_max_deg
    return lying, lying & (long0 | long1), both, both & together, xp.hypot(tx, ty)


# ---------------------------------------------------------------- the resting pose


def rest_sample(xs, ys, lower_foot: bool, xp=NUM) -> tuple:
    """What a baseline averages from one frame: mid-shoulder, mid-hip, both heels and the
    torso length. `lower_foot` (a provisional baseline, one leg may be up) takes the lower
    heel for both."""
    sx, sy, hx, hy = trunk_mids(xs, ys, xp)
    ax, ay, bx, by = xs[8], ys[8], xs[9], ys[9]
    if lower_foot:  # lower along the live trunk line's upward normal
        tx, ty = hx - sx, hy - sy
        up = xp.where(tx > 0.0, 1.0, -1.0)
        higher = (ax - bx) * ty * up - (ay - by) * tx * up > 0.0
        ax, ay = xp.where(higher, bx, ax), xp.where(higher, by, ay)
        bx, by = ax, ay
    return sx, sy, hx, hy, ax, ay, bx, by, xp.hypot(hx - sx, hy - sy)


def basis(sample, xp=NUM) -> tuple:
    """A rest sample (as `rest_sample`) -> the body frame (as `Basis`).

    f runs along the resting trunk line toward the feet; n is its normal that points up
    the image (the camera is never upside down, and image y grows downward).
    """
    sx, sy, hx, hy, ax, ay, bx, by, torso = sample
    fx, fy = (hx - sx) / torso, (hy - sy) / torso
    up = xp.where(fx > 0.0, 1.0, -1.0)
    nx, ny = fy * up, -fx * up
    foot_h = ((0.5 * (ax + bx) - hx) * nx + (0.5 * (ay + by) - hy) * ny) / torso
    even = 0.5 + 0.0 * torso  # the two hips weigh alike until their jitter is known
    return fx, fy, nx, ny, hx, hy, sx, sy, torso, foot_h, even, ax, ay, bx, by


def head_side(frame) -> str:
    """Where the head is in the image: "left" or "right"."""
    return "left" if frame[Basis.FX] > 0 else "right"


# ---------------------------------------------------------------- one frame


def frame_geometry(xs, ys, b, xp=NUM) -> tuple:
    """One frame's angles and pelvis proxies against the body frame `b`, as `Geo`.

    NaN where a point is unknown. The working leg is the one whose thigh is higher.
    """
    fx, fy, nx, ny, px0, py0, sx0, sy0, torso, foot_h, w, ax_r, ay_r, bx_r, by_r = b
    sx, sy, hx, hy = trunk_mids(xs, ys, xp)
    ax0, ay0, ax1, ay1, ex0, ey0, ex1, ey1 = xs[6], ys[6], xs[7], ys[7], xs[8], ys[8], xs[9], ys[9]
    kx0, ky0, kx1, ky1 = xs[4], ys[4], xs[5], ys[5]
    th0 = wrap(body_angle(kx0 - hx, ky0 - hy, fx, fy, nx, ny, xp), -90.0)
    th1 = wrap(body_angle(kx1 - hx, ky1 - hy, fx, fy, nx, ny, xp), -90.0)
    knee0 = wrap(th0 - body_angle(ax0 - kx0, ay0 - ky0, fx, fy, nx, ny, xp))
    knee1 = wrap(th1 - body_angle(ax1 - kx1, ay1 - ky1, fx, fy, nx, ny, xp))
    heel0 = ((ex0 - hx) * nx + (ey0 - hy) * ny) / torso - foot_h
    heel1 = ((ex1 - hx) * nx + (ey1 - hy) * ny) / torso - foot_h
    one = xp.greater(th1, th0)
    hip0, hip1 = hip_flexion(th0, xp), hip_flexion(th1, xp)
    # the pelvis point weighs the hips by `w` (the less jittery hip counts more)
    px = xp.where((xs[2] == xs[2]) & (xs[3] == xs[3]), w * xs[2] + (1.0 - w) * xs[3], hx)
    py = xp.where((ys[2] == ys[2]) & (ys[3] == ys[3]), w * ys[2] + (1.0 - w) * ys[3], hy)
    dx, dy = px - px0, py - py0
    rise = (dx * nx + dy * ny) / torso

    def lift(ex, ey):
        """A down heel's lift: the lesser of its heights over the two resting heels (both
        rested on the floor, in an oblique view at different heights, and neither a heel's
        label nor its nearness says which was its own), less any rise of the pelvis, which
        lifts a long leg without the heel leaving the floor."""
        over = xp.fmin((ex - ax_r) * nx + (ey - ay_r) * ny, (ex - bx_r) * nx + (ey - by_r) * ny)
        return over / torso - xp.pos(rise)

    def from_rest(kx, ky):
        return wrap(body_angle(kx - px0, ky - py0, fx, fy, nx, ny, xp), -90.0)

    return (
        xp.where(one, hip1, hip0),
        xp.where(one, 1.0, 0.0),
        xp.where(one, knee1, knee0),
        xp.where(one, knee0, knee1),
        xp.where(one, heel1, heel0),
        xp.where(one, lift(ex0, ey0), lift(ex1, ey1)),
        ((sx - sx0) * nx + (sy - sy0) * ny) / torso,
        (dx * fx + dy * fy) / torso,
        rise,
        hip0,
        hip1,
        xp.where(one, from_rest(kx1, ky1), from_rest(kx0, ky0)),
    )


def pelvis_tilt(along_f, along_n, radius_torso: float, xp=NUM):
    """Posterior pelvic tilt (deg) read from the mid-hip's displacement from rest.

    Posterior tilt carries the hip joint up and toward the head, along an arc whose
    direction and radius differ between athletes (some pivot on the sacrum, some roll it
    off the floor). So the size of the displacement in that quadrant is read, whatever its
    direction, at a nominal radius. Pass displacements averaged over frames: the size of a
    noisy vector is biased upward, its average is not.
    """
    return xp.degrees(xp.hypot(xp.pos(-along_f), xp.pos(along_n)) / radius_torso)
