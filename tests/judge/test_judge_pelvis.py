"""The athlete's own pelvis (edge/judge/pelvis.py): where it rests, the path the hip takes
under tilt, and how far along that path a rep carried it, unbiased by keypoint jitter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from adversarial import make_adversarial_clip

from edge.judge import faults as rules
from edge.judge import judge_clip
from edge.judge.pelvis import PATH_RANGE_DEG, PRIOR_PATH_DEG, PelvisScale
from edge.kinematics import NUM, Basis, expected_tilt

FPS, RADIUS = 30.0, 0.26


def settled_scale() -> PelvisScale:
    """A scale whose resting point has averaged a second of still frames."""
    scale = PelvisScale(FPS, RADIUS)
    xs, ys = [0.0] * 17, [0.0] * 17
    for _ in range(int(FPS)):
        scale.observe(xs, ys, 1.0, settled=True)
    return scale


def path_deg(scale: PelvisScale) -> float:
    """The learned path in degrees above the line toward the head."""
    return math.degrees(math.atan2(scale.path[1], -scale.path[0]))


def test_path_starts_at_the_prior_and_reads_displacements_along_it():
    scale = PelvisScale(FPS, RADIUS)
    assert path_deg(scale) == pytest.approx(PRIOR_PATH_DEG)
    a = math.radians(PRIOR_PATH_DEG)
    assert scale.along_path(-0.1 * math.cos(a), 0.1 * math.sin(a)) == pytest.approx(0.1)
    # square to the path (toward the feet and up, or back): reads nothing
    assert scale.along_path(0.1 * math.sin(a), 0.1 * math.cos(a)) == pytest.approx(0.0)


@pytest.mark.parametrize("true_deg", [20.0, 45.0, 75.0])
def test_path_is_learned_from_jittery_reps(true_deg):
    """Each rep's displacement is far too noisy to point anywhere; their sum is not."""
    rng = np.random.default_rng(int(true_deg))
    scale = settled_scale()
    a = math.radians(true_deg)
    for _ in range(9):
        weight, travel = 12.0, 0.035  # a rep's sum of p^2 and its travel at the top
        noise = rng.normal(0.0, 0.02 * math.sqrt(weight), 2)  # SE 0.02 per axis at the top
        sums = (-travel * math.cos(a) * weight + noise[0], travel * math.sin(a) * weight + noise[1])
        scale.learn(travel, 95.0, (*sums, weight))
    assert path_deg(scale) == pytest.approx(true_deg, abs=8.0)


def normal_rep(scale: PelvisScale, per_deg: float, flexion: float = 95.0, excess: float = 0.0,
               weight: float = 12.0) -> None:  # fmt: skip
    """Teach `scale` one rep of an athlete whose hip travels `per_deg` per degree of tilt."""
    travel = per_deg * (float(expected_tilt(flexion, NUM)) + excess)
    scale.learn(travel, flexion, (-0.7 * travel * weight, 0.7 * travel * weight, weight))


def test_scale_is_learned_from_a_clean_camera_at_once_and_a_rounded_rep_cannot_move_it():
    scale = settled_scale()
    scale.noise = 0.002  # torso lengths per axis per frame: BlazePose on real footage
    nominal = scale.per_deg
    true = 0.6 * nominal  # a short-radius athlete, far from the textbook pelvis
    normal_rep(scale, true)
    assert scale.per_deg == pytest.approx(true, rel=0.1)
    for _ in range(3):
        normal_rep(scale, true)
    normal_rep(scale, true, excess=20.0)  # a rounded rep: three times the normal travel
    assert scale.per_deg == pytest.approx(true, rel=0.05)


def test_a_jittery_camera_leans_on_the_prior_longer():
    clean, jittery = settled_scale(), settled_scale()
    clean.noise, jittery.noise = 0.002, 0.05  # torso lengths per axis per frame: 0.7%
    nominal = clean.per_deg
    for scale in (clean, jittery):
        normal_rep(scale, 0.6 * nominal)
    assert abs(clean.per_deg - 0.6 * nominal) < abs(jittery.per_deg - 0.6 * nominal)
    assert 0.6 * nominal < jittery.per_deg < nominal


def test_path_stays_in_the_posterior_quadrant():
    scale = settled_scale()
    for _ in range(9):
        scale.learn(0.03, 95.0, (5.0, -5.0, 12.0))  # toward the feet and down: no tilt does
    assert path_deg(scale) == pytest.approx(PATH_RANGE_DEG[0])


def test_unknown_sums_teach_nothing():
    scale = settled_scale()
    before = (scale.path, scale.per_deg)
    scale.learn(math.nan, 95.0, (math.nan, math.nan, math.nan))
    assert (scale.path, scale.per_deg) == before


