"""The per-frame recursions of edge.tracking: frame-rate-free gains, the confidence gate,
and the resting baseline (rest at any fps, provisional while moving, rest replaces it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kinematics import REST, body, image

from edge.config.exercise import ExerciseConfig
from edge.keypoints import BP_L_HEEL, BP_R_HEEL
from edge.kinematics import COCO_POINTS, PY, Basis, basis, rest_sample
from edge.tracking import NO_BASELINE, PROVISIONAL, RESTING, Baseline, PointGate, gain

CFG = ExerciseConfig()
JITTER = 0.005 * math.hypot(1280, 720)  # px per coordinate: 0.5% of a 1280x720 diagonal
TORSO = 200.0  # px: an athlete about 650 px long across a 1280 px wide frame


def keypoints(img, score=0.9):
    k = np.zeros((17, 3))
    k[:, 2] = score
    k[COCO_POINTS, :2] = img[:8]
    return k


def landmarks(img, visibility=0.9):
    lm = np.zeros((33, 4))
    lm[:, 3] = visibility
    lm[[BP_L_HEEL, BP_R_HEEL], :2] = img[8:]
    return lm


# ------------------------------------------------------------ gains


@settings(max_examples=200, deadline=None)
@given(tau=st.floats(0.01, 10.0), fps=st.integers(1, 240))
def test_gain_is_frame_rate_free(tau, fps):
    """fps steps at fps decay as much as one step at 1 fps: (1 - g)^fps is constant."""
    g = gain(tau, float(fps))
    assert 0.0 < g <= 1.0
    decay = (1.0 - g) ** fps  # (1 - g is exact only to ~1e-16: hence abs)
    assert decay == pytest.approx(1.0 - gain(tau, 1.0), rel=1e-9, abs=1e-12)
    assert decay == pytest.approx(math.exp(-1.0 / tau), rel=1e-9, abs=1e-12)


def test_gain_without_a_time_constant_passes_through():
    assert gain(0.0, 30.0) == 1.0 and gain(-1.0, 30.0) == 1.0
    assert gain(0.5, 60.0) < gain(0.5, 10.0) < gain(0.1, 10.0)


# ------------------------------------------------------------ the gate


def test_gate_holds_short_gaps_then_loses_the_point():
    gate, fps = PointGate(CFG), 30.0  # min_score 0.3, max_gap_s 0.3
    img = image(REST)
    out = []
    for i in range(40):
        k = keypoints(img + i)  # everything moves 1 px a frame
        if 10 <= i < 30:
            k[13] = (-5.0, -5.0, 0.29)  # left knee (point 4) below min_score: ignored
        if i >= 35:
            k[14, 2] = 0.3  # right knee exactly at min_score: seen
        xs, ys, seen = gate.update(i / fps, k, None)
        assert seen and len(xs) == len(ys) == 10
        out.append((xs[4], ys[4], xs[5]))
        assert gate.fresh(4) == (not 10 <= i < 30)  # seen on this frame, not just held
    last = (img[4, 0] + 9, img[4, 1] + 9)
    for i in range(10, 17):  # up to 0.23 s unseen: held where last seen
        assert out[i][:2] == pytest.approx(last)
    for i in range(20, 30):  # 0.37 s and more: lost
        assert math.isnan(out[i][0]) and math.isnan(out[i][1])
    assert out[30][:2] == pytest.approx((img[4, 0] + 30, img[4, 1] + 30))  # seen again
    assert out[39][2] == pytest.approx(img[5, 0] + 39)


def test_gate_unseen_from_the_start_and_non_finite_points():
    gate = PointGate(CFG)
    k = keypoints(image(REST), score=0.0)
    xs, ys, seen = gate.update(0.0, k, None)
    assert not seen and all(math.isnan(v) for v in xs + ys)
    k = keypoints(image(REST))
    k[5, :2] = np.nan  # left shoulder: a confident NaN is not a position
    xs, ys, seen = gate.update(0.1, k, None)
    assert seen and math.isnan(xs[0]) and not any(math.isnan(v) for v in xs[1:])


def test_gate_takes_heels_from_blazepose_else_the_ankles():
    img = image(body(thighs=(0.0, 97.0), knees=(0.0, 90.0)))
    xs, ys, _ = PointGate(CFG).update(0.0, keypoints(img), landmarks(img))
    assert (xs[8:], ys[8:]) == (pytest.approx(img[8:, 0]), pytest.approx(img[8:, 1]))
    xs, ys, _ = PointGate(CFG).update(0.0, keypoints(img), None)
    assert (xs[8:], ys[8:]) == (pytest.approx(img[6:8, 0]), pytest.approx(img[6:8, 1]))
    # The heels' own visibility gates them, whatever the ankles' scores.
    gate = PointGate(CFG)
    gate.update(0.0, keypoints(img), landmarks(img))
    xs, _, _ = gate.update(0.5, keypoints(img), landmarks(img + 3.0, visibility=0.1))
    assert math.isnan(xs[8]) and math.isnan(xs[9]) and xs[6] == pytest.approx(img[6, 0])
    k = keypoints(img)
    k[15, 2] = 0.0  # left ankle unseen: so is the heel that stands in for it
    xs, _, _ = PointGate(CFG).update(0.0, k, None)
    assert math.isnan(xs[6]) and math.isnan(xs[8]) and xs[9] == pytest.approx(img[7, 0])


# ------------------------------------------------------------ the baseline


def simulate(fps, seconds, pose_at, jitter=0.0, seed=0, torso=TORSO):
    """Drive gate + baseline with `pose_at(t)` (body-frame points) seen at (1280, 720)."""
    rng = np.random.default_rng(seed)
    gate, base = PointGate(CFG), Baseline(fps, CFG)
    log = []
    for i in range(round(seconds * fps)):
        t = i / fps
        p, roll = pose_at(t)
        img = image(p, scale=torso, origin=(420.0, 420.0), roll=roll)
        img += rng.normal(0.0, jitter, img.shape)
        xs, ys, _ = gate.update(t, keypoints(img), None)
        lying = base.update(t, xs, ys, gate.fresh_trunk_and_knees())
        log.append((t, base.kind, base.frame, lying, base.resting, xs, ys))
    return base, log


def first(log, kind):
    return next((row[0] for row in log if row[1] == kind), math.inf)


def still(t):
    return REST, 0.0


def lifting(t):
    """One leg going up and down without pause, 45..100 deg, knee bending with it."""
    a = 72.5 - 27.5 * math.cos(2.0 * math.pi * t / 1.6)
    return body(thighs=(a, 0.0), knees=(20.0 + 70.0 * (a - 45.0) / 55.0, 0.0)), 0.0


@pytest.mark.parametrize("fps", [10.0, 30.0, 60.0])
def test_still_rest_gives_a_rest_baseline_after_settle_s_at_any_fps(fps):
    settle = CFG.baseline.settle_s
    for seed in range(6):
        base, log = simulate(fps, 2.5, still, JITTER, seed)
        assert log[0][1] == PROVISIONAL  # the first lying frame, until the rest has settled
        # settled, then outlasted the smoothing (a rest frame counts only once the rest has
        # gone on for still_smooth_s after it)
        delay = CFG.baseline.still_smooth_s
        assert settle + delay - 1e-9 <= first(log, RESTING) <= settle + delay + 0.3
        assert np.mean([row[4] for row in log]) >= 0.9
        assert base.kind == RESTING
        f = base.frame
        assert math.degrees(math.atan2(f[Basis.FY], f[Basis.FX])) == pytest.approx(0, abs=2.5)
        assert f[Basis.TORSO] == pytest.approx(TORSO, rel=0.05)
        # heels = ankles here; a few dozen frames of 0.05-torso jitter averaged
        assert f[Basis.FOOT_H] == pytest.approx(0.0, abs=0.07)


def test_settling_gets_no_stricter_with_fps_near_the_threshold():
    """A small athlete (55 px torso), jitter near the stillness limit: the speed is itself
    averaged, so its noise falls as the frame rate rises and settling takes no longer."""

    def median_first_rest(fps):
        runs = [simulate(fps, 4.0, still, JITTER, seed, torso=55.0)[1] for seed in range(9)]
        return float(np.median([first(log, RESTING) for log in runs]))

    assert median_first_rest(60.0) <= median_first_rest(10.0) + 0.5  # never vs 0.7 s


def test_an_athlete_already_moving_gets_a_provisional_baseline():
    def pose_at(t):  # standing for half a second, then lying and lifting
        return (REST, 80.0) if t < 0.5 else lifting(t)

    _, log = simulate(30.0, 5.0, pose_at, JITTER, seed=3)
    k = next(i for i, row in enumerate(log) if row[3])  # lying, read on the smoothed pose
    assert 0.5 <= log[k][0] <= 0.5 + CFG.baseline.still_smooth_s
    assert all(row[1] == NO_BASELINE and row[2] is None for row in log[:k])
    _, kind, frame, _, _, xs, ys = log[k]
    assert kind == PROVISIONAL
    assert frame == pytest.approx(basis(rest_sample(xs, ys, True, PY), PY))
    assert frame[Basis.FOOT_H] == pytest.approx(0.0, abs=0.1)  # the lower foot, not the mean
    # Never long-legged, together and still: the first lying frame stands all along.
    assert all(row[1] == PROVISIONAL and row[2] == frame for row in log[k:])
    assert not any(row[4] for row in log)


def test_the_first_rest_replaces_a_provisional_baseline():
    def pose_at(t):
        return lifting(t) if t < 3.0 else still(t)

    base, log = simulate(30.0, 5.0, pose_at)
    assert log[0][1] == PROVISIONAL
    t_rest = first(log, RESTING)
    assert 3.0 + CFG.baseline.settle_s <= t_rest <= 4.5
    assert all(row[1] == RESTING for row in log if row[0] >= t_rest)
    # Nothing of the provisional baseline is left in the rest one.
    img = image(REST, scale=TORSO, origin=(420.0, 420.0))
    img[8:] = img[6:8]  # no BlazePose: the gate's heels are the ankles
    xs, ys = img.T.tolist()
    assert base.frame == pytest.approx(basis(rest_sample(xs, ys, False, PY), PY), abs=1e-9)
    assert base.frame[Basis.FOOT_H] == pytest.approx(0.0, abs=1e-12)  # heels = ankles here


def test_a_lift_from_rest_stays_out_of_the_rest_baseline():
    """Rest, then a lift to 90/90 in 1 s: the smoothed pose reads the lift's first frames
    as rest, but a rest frame counts only once the rest outlasts the smoothing, so none of
    them reaches the resting heel height."""

    def pose_at(t):
        u = min(max(t - 1.5, 0.0), 1.0)
        return body(thighs=(97.0 * u, 0.0), knees=(90.0 * u, 0.0)), 0.0

    base, _ = simulate(30.0, 3.0, pose_at)
    assert base.kind == RESTING
    assert base.frame[Basis.FOOT_H] == pytest.approx(0.0, abs=0.01)
