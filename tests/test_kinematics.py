"""Exact geometry of every angle and proxy, invariances, and batch == streaming cleaning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.exercise import ExerciseConfig
from edge.filters import OneEuroStream, ema_scan, one_euro
from edge.kinematics import (
    F_EXCESS,
    F_FOOT_L,
    F_FOOT_R,
    F_HIP_L,
    F_HIP_R,
    F_KNEE_L,
    F_KNEE_R,
    F_SHANK_L,
    F_SHANK_R,
    F_SHOULDER,
    F_THIGH_L,
    F_THIGH_R,
    F_TILT,
    F_TRUNK,
    NUM,
    PY,
    Cleaner,
    angle_between,
    baseline_sample,
    basis,
    body_angle,
    body_points,
    clean_track,
    expected_tilt,
    features,
    incline,
    mid,
    raw_checks,
    wrap,
)

CFG = ExerciseConfig()


def pose(hip_deg=(0.0, 0.0), knee_deg=(0.0, 0.0), torso=100.0, thigh=80.0, shank=80.0,
         hip=(0.0, 0.0), shoulder_rise=0.0):  # fmt: skip
    """A lying athlete in a body frame that is also the image frame turned upside down:
    head toward -x, feet toward +x, 'up' is image -y. Returns (10, 2) points."""
    p = np.zeros((10, 2))
    hx, hy = hip
    p[0] = p[1] = (hx - math.sqrt(torso**2 - shoulder_rise**2), hy - shoulder_rise)
    p[2] = p[3] = (hx, hy)
    for leg in (0, 1):
        a = math.radians(hip_deg[leg])
        knee = np.array([hx + thigh * math.cos(a), hy - thigh * math.sin(a)])
        s = a - math.radians(knee_deg[leg])
        ankle = knee + shank * np.array([math.cos(s), -math.sin(s)])
        p[4 + leg], p[6 + leg], p[8 + leg] = knee, ankle, ankle
    return p


REST = pose()
FRAME = np.array(basis(baseline_sample(REST[:, 0], REST[:, 1])))


def feats(points, frame=FRAME):
    return np.array(features(points[:, 0], points[:, 1], frame, CFG, NUM))


def col(f):  # feature columns here exclude F_T
    return f - 1


def test_primitive_angles_exact():
    assert angle_between(1.0, 0.0, 0.0, 1.0) == pytest.approx(90.0)
    assert angle_between(1.0, 0.0, -1.0, 0.0) == pytest.approx(180.0)
    assert angle_between(1.0, 1.0, 1.0, 0.0) == pytest.approx(45.0)
    assert incline(3.0, -3.0) == pytest.approx(45.0)
    assert incline(-1.0, 0.0) == pytest.approx(0.0)
    assert body_angle(0.0, -1.0, 1.0, 0.0, 0.0, -1.0) == pytest.approx(90.0)
    assert wrap(270.0) == pytest.approx(-90.0)
    assert wrap(-100.0, -90.0) == pytest.approx(260.0)
    assert mid(np.nan, 3.0) == 3.0 and mid(1.0, 3.0) == 2.0
    assert expected_tilt(60.0) == pytest.approx(4.0)
    assert expected_tilt(128.0) == pytest.approx(11.0)
    assert expected_tilt(0.0) == 0.0


def test_basis_of_the_resting_pose():
    fx, fy, nx, ny, theta0 = FRAME[9:]
    assert (fx, fy) == pytest.approx((1.0, 0.0))
    assert (nx, ny) == pytest.approx((0.0, -1.0))
    assert theta0 == pytest.approx(0.0)
    assert FRAME[8] == pytest.approx(100.0)


@pytest.mark.parametrize("hip_deg,knee_deg", [(90, 90), (60, 0), (110, 130), (45, 20), (0, 0)])
def test_leg_angles_exact(hip_deg, knee_deg):
    f = feats(pose(hip_deg=(hip_deg, 0.0), knee_deg=(knee_deg, 0.0)))
    assert f[col(F_HIP_L)] == pytest.approx(hip_deg)
    assert f[col(F_HIP_R)] == pytest.approx(0.0, abs=1e-9)
    assert f[col(F_KNEE_L)] == pytest.approx(knee_deg)
    assert f[col(F_THIGH_L)] == pytest.approx(hip_deg)
    assert f[col(F_SHANK_L)] == pytest.approx(hip_deg - knee_deg)  # heel level at 90/90: 0
    assert f[col(F_TILT)] == pytest.approx(0.0, abs=1e-9)


def test_foot_and_shoulder_rise_in_torso_lengths():
    p = pose(shoulder_rise=15.0)
    p[9] += (0.0, -20.0)  # right heel 20 px up
    f = feats(p)
    assert f[col(F_SHOULDER)] == pytest.approx(0.15)
    assert f[col(F_FOOT_R)] == pytest.approx(0.20)
    assert f[col(F_FOOT_L)] == pytest.approx(0.0)
    # The shoulders rising rotates the live trunk line, never the hip angle.
    assert f[col(F_TRUNK)] == pytest.approx(-math.degrees(math.asin(0.15)))
    assert f[col(F_HIP_L)] == pytest.approx(0.0, abs=1e-9)


def test_pelvis_tilt_from_hip_slide_and_correction():
    rho, d = CFG.pelvis.radius_torso, math.radians(CFG.pelvis.slide_direction_deg)
    tilt = 20.0
    dist = math.radians(tilt) * rho * 100.0  # torso 100 px
    hip = (dist * math.cos(d), -dist * math.sin(d))  # up and toward the head
    # The thigh travels 110 deg against the resting trunk, 20 of them from the pelvis.
    f = feats(pose(hip_deg=(110.0, 0.0), knee_deg=(90.0, 0.0), hip=hip))
    assert f[col(F_TILT)] == pytest.approx(tilt)
    assert f[col(F_HIP_L)] == pytest.approx(90.0)
    assert f[col(F_EXCESS)] == pytest.approx(tilt - expected_tilt(90.0))
    # Sliding toward the feet is not posterior tilt: no correction.
    g = feats(pose(hip_deg=(90.0, 0.0), hip=(10.0, 0.0)))
    assert g[col(F_TILT)] < 0 and g[col(F_HIP_L)] == pytest.approx(90.0)


def test_one_frame_floats_match_the_array_path():
    p = pose(hip_deg=(75.0, 5.0), knee_deg=(100.0, 3.0), hip=(2.0, -3.0), shoulder_rise=7.0)
    a = feats(p)
    b = features(p[:, 0].tolist(), p[:, 1].tolist(), FRAME.tolist(), CFG, PY)
    assert np.allclose(a, b, rtol=0, atol=1e-9)


def similarity(points, angle, scale, shift, mirror):
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[c, -s], [s, c]]) * scale
    if mirror:
        m = m @ np.diag([-1.0, 1.0])
    return points @ m.T + shift


@settings(max_examples=60, deadline=None)
@given(
    hip=st.floats(0.0, 130.0), knee=st.floats(0.0, 140.0), down_knee=st.floats(0.0, 30.0),
    angle=st.floats(-0.7, 0.7), scale=st.floats(0.2, 5.0),
    dx=st.floats(-500, 500), dy=st.floats(-500, 500), mirror=st.booleans(),
)  # fmt: skip
def test_features_invariant_under_similarity_and_mirror(hip, knee, down_knee, angle, scale,
                                                        dx, dy, mirror):  # fmt: skip
    rest = pose()
    p = pose(hip_deg=(hip, 0.0), knee_deg=(knee, down_knee), hip=(3.0, -2.0), shoulder_rise=6.0)
    ref = feats(p)

    def move(q):
        return similarity(q, angle, scale, np.array([dx, dy]), mirror)

    frame = np.array(basis(baseline_sample(move(rest)[:, 0], move(rest)[:, 1])))
    got = feats(move(p), frame)
    diff = wrap(got - ref)  # angles compare modulo 360
    assert np.allclose(diff, 0.0, atol=1e-6)


def test_swapping_leg_labels_swaps_leg_features():
    p = pose(hip_deg=(80.0, 10.0), knee_deg=(90.0, 5.0))
    q = p[[0, 1, 2, 3, 5, 4, 7, 6, 9, 8]]
    a, b = feats(p), feats(q)
    for left, right in ((F_HIP_L, F_HIP_R), (F_KNEE_L, F_KNEE_R), (F_SHANK_L, F_SHANK_R),
                        (F_THIGH_L, F_THIGH_R), (F_FOOT_L, F_FOOT_R)):  # fmt: skip
        assert a[col(left)] == pytest.approx(b[col(right)])


def test_raw_checks_lying_resting_and_upright():
    p = pose()
    still = np.zeros(10)
    lying, resting, trunk, leg = raw_checks(p[:, 0], p[:, 1], still, still, CFG)
    assert lying and resting and trunk and leg
    raised = pose(hip_deg=(45.0, 0.0))
    assert not raw_checks(raised[:, 0], raised[:, 1], still, still, CFG)[1]
    upright = similarity(p, math.radians(80), 1.0, np.zeros(2), False)
    upright[6:8] = upright[2:4] + np.array([0.0, 160.0])  # standing: ankles under the hips
    assert not raw_checks(upright[:, 0], upright[:, 1], still, still, CFG)[0]
    moving = np.full(10, 500.0)
    assert not raw_checks(p[:, 0], p[:, 1], moving, moving, CFG)[1]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**31 - 1))
def test_ema_scan_equals_the_recursion(n, seed):
    rng = np.random.default_rng(seed)
    a, x = rng.random(n), rng.normal(size=(n, 3))
    y, ref = ema_scan(a[:, None], x), np.zeros(3)
    for t in range(n):
        ref = ref + a[t] * (x[t] - ref)
        assert np.allclose(y[t], ref, rtol=1e-9, atol=1e-9)


def test_one_euro_batch_equals_stream():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=(300, 4)), axis=0)
    x[:7, 1] = np.nan  # a coordinate first seen at frame 7
    y, speed = one_euro(x, 30.0, 1.5, 0.02, 1.0)
    f = OneEuroStream((4,), 30.0, 1.5, 0.02, 1.0)
    seen_before = np.zeros(4, dtype=bool)
    for t in range(300):
        xt = np.nan_to_num(x[t])
        seen = np.isfinite(x[t])
        first = seen & ~seen_before
        f.value[first] = f.prev[first] = x[t, first]  # the caller starts each coordinate
        seen_before |= seen
        out = f.update(xt)
        assert np.allclose(out[seen], y[t, seen], atol=1e-9)
        assert np.allclose(f.speed[seen], speed[t, seen], atol=1e-9)
    assert np.isnan(y[:7, 1]).all()


def noisy_clip(seed=0, frames=240):
    """Points of a leg lift with noise, a dropout and a two-frame label swap."""
    rng = np.random.default_rng(seed)
    out = np.zeros((frames, 10, 3))
    for t in range(frames):
        h = 90.0 * math.sin(math.pi * t / frames) ** 2
        out[t, :, :2] = pose(hip_deg=(h, 0.0), knee_deg=(h, 0.0)) + np.array([320.0, 240.0])
    out[..., :2] += rng.normal(0, 1.0, (frames, 10, 2))
    out[..., 2] = 0.9
    truth = out.copy()
    out[100:102, [4, 5, 6, 7, 8, 9]] = out[100:102, [5, 4, 7, 6, 9, 8]]  # model swaps legs
    out[150:154, 6, 2] = 0.0  # left ankle unseen for 4 frames
    return out, truth


def test_clean_track_repairs_swaps_and_equals_the_streaming_cleaner():
    pts, truth = noisy_clip()
    fps = 30.0
    times = np.arange(len(pts)) / fps
    clean = clean_track(pts, times, fps, CFG)
    ref = clean_track(truth, times, fps, CFG)
    # The swapped frames are repaired: the result matches the clean labels.
    assert np.abs(clean.points[95:110] - ref.points[95:110]).max() < 1.0
    c = Cleaner(fps, CFG)
    for t in range(len(pts)):
        c.update(times[t], pts[t].tolist())
        got = np.stack([c.xs, c.ys], axis=-1)
        assert np.allclose(got, clean.points[t], atol=1e-6, equal_nan=True)


def test_long_gap_becomes_nan_and_short_gap_is_held():
    pts, _ = noisy_clip()
    pts[50:55, 4, 2] = 0.0  # 5 frames = 0.17 s: held
    pts[120:140, 5, 2] = 0.0  # 20 frames = 0.67 s: lost after 0.3 s
    times = np.arange(len(pts)) / 30.0
    clean = clean_track(pts, times, 30.0, CFG)
    assert np.isfinite(clean.points[50:55, 4]).all()
    assert np.isfinite(clean.points[120:129, 5]).all()
    assert np.isnan(clean.points[130:140, 5]).all()
    assert np.isfinite(clean.points[140, 5]).all()


def test_body_points_uses_blazepose_heels_when_present():
    kp = np.zeros((2, 17, 3))
    kp[..., 2] = 1.0
    kp[:, 15, :2] = (10.0, 20.0)
    lm = np.zeros((2, 33, 4))
    lm[:, 29] = (11.0, 25.0, 0.0, 0.8)
    pts = body_points(kp, lm)
    assert pts[0, 8].tolist() == [11.0, 25.0, 0.8]
    assert body_points(kp)[0, 8].tolist() == [10.0, 20.0, 1.0]