def test_resting_point_averages_like_a_mean_then_follows_slowly():
    """Its variance (a fraction of one frame's) is 1/k over the first k frames, then
    settles at the exponential average's; until then no rep teaches the scale."""
    scale = PelvisScale(FPS, RADIUS)
    assert scale.reference_var == 1.0
    xs, ys = [0.0] * 17, [0.0] * 17
    for k in range(1, 5):
        scale.observe(xs, ys, 1.0, settled=True)
        assert scale.reference_var == pytest.approx(1.0 / k)
    before = scale.per_deg
    scale = PelvisScale(FPS, RADIUS)
    scale.observe(xs, ys, 1.0, settled=True)
    scale.learn(0.2, 95.0, (-1.0, 1.0, 12.0))  # one frame of rest: too uncertain to learn from
    assert scale.per_deg == before and path_deg(scale) == pytest.approx(PRIOR_PATH_DEG)
    for _ in range(int(10 * FPS)):
        scale.observe(xs, ys, 1.0, settled=True)
    g = 1.0 - math.exp(-1.0 / FPS)  # SETTLE_TAU_S = 1 s
    assert scale.reference_var == pytest.approx(g / (2.0 - g), rel=1e-3)


def test_hips_weigh_alike_until_their_jitter_is_known_then_by_it():
    """Two steps cannot tell which hip jitters more (a first weight of 0.04 once put the
    pelvis point on the noisier hip); a few seconds can: the far hip, 1.6x as jittery,
    then weighs 1 / (1 + 1.6^2) of the point."""
    rng = np.random.default_rng(3)
    scale = PelvisScale(FPS, RADIUS)
    xs, ys = [0.0] * 17, [0.0] * 17
    weights = []
    for _ in range(int(10 * FPS)):
        near, far = rng.normal(0.0, 0.01, 2), rng.normal(0.0, 0.016, 2)
        xs[2], ys[2], xs[3], ys[3] = near[0], near[1], far[0], far[1]
        scale.observe(xs, ys, 1.0, settled=True)
        weights.append(scale.weight)
    assert abs(weights[2] - 0.5) < 0.1
    assert weights[-1] == pytest.approx(1.6**2 / (1.0 + 1.6**2), abs=0.06)


def test_resting_point_follows_the_weights_it_is_read_with():
    """Each hip rests in its own place (an oblique view): the resting pelvis point is the
    hips' resting places under today's weights, so a change of weights moves no rep."""
    scale = PelvisScale(FPS, RADIUS)
    xs, ys = [0.0] * 17, [0.0] * 17
    xs[2], xs[3] = 10.0, 14.0  # the two hips rest 4 px apart
    for _ in range(int(FPS)):
        scale.observe(xs, ys, 1.0, settled=True)
    frame = tuple(float(i) for i in range(len(Basis)))
    for w in (0.2, 0.8):
        scale.weight = w
        b = scale.frame(frame)
        assert b[Basis.HIP_X] == pytest.approx(w * 10.0 + (1.0 - w) * 14.0)
        assert b[Basis.HIP_W] == w


def rep_travels(monkeypatch, seed: int, tier: float, fps: float) -> dict[float, float]:
    """Each rep's pelvis travel at the top (torso lengths) by its peak time."""
    out: dict[float, float] = {}
    measure = rules.measure

    def keep(*args, **kwargs):
        m = measure(*args, **kwargs)
        out[m.peak_s] = m.travel
        return m

    monkeypatch.setattr(rules, "measure", keep)
    clip = make_adversarial_clip(seed, tier, fps, swaps=False, dropouts=False, provisional=False)
    judge_clip(clip.track.keypoints, clip.track.landmarks, fps)
    return out


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_jitter_does_not_shorten_the_pelvis_travel(monkeypatch, fps):
    """The same reps read at 0.7% jitter and at none travel as far on average. Frames with
    the pelvis at rest are picked by the thigh seen from the resting point: picked by the
    live hip's flexion, the frames whose hip jittered up read less flexion and were kept,
    the resting point sat above the truth, and every rep's travel read a fifth short."""
    quiet, noisy = [], []
    for seed in range(8):
        a = rep_travels(monkeypatch, seed, 0.0001, fps)
        b = rep_travels(monkeypatch, seed, 0.7, fps)
        for t, travel in a.items():
            near = min(b, key=lambda u: abs(u - t))
            if abs(near - t) < 0.5:
                quiet.append(travel)
                noisy.append(b[near])
    assert len(quiet) > 40
    assert np.mean(noisy) / np.mean(quiet) == pytest.approx(1.0, abs=0.1)
