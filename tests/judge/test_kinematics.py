"""Exact geometry of one frame (edge.kinematics): hand-built poses in a known body frame,
invariances (image placement, label swaps), floats == arrays, and the pose checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge.kinematics import (
    NUM,
    PY,
    TILT_AT_60,
    TILT_SLOPE,
    Basis,
    Geo,
    basis,
    expected_tilt,
    frame_geometry,
    head_side,
    hip_flexion,
    pair_legs,
    pelvis_tilt,
    pose_checks,
    rest_sample,
)

THIGH, SHANK, HEEL_DROP = 0.85, 0.8, 0.05  # torso lengths
SPREAD = np.array([0.01, 0.015])  # left/right offset of the shoulders and hips (side view)
LABEL_FREE = (Geo.HIP, Geo.KNEE_W, Geo.KNEE_D, Geo.HEEL_W, Geo.HEEL_D, Geo.SHOULDER,
              Geo.PELVIS_F, Geo.PELVIS_N, Geo.THIGH_REST)  # fmt: skip
NO_TILT_BELOW = 60.0 - TILT_AT_60 / TILT_SLOPE  # ~21.1 deg: expected_tilt is 0 up to here
LIMITS = (30.0, 30.0, 8.0)  # lying, legs long, legs apart (the config defaults)


def tilted(h):
    """Thigh angle to the resting trunk line for a hip flexion h: h + its normal tilt."""
    return h + max(0.0, TILT_AT_60 + (h - 60.0) * TILT_SLOPE)


def body(thighs=(0.0, 0.0), knees=(0.0, 0.0), pelvis=(0.0, 0.0), rise=0.0):
    """(10, 2) points in the body frame, torso lengths: (along f toward the feet, along n
    up). The resting mid-hip is at 0 and the resting mid-shoulder at (-1, 0). `thighs` are
    thigh angles to the trunk line (left, right), `knees` knee flexions, `pelvis` the mid-hip
    displacement, `rise` the mid-shoulder's. Heels sit HEEL_DROP below each ankle, square to
    the shank, so at rest they are HEEL_DROP below the trunk line."""
    p = np.zeros((10, 2))
    hip = np.array(pelvis, dtype=float)
    sh = np.array([-1.0, rise])
    p[0], p[1], p[2], p[3] = sh + SPREAD, sh - SPREAD, hip + SPREAD, hip - SPREAD
    for leg in (0, 1):
        a = math.radians(thighs[leg])
        s = a - math.radians(knees[leg])
        p[4 + leg] = hip + THIGH * np.array([math.cos(a), math.sin(a)])
        p[6 + leg] = p[4 + leg] + SHANK * np.array([math.cos(s), math.sin(s)])
        p[8 + leg] = p[6 + leg] + HEEL_DROP * np.array([math.sin(s), -math.cos(s)])
    return p


def image(p, scale=200.0, origin=(640.0, 420.0), roll=0.0, mirror=False):
    """Body-frame points -> image px (y down). Head on the left unless mirrored; `roll`
    (deg) turns the camera."""
    r = math.radians(roll)
    f, n = np.array([math.cos(r), math.sin(r)]), np.array([math.sin(r), -math.cos(r)])
    if mirror:
        f[0], n[0] = -f[0], -n[0]
    return np.asarray(origin) + scale * (p[:, :1] * f + p[:, 1:] * n)


REST = body()


def paired(img):
    """Image points -> (xs, ys) lists with the legs paired, as the gate hands them on."""
    xs, ys = img[:, 0].tolist(), img[:, 1].tolist()
    pair_legs(xs, ys, PY)
    return xs, ys


def frame_of(img_rest):
    return basis(rest_sample(*paired(img_rest), False, PY), PY)


def geo(img, b):
    return np.array(frame_geometry(*paired(img), b, PY))


def checks(img):
    return pose_checks(*paired(img), *LIMITS, PY)


def expected(thighs, knees, pelvis=(0.0, 0.0), rise=0.0):
    """The label-free outputs of `body(...)` in closed form (the working leg is the higher
    thigh); HIP is given as the thigh angle, checked separately."""
    w = int(thighs[1] > thighs[0])

    def heel(leg):
        a, s = math.radians(thighs[leg]), math.radians(thighs[leg] - knees[leg])
        return THIGH * math.sin(a) + SHANK * math.sin(s) - HEEL_DROP * math.cos(s) + HEEL_DROP

    # HEEL_W is against the live hip; HEEL_D against where the heels rested, less a rise of
    # the pelvis (the legs here hang from the hip, so a pelvis that drops takes the heel down);
    # THIGH_REST is the working knee seen from where the mid-hip rested (the origin)
    a = math.radians(thighs[w])
    knee = np.asarray(pelvis) + THIGH * np.array([math.cos(a), math.sin(a)])
    return {Geo.HIP: thighs[w], Geo.LEG: w, Geo.KNEE_W: knees[w], Geo.KNEE_D: knees[1 - w],
            Geo.HEEL_W: heel(w), Geo.HEEL_D: heel(1 - w) + min(pelvis[1], 0.0), Geo.SHOULDER: rise,
            Geo.PELVIS_F: pelvis[0], Geo.PELVIS_N: pelvis[1],
            Geo.THIGH_REST: math.degrees(math.atan2(knee[1], knee[0]))}  # fmt: skip


def assert_geometry(g, thighs, knees, pelvis=(0.0, 0.0), rise=0.0):
    want = expected(thighs, knees, pelvis, rise)
    want.pop(Geo.HIP)
    assert g[Geo.HIP] == g[Geo.HIP_L + int(want[Geo.LEG])]
    for a, h in zip(thighs, g[[Geo.HIP_L, Geo.HIP_R]], strict=True):
        if a > NO_TILT_BELOW:
            assert h + expected_tilt(h, PY) == pytest.approx(a, abs=1e-7)
        else:
            assert h == pytest.approx(a, abs=1e-7)
    for key, value in want.items():
        assert g[key] == pytest.approx(value, abs=1e-7), key.name


# ------------------------------------------------------------ the body frame, exact poses


def test_basis_of_a_resting_pose():
    b = frame_of(image(REST, scale=250.0))
    assert (b[Basis.FX], b[Basis.FY], b[Basis.NX], b[Basis.NY]) == pytest.approx((1, 0, 0, -1))
    assert (b[Basis.HIP_X], b[Basis.HIP_Y]) == pytest.approx((640.0, 420.0))
    assert (b[Basis.SH_X], b[Basis.SH_Y]) == pytest.approx((390.0, 420.0))
    assert b[Basis.TORSO] == pytest.approx(250.0)
    assert b[Basis.FOOT_H] == pytest.approx(-HEEL_DROP)
    assert head_side(b) == "left"
    assert head_side(frame_of(image(REST, mirror=True))) == "right"


def test_resting_pose_reads_zero_everywhere():
    g = geo(image(REST), frame_of(image(REST)))
    assert np.allclose(g[list(LABEL_FREE)], 0.0, atol=1e-9)
    assert np.allclose(g[[Geo.HIP_L, Geo.HIP_R]], 0.0, atol=1e-9)


@pytest.mark.parametrize("a", [10.0, 21.0, 30.0, 45.0, 97.0, 128.0])
def test_lifted_thigh_reads_flexion_without_its_normal_tilt(a):
    g = geo(image(body(thighs=(a, 0.0))), frame_of(image(REST)))
    assert_geometry(g, (a, 0.0), (0.0, 0.0))
    assert g[Geo.HIP_L] == g[Geo.HIP] and g[Geo.HIP_R] == pytest.approx(0.0, abs=1e-9)


def test_ninety_ninety_on_the_right_leg():
    a = tilted(90.0)
    g = geo(image(body(thighs=(0.0, a), knees=(0.0, 90.0))), frame_of(image(REST)))
    assert g[Geo.HIP] == pytest.approx(90.0) and g[Geo.KNEE_W] == pytest.approx(90.0)
    assert g[Geo.LEG] == 1.0 and g[Geo.HIP_R] == pytest.approx(90.0)
    assert g[Geo.KNEE_D] == pytest.approx(0.0, abs=1e-9)
    assert g[Geo.HEEL_D] == pytest.approx(0.0, abs=1e-9)
    assert_geometry(g, (0.0, a), (0.0, 90.0))


def test_shoulder_rise_and_pelvis_displacement_in_torso_lengths():
    p = body(thighs=(70.0, 3.0), knees=(60.0, 5.0), pelvis=(-0.04, 0.07), rise=0.12)
    g = geo(image(p, scale=310.0), frame_of(image(REST, scale=310.0)))
    assert g[Geo.SHOULDER] == pytest.approx(0.12)
    assert g[Geo.PELVIS_F] == pytest.approx(-0.04)  # toward the head
    assert g[Geo.PELVIS_N] == pytest.approx(0.07)  # up
    assert_geometry(g, (70.0, 3.0), (60.0, 5.0), (-0.04, 0.07), 0.12)
    # Angles are taken from the live mid-hip: a pelvis shift alone moves no angle.
    still = geo(image(body(pelvis=(0.05, -0.03)), scale=310.0), frame_of(image(REST, 310.0)))
    assert still[Geo.HIP] == pytest.approx(0.0, abs=1e-9)
    assert (still[Geo.PELVIS_F], still[Geo.PELVIS_N]) == pytest.approx((0.05, -0.03))


placement = dict(
    scale=st.floats(20.0, 2000.0), roll=st.floats(-60.0, 60.0), mirror=st.booleans(),
    ox=st.floats(-1000.0, 3000.0), oy=st.floats(-1000.0, 3000.0),
)  # fmt: skip


@settings(max_examples=120, deadline=None)
@given(w=st.floats(8.0, 130.0), kw=st.floats(0.0, 140.0), d=st.floats(-5.0, 0.0),
       kd=st.floats(0.0, 15.0), right=st.booleans(), df=st.floats(-0.1, 0.1),
       dn=st.floats(-0.1, 0.1), rise=st.floats(-0.05, 0.4), **placement)  # fmt: skip
def test_exact_geometry_wherever_the_athlete_is_in_the_image(
    w, kw, d, kd, right, df, dn, rise, scale, roll, mirror, ox, oy
):
    """Head left or right, camera rolled, any scale and position: the same numbers. (The
    down leg is kept on the floor: see test_a_slightly_lifted_down_leg_keeps_its_ankle.)"""
    thighs, knees = ((d, w), (kd, kw)) if right else ((w, d), (kw, kd))
    p = body(thighs, knees, (df, dn), rise)
    # The working foot stays above the floor (the resting heel line), as it must.
    assume(min(p[[6 + right, 8 + right], 1]) >= -HEEL_DROP - 0.01)
    place = dict(scale=scale, roll=roll, mirror=mirror, origin=(ox, oy))
    assert_geometry(geo(image(p, **place), frame_of(image(REST, **place))), thighs, knees,
                    (df, dn), rise)  # fmt: skip


def test_a_slightly_lifted_down_leg_keeps_its_ankle():
    """Working leg on its way up (hip 37.5, knee 80, heel near the floor), down leg 5 deg
    up with a straight knee: shorter shanks in sum alone would swap the ankles; shanks
    alike in length keep them."""
    thighs, knees = (37.5, 5.0), (80.0, 0.0)
    g = geo(image(body(thighs, knees)), frame_of(image(REST)))
    assert_geometry(g, thighs, knees)  # reads KNEE_W 58.6, KNEE_D 18.1


# ------------------------------------------------------------ label swaps


SWAPS = {"sh": (0, 1), "hip": (2, 3), "knee": (4, 5), "ankle": (6, 7), "heel": (8, 9)}


@settings(max_examples=200, deadline=None)
@given(thighs=st.tuples(st.floats(-10.0, 130.0), st.floats(-10.0, 130.0)),
       knees=st.tuples(st.floats(0.0, 140.0), st.floats(0.0, 140.0)),
       swaps=st.sets(st.sampled_from(sorted(SWAPS)), min_size=1),
       roll=st.floats(-30.0, 30.0), mirror=st.booleans())  # fmt: skip
def test_label_swaps_change_no_angle(thighs, knees, swaps, roll, mirror):
    assume(abs(thighs[0] - thighs[1]) > 1e-3)  # an exact tie falls to knee label 0
    b = frame_of(image(REST, roll=roll, mirror=mirror))
    img = image(body(thighs, knees, (0.02, 0.03), 0.05), roll=roll, mirror=mirror)
    ref = geo(img, b)
    order = list(range(10))
    for name in swaps:
        i, j = SWAPS[name]
        order[i], order[j] = j, i
    got = geo(img[order], b)
    # The pairing itself: the same ankle and heel for each knee, whatever their labels.
    perm = [5, 4, 7, 6, 9, 8] if "knee" in swaps else [4, 5, 6, 7, 8, 9]
    assert (np.array(paired(img[order]))[:, 4:] == np.array(paired(img))[:, perm]).all()
    assert np.allclose(got[list(LABEL_FREE)], ref[list(LABEL_FREE)], rtol=0, atol=1e-9)
    assert got[Geo.LEG] == (1.0 - ref[Geo.LEG] if "knee" in swaps else ref[Geo.LEG])
    hips = [Geo.HIP_R, Geo.HIP_L] if "knee" in swaps else [Geo.HIP_L, Geo.HIP_R]
    assert np.allclose(got[hips], ref[[Geo.HIP_L, Geo.HIP_R]], atol=1e-9)


# ------------------------------------------------------------ floats == arrays, NaN


def random_poses(rng, n, nan_rate):
    """(n, 10, 2) image points of random poses, placements and dropouts."""
    out = np.empty((n, 10, 2))
    for i in range(n):
        p = body(rng.uniform(-20, 140, 2), rng.uniform(-10, 160, 2), rng.normal(0, 0.05, 2),
                 rng.uniform(-0.1, 0.4))  # fmt: skip
        p += rng.normal(0, 0.05, p.shape)  # points off the rigid model too
        out[i] = image(p, rng.uniform(30, 600), rng.uniform(-500, 1500, 2),
                       rng.uniform(-80, 80), rng.random() < 0.5)  # fmt: skip
    out[rng.random((n, 10)) < nan_rate] = np.nan
    return out


@pytest.mark.parametrize("nan_rate", [0.0, 0.15])
def test_floats_and_arrays_give_the_same_numbers(nan_rate):
    rng = np.random.default_rng(7)
    n = 600
    live, rest = random_poses(rng, n, nan_rate), random_poses(rng, n, nan_rate / 3)
    xs, ys, rx, ry = (list(a) for a in (live[..., 0].T, live[..., 1].T, rest[..., 0].T,
                                         rest[..., 1].T))  # fmt: skip
    pair_legs(xs, ys, NUM)
    pair_legs(rx, ry, NUM)
    xs, ys, rx, ry = (np.array(a) for a in (xs, ys, rx, ry))
    for lower in (False, True):
        bn = basis(rest_sample(rx, ry, lower, NUM), NUM)
        gn = np.array(frame_geometry(xs, ys, bn, NUM))
        cn = np.array(pose_checks(xs, ys, *LIMITS, NUM), dtype=float)
        for t in range(n):
            bp = basis(rest_sample(rx[:, t].tolist(), ry[:, t].tolist(), lower, PY), PY)
            gp = frame_geometry(xs[:, t].tolist(), ys[:, t].tolist(), bp, PY)
            cp = pose_checks(xs[:, t].tolist(), ys[:, t].tolist(), *LIMITS, PY)
            np.testing.assert_allclose(np.array(bp, float), np.array(bn)[:, t], rtol=1e-12,
                                       atol=1e-9)  # fmt: skip
            np.testing.assert_allclose(np.array(gp, float), gn[:, t], rtol=1e-12, atol=1e-9)
            np.testing.assert_array_equal(np.array(cp[:4]), cn[:4, t])
            np.testing.assert_allclose(cp[4], cn[4, t], rtol=1e-12)
        assert nan_rate == 0 or np.isnan(gn).any()  # the NaN paths were exercised


@pytest.mark.parametrize("xp", [PY, NUM])
def test_missing_points_give_nan_not_an_exception(xp):
    b = frame_of(image(REST))
    img = image(body(thighs=(60.0, 0.0), knees=(40.0, 0.0)))

    def run(*lost):
        p = img.copy()
        p[list(lost)] = np.nan
        if xp is PY:
            return geo(p, b)
        xs, ys = list(p[:, :1]), list(p[:, 1:])
        pair_legs(xs, ys, NUM)
        return np.array(frame_geometry(xs, ys, b, NUM))[:, 0]

    assert np.isfinite(run()).all()
    g = run(3)  # one hip: the other (SPREAD off the middle) stands in for the mid-hip
    assert np.isfinite(g).all() and g[Geo.PELVIS_F : Geo.PELVIS_N + 1] == pytest.approx(SPREAD)
    g = run(4)  # the working knee: the other leg is all that is known
    assert np.isnan(g[[Geo.KNEE_D, Geo.HIP_L]]).all() and g[Geo.LEG] == 1.0
    assert g[Geo.HIP] == pytest.approx(0.0, abs=1e-9) and np.isfinite(g[Geo.HEEL_D])
    g = run(6)  # the working ankle: its knee flexion only
    assert np.isnan(g[Geo.KNEE_W]) and np.isfinite(np.delete(g, Geo.KNEE_W)).all()
    g = run(2, 3)  # both hips: only the shoulders and the thigh from where the hips rested
    assert np.isfinite(g[[Geo.SHOULDER, Geo.THIGH_REST]]).all() and g[Geo.LEG] == 0.0
    assert np.isnan(np.delete(g, [Geo.SHOULDER, Geo.LEG, Geo.THIGH_REST])).all()
    g = run(*range(10))
    assert g[Geo.LEG] == 0.0 and np.isnan(np.delete(g, Geo.LEG)).all()


# ------------------------------------------------------------ baseline-free checks


def test_pose_checks_lying_or_upright():
    lying, one, both, rest, torso = checks(image(REST, scale=180.0))
    assert lying and one and both and rest and torso == pytest.approx(180.0)
    assert all(checks(image(REST, roll=25.0, mirror=True))[:4])
    assert not any(checks(image(REST, roll=80.0))[:4])  # standing or sitting up
    assert not any(checks(image(REST, roll=-80.0, mirror=True))[:4])
    # A tuck lifts the trunk (39 deg here) but not the shoulder-to-ankle line: lying.
    tuck = image(body(thighs=(120.0, 120.0), knees=(140.0, 140.0), rise=0.8))
    assert checks(tuck)[:4] == (True, False, False, False)


@pytest.mark.parametrize("thighs,knees,want", [
    ((0.0, 0.0), (0.0, 0.0), (True, True, True)),  # long and together
    ((-4.0, 3.0), (8.0, 2.0), (True, True, True)),  # near enough
    ((45.0, 0.0), (0.0, 0.0), (True, False, False)),  # one leg lifted
    ((0.0, 97.0), (0.0, 90.0), (True, False, False)),  # 90/90 on the right
    ((0.0, 0.0), (0.0, 50.0), (True, False, False)),  # one knee bent
    ((20.0, 20.0), (60.0, 60.0), (False, False, False)),  # both knees bent
    ((0.0, 20.0), (0.0, 0.0), (True, True, False)),  # long but apart
])  # fmt: skip
def test_pose_checks_legs(thighs, knees, want):
    """(one leg long, both long, at rest) for lying poses, camera rolled."""
    for mirror in (False, True):
        got = checks(image(body(thighs, knees), roll=10.0, mirror=mirror))
        assert got[0] and got[1:4] == want


# ------------------------------------------------------------ tilt


def test_expected_tilt_values():
    assert expected_tilt(60.0, PY) == pytest.approx(4.0)
    assert expected_tilt(128.0, PY) == pytest.approx(11.0)
    assert expected_tilt(NO_TILT_BELOW, PY) == pytest.approx(0.0, abs=1e-12)
    assert expected_tilt(0.0, PY) == 0.0 and expected_tilt(-30.0, PY) == 0.0


@settings(max_examples=300, deadline=None)
@given(st.floats(-60.0, 200.0))
def test_hip_flexion_plus_its_normal_tilt_is_the_thigh_angle(a):
    h = hip_flexion(a, PY)
    assert h + expected_tilt(h, PY) == pytest.approx(a, abs=1e-9)
    if a <= NO_TILT_BELOW:
        assert h == a
    assert hip_flexion(np.array([a]), NUM)[0] == pytest.approx(h, abs=1e-12)
    assert hip_flexion(a + 1.0, PY) > h  # strictly increasing: no fold in the inverse


@settings(max_examples=200, deadline=None)
@given(size=st.floats(0.0, 0.3), direction=st.floats(0.0, 360.0), r=st.floats(0.05, 1.0))
def test_pelvis_tilt_reads_the_posterior_quadrant_only(size, direction, r):
    c, s = math.cos(math.radians(direction)), math.sin(math.radians(direction))
    along_f, along_n = size * c, size * s  # direction 90..180 = up and toward the head
    tilt = pelvis_tilt(along_f, along_n, r, PY)
    toward_head, up = max(-along_f, 0.0), max(along_n, 0.0)
    assert tilt == pytest.approx(math.degrees(math.hypot(toward_head, up) / r), abs=1e-9)
    if 90.0 <= direction <= 180.0:  # the whole displacement is an arc of tilt
        assert tilt == pytest.approx(math.degrees(size / r), abs=1e-9)
    if c >= 0.0 and s <= 0.0:  # toward the feet and down: no posterior tilt
        assert tilt == 0.0
    assert pelvis_tilt(np.array([along_f]), np.array([along_n]), r, NUM)[0] == pytest.approx(tilt)


def test_pelvis_tilt_units():
    r = 0.26
    assert pelvis_tilt(0.0, r * math.radians(10.0), r, PY) == pytest.approx(10.0)
    assert pelvis_tilt(-r * math.radians(10.0), 0.0, r, PY) == pytest.approx(10.0)
    assert pelvis_tilt(0.3, -0.2, r, PY) == 0.0
    assert pelvis_tilt(0.3, r * math.radians(6.0), r, PY) == pytest.approx(6.0)
