"""The setup checks of `hipflex aim`, each on its own, on exact synthetic geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge import aim
from edge.aim import (
    Window,
    assess,
    athlete_check,
    fill_check,
    floor_line,
    framing_check,
    level_check,
    light_check,
    posture,
    side_view_check,
    side_view_separation,
)

W, H = 1280, 720
MIN_SCORE, LYING_MAX = 0.3, 30.0

# A lying athlete in body units (torso lengths): x from head to feet, y up off the floor.
# COCO index -> (x, y); odd indices are the left side, even the right.
BODY_UNITS = {
    0: (-0.45, 0.1), 1: (-0.42, 0.15), 2: (-0.42, 0.15), 3: (-0.3, 0.08), 4: (-0.3, 0.08),
    5: (0.0, 0.0), 6: (0.0, 0.0), 7: (0.5, 0.05), 8: (0.5, 0.05), 9: (1.0, 0.05),
    10: (1.0, 0.05), 11: (1.0, 0.0), 12: (1.0, 0.0), 13: (1.85, 0.0), 14: (1.85, 0.0),
    15: (2.7, 0.0), 16: (2.7, 0.0),
}  # fmt: skip
SPAN_UNITS = 2.7 + 0.45  # nose to ankles
SHOULDER_SIDE = (3, 4, 5, 6, 7, 8, 9, 10)  # these joints separate like the shoulders


def lying(
    *,
    frames: int = 10,
    scale: float = 200.0,
    center: tuple[float, float] = (W / 2, H / 2),
    roll_deg: float = 0.0,
    hip_sep: tuple[float, float] = (0.0, 0.0),
    shoulder_sep: tuple[float, float] = (0.0, 0.0),
    score: float = 0.9,
) -> np.ndarray:
    """(frames, 17, 3) keypoints of an athlete lying flat, head on the left.

    Left and right joints sit `hip_sep` / `shoulder_sep` apart (along the body, across it)
    in torso lengths; the picture is rolled by `roll_deg` (positive: the floor drops toward
    the right) about `center`, where the body's bounding box is centred.
    """
    body = np.array([BODY_UNITS[i] for i in range(17)], dtype=np.float64)
    for i in range(1, 17):
        sep = np.array(shoulder_sep if i in SHOULDER_SIDE else hip_sep)
        body[i] += (0.5 if i % 2 else -0.5) * sep * np.array([1.0, 1.0])
    xy = np.stack([body[:, 0], -body[:, 1]], axis=-1) * scale  # image y points down
    xy -= 0.5 * (xy.min(axis=0) + xy.max(axis=0))
    r = math.radians(roll_deg)
    rot = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
    xy = xy @ rot.T + np.array(center)
    kp = np.empty((frames, 17, 3))
    kp[..., :2] = xy
    kp[..., 2] = score
    return kp


def standing(frames: int = 10, score: float = 0.9) -> np.ndarray:
    """The lying athlete stood up: the body axis vertical, head at the top."""
    kp = lying(frames=frames, score=score)
    c = np.array([W / 2, H / 2])
    kp[..., :2] = (kp[..., :2] - c) @ np.array([[0.0, -1.0], [1.0, 0.0]]).T * 0.5 + c
    return kp


def sitting(frames: int = 10) -> np.ndarray:
    """Sitting up with legs long: the trunk vertical above the hips."""
    kp = lying(frames=frames)
    hip = kp[:, 11, :2].copy()
    for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10):  # the upper body swings up about the hips
        d = kp[:, i, :2] - hip
        kp[:, i, :2] = hip + np.stack([d[:, 1], d[:, 0]], axis=-1)
    return kp


# ---------------------------------------------------------------- athlete


def test_a_lying_athlete_is_found() -> None:
    check = athlete_check(posture(lying(), MIN_SCORE, LYING_MAX))
    assert check.ok
    assert check.detail == "lying down in view (100% of 10 frames)"


def test_a_standing_person_is_not_lying() -> None:
    p = posture(standing(), MIN_SCORE, LYING_MAX)
    assert p.present.all() and not p.lying.any() and p.standing.all()
    check = athlete_check(p)
    assert not check.ok
    assert check.detail == "nobody is lying down in view: the person in view is standing"
    assert check.advice == "ask the athlete to lie on their back, legs long, side-on to the camera"


def test_sitting_up_is_not_lying_and_not_standing() -> None:
    check = athlete_check(posture(sitting(), MIN_SCORE, LYING_MAX))
    assert check.detail == "nobody is lying down in view: the person in view is sitting up"


def test_an_empty_picture_has_nobody() -> None:
    check = athlete_check(posture(lying(score=0.0), MIN_SCORE, LYING_MAX))
    assert not check.ok
    assert check.detail == "nobody is lying down in view: nobody is seen at all"
    assert "check that the camera looks at the mat" in check.advice


def test_no_frames_at_all() -> None:
    check = athlete_check(posture(np.zeros((0, 17, 3)), MIN_SCORE, LYING_MAX))
    assert not check.ok and check.detail == "no frames came from the source"


def test_half_the_frames_lying_is_enough_and_less_is_not() -> None:
    assert athlete_check(posture(np.concatenate([lying(), standing()]), 0.3, 30.0)).ok
    mostly_up = np.concatenate([lying(frames=9), standing(frames=11)])
    assert not athlete_check(posture(mostly_up, MIN_SCORE, LYING_MAX)).ok


def test_the_lying_limit_is_the_configured_one() -> None:
    tilted = lying(roll_deg=25.0)
    assert posture(tilted, MIN_SCORE, 30.0).lying.all()
    assert not posture(tilted, MIN_SCORE, 20.0).lying.any()


# ---------------------------------------------------------------- in frame


def shifted(kp: np.ndarray, joint: int, *, x: float | None = None, y: float | None = None):
    """Translate the whole body so `joint` lands at image x and/or y."""
    kp = kp.copy()
    if x is not None:
        kp[..., 0] += x - kp[0, joint, 0]
    if y is not None:
        kp[..., 1] += y - kp[0, joint, 1]
    return kp


def test_a_centred_body_is_in_frame() -> None:
    check = framing_check(lying(), W, H, MIN_SCORE)
    assert check.ok
    # span 3.15 * 200 = 630 px centred in 1280: the ankles are (1280 - 630) / 2 from the right
    assert check.detail == "closest to an edge: the ankles, 25% of the picture from the right"


def test_ankles_at_the_margin_pass_and_closer_fail_with_a_turn() -> None:
    assert framing_check(shifted(lying(), 15, x=W * 0.97), W, H, MIN_SCORE).ok
    check = framing_check(shifted(lying(), 15, x=W * 0.98), W, H, MIN_SCORE)
    assert not check.ok
    assert check.detail == (
        "closest to an edge: the ankles, 2% of the picture from the right (needs 3%)"
    )
    assert check.advice == "turn the camera a little toward the ankles"


def test_a_joint_outside_the_frame_fails() -> None:
    check = framing_check(shifted(lying(), 5, x=-10.0), W, H, MIN_SCORE)
    assert not check.ok
    assert check.detail.startswith("closest to an edge: the shoulders, -1% of the picture")
    assert check.advice == "turn the camera a little toward the shoulders"


def test_a_body_too_long_for_the_frame_asks_to_move_back() -> None:
    kp = shifted(lying(scale=W * 0.97 / 2.7), 15, x=W * 0.99)  # shoulders to ankles: 97%
    assert kp[0, 5, 0] == pytest.approx(W * 0.02)
    check = framing_check(kp, W, H, MIN_SCORE)
    assert not check.ok
    assert (
        check.advice == "move the camera further back, or lower camera.zoom, until the whole body "
        "fits with room to spare"
    )


def test_top_and_bottom_edges_ask_for_a_tilt() -> None:
    low = framing_check(shifted(lying(), 15, y=H * 0.99), W, H, MIN_SCORE)
    assert low.detail.endswith("from the bottom (needs 3%)")
    assert low.advice == "tilt the camera down a little"
    high = framing_check(shifted(lying(), 15, y=H * 0.01), W, H, MIN_SCORE)
    assert high.advice == "tilt the camera up a little"


def test_the_far_side_hidden_behind_the_near_side_is_fine() -> None:
    kp = lying()
    kp[:, [14, 16], 2] = 0.1  # a side view hides the far knee and ankle
    kp[:, [14, 16], :2] = [[W + 50.0, H + 50.0]]  # and the model's guess for them is wild
    assert framing_check(kp, W, H, MIN_SCORE).ok


def test_a_pair_seen_in_no_frame_is_named() -> None:
    kp = lying()
    kp[:, 13:17, 2] = 0.1
    check = framing_check(kp, W, H, MIN_SCORE)
    assert not check.ok
    assert check.detail == "the knees and ankles are not seen"


def test_framing_takes_the_median_frame() -> None:
    kp = lying(frames=5)
    kp[:2] = shifted(kp[:2], 15, x=W + 100.0)  # two frames of ankles out of the picture
    assert framing_check(kp, W, H, MIN_SCORE).ok


# ---------------------------------------------------------------- side view


def test_a_true_side_view_has_overlapping_joints() -> None:
    check = side_view_check(lying())
    assert check.ok
    assert check.detail.startswith("left and right hips and shoulders are 0.00 torso lengths")


def test_separation_is_measured_in_torso_lengths() -> None:
    sep, along, across = side_view_separation(lying(hip_sep=(0.3, 0.0), shoulder_sep=(0.0, 0.4)))
    assert sep == pytest.approx(0.35)
    assert along == pytest.approx(0.15)
    assert across == pytest.approx(0.2)


def test_an_oblique_view_fails_with_move_round_guidance() -> None:
    check = side_view_check(lying(hip_sep=(0.3, 0.05), shoulder_sep=(0.5, 0.05)))
    assert not check.ok
    assert "0.41 torso lengths apart (a side view keeps them under 0.25)" in check.detail
    assert "move the camera so it looks straight at the athlete's side" in check.advice


def test_a_view_from_above_asks_to_lower_the_camera() -> None:
    check = side_view_check(lying(hip_sep=(0.0, 0.2), shoulder_sep=(0.05, 0.4)))
    assert not check.ok
    assert check.advice.startswith("the camera looks down on the athlete: lower it")


def test_the_side_view_limit_is_inclusive() -> None:
    at = aim.SIDE_VIEW_MAX
    assert side_view_check(lying(hip_sep=(at, 0.0), shoulder_sep=(at, 0.0))).ok
    over = at + 0.01
    assert not side_view_check(lying(hip_sep=(over, 0.0), shoulder_sep=(over, 0.0))).ok


@settings(max_examples=60, deadline=None)
@given(
    hip=st.floats(0.0, 0.8),
    shoulder=st.floats(0.0, 0.8),
    roll=st.floats(-40.0, 40.0),
    scale=st.floats(60.0, 300.0),
    cx=st.floats(200.0, 1000.0),
)
def test_separation_ignores_where_and_how_big_the_athlete_is(hip, shoulder, roll, scale, cx):
    kp = lying(hip_sep=(hip, 0.0), shoulder_sep=(shoulder, 0.0), roll_deg=roll, scale=scale,
               center=(cx, H / 2))  # fmt: skip
    sep, along, across = side_view_separation(kp)
    assert sep == pytest.approx((hip + shoulder) / 2, abs=1e-9)
    assert along == pytest.approx((hip + shoulder) / 2, abs=1e-9)
    assert across == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- level


@settings(max_examples=60, deadline=None)
@given(roll=st.floats(-45.0, 45.0), scale=st.floats(60.0, 300.0))
def test_the_floor_line_of_a_flat_body_is_the_roll(roll, scale):
    deg, bend = floor_line(lying(roll_deg=roll, scale=scale))
    assert deg == pytest.approx(np.full(10, roll), abs=1e-9)
    assert bend == pytest.approx(np.zeros(10), abs=1e-9)
    assume(abs(abs(roll) - 3.0) > 1e-6)  # the limit itself is a rounding coin toss
    assert level_check(lying(roll_deg=roll, scale=scale)).ok is (abs(roll) <= 3.0)


def test_level_within_three_degrees_passes() -> None:
    check = level_check(lying(roll_deg=-2.5))
    assert check.ok
    assert check.detail == "the floor line tilts 2.5 deg (level is within 3)"


def test_a_floor_dropping_right_asks_to_lower_the_right_side() -> None:
    check = level_check(lying(roll_deg=5.0))
    assert not check.ok
    assert check.detail == "the floor line tilts 5.0 deg (level is within 3), down to the right"
    assert check.advice == (
        "the floor drops toward the right of the picture: lower the right side of the camera "
        "(as seen from behind it) by about 5 deg"
    )


def test_a_floor_dropping_left_asks_to_lower_the_left_side() -> None:
    check = level_check(lying(roll_deg=-7.0))
    assert check.detail.endswith("down to the left")
    assert "lower the left side of the camera" in check.advice


def test_after_a_failed_side_view_the_roll_advice_says_fix_that_first() -> None:
    check = level_check(lying(roll_deg=8.0), side_view_ok=False)
    assert check.advice.endswith(
        "an angled view tilts the floor line too, so fix the side view first"
    )


def tucked(frames: int = 10) -> np.ndarray:
    """Hips dropped 0.3 torso lengths below the shoulder-ankle line (a curled body)."""
    kp = lying(frames=frames)
    kp[:, [11, 12], 1] += 0.3 * 200.0
    return kp


def test_a_curled_body_says_nothing_about_the_floor() -> None:
    _, bend = floor_line(tucked())
    assert (bend > aim.FLAT_MAX).all()
    check = level_check(tucked())
    assert not check.ok
    assert check.detail == "cannot tell: the athlete is not lying flat"


def test_only_flat_frames_set_the_roll() -> None:
    kp = np.concatenate([tucked(frames=40), lying(frames=10, roll_deg=1.0)])
    check = level_check(kp)
    assert check.ok and check.detail.startswith("the floor line tilts 1.0 deg")


# ---------------------------------------------------------------- size


def test_fill_is_the_span_of_the_seen_joints() -> None:
    kp = lying(scale=0.6 * W / SPAN_UNITS)
    check = fill_check(kp, None, W, MIN_SCORE)
    assert check.ok and check.detail == "the athlete spans 60% of the picture width (needs 50%)"


def test_a_small_athlete_fails_with_move_closer() -> None:
    check = fill_check(lying(scale=0.4 * W / SPAN_UNITS), None, W, MIN_SCORE)
    assert not check.ok
    assert check.detail == "the athlete spans 40% of the picture width (needs 50%)"
    assert check.advice == (
        "move the camera closer, or raise camera.zoom in /etc/hipflex/config.toml, until the "
        "athlete spans at least half the picture width, keeping head and feet inside"
    )


def test_blazepose_toes_count_and_unseen_joints_do_not() -> None:
    kp = lying(scale=0.45 * W / SPAN_UNITS)
    landmarks = np.zeros((10, 33, 4))
    landmarks[:, 31, 0] = kp[:, 15, 0] + 0.1 * W  # a toe beyond the ankle
    landmarks[:, 31, 3] = 0.9
    landmarks[:, 32, 0] = W  # unseen: ignored
    assert fill_check(kp, landmarks, W, MIN_SCORE).detail.startswith("the athlete spans 55%")


# ---------------------------------------------------------------- light


def luma(mean: float, std: float, frames: int = 10) -> np.ndarray:
    return np.tile([mean, std], (frames, 1))


def test_a_lit_room_passes() -> None:
    check = light_check(luma(126.0, 73.0), np.full((10, 8), 0.99))
    assert check.ok
    assert check.detail == "brightness 126/255, contrast 73, joint confidence 0.99"


@pytest.mark.parametrize(
    ("mean", "std", "problem", "advice"),
    [
        (30.0, 25.0, "too dark", "turn on more light"),
        (235.0, 25.0, "washed out", "no window or lamp shines into it"),
        (120.0, 10.0, "flat, low-contrast picture", "light the athlete from the camera's side"),
    ],
)
def test_bad_frames_fail(mean, std, problem, advice) -> None:
    check = light_check(luma(mean, std), np.full((10, 8), 0.99))
    assert not check.ok
    assert check.detail.endswith(problem)
    assert advice in check.advice


def test_an_unsure_model_fails_the_light() -> None:
    check = light_check(luma(90.0, 40.0), np.full((10, 8), 0.4))
    assert not check.ok
    assert check.detail.endswith(
        "joint confidence 0.40: the model is unsure where the joints are (needs 0.5)"
    )


def test_a_keypoints_file_has_only_the_confidence() -> None:
    assert light_check(None, np.full((10, 8), 0.8)).detail == "joint confidence 0.80"
    check = light_check(None, None)
    assert not check.ok and check.detail == "cannot tell: no frames and nobody seen"


def test_problems_and_advice_are_listed_once_each() -> None:
    check = light_check(luma(20.0, 5.0), np.full((10, 8), 0.2))
    assert check.detail.endswith(
        "too dark; flat, low-contrast picture; the model is unsure where the joints are (needs 0.5)"
    )
    assert check.advice == (
        "turn on more light, or open the blinds; light the athlete from the camera's side; "
        "avoid a window behind the athlete; close-fitting clothes help"
    )


# ---------------------------------------------------------------- the verdict


def window(kp: np.ndarray, bright: float = 120.0) -> Window:
    return Window(kp, W, H, luma=luma(bright, 50.0, len(kp)))


def test_a_good_setup_passes_every_check_and_turns_the_light_off() -> None:
    verdict = assess(window(lying(scale=0.6 * W / SPAN_UNITS)), MIN_SCORE, LYING_MAX)
    assert [c.name for c in verdict.checks] == [
        "athlete", "in frame", "side view", "level", "size", "light",
    ]  # fmt: skip
    assert all(c.ok for c in verdict.checks) and verdict.ok
    assert verdict.status == "ok"


def test_a_misaligned_setup_blinks_misaligned() -> None:
    kp = lying(scale=0.6 * W / SPAN_UNITS, roll_deg=6.0)
    verdict = assess(window(kp), MIN_SCORE, LYING_MAX)
    assert [c.name for c in verdict.checks if not c.ok] == ["level"]
    assert verdict.status == "misaligned"


def test_nobody_lying_reports_only_what_can_be_said() -> None:
    verdict = assess(window(standing()), MIN_SCORE, LYING_MAX)
    assert [c.name for c in verdict.checks] == ["athlete", "light"]
    assert verdict.status == "not_lying"
    empty = assess(window(lying(score=0.0)), MIN_SCORE, LYING_MAX)
    assert empty.status == "no_athlete"
    assert empty.checks[1].detail == "brightness 120/255, contrast 50"


def test_the_checks_judge_only_the_lying_frames() -> None:
    kp = np.concatenate([lying(frames=8, scale=0.6 * W / SPAN_UNITS), standing(frames=2)])
    verdict = assess(window(kp), MIN_SCORE, LYING_MAX)
    assert verdict.ok
    assert verdict.checks[0].detail == "lying down in view (80% of 10 frames)"


def test_shown_numbers_never_seem_to_meet_a_limit_they_fail() -> None:
    just_short = lying(scale=0.4999 * W / SPAN_UNITS)
    assert fill_check(just_short, None, W, MIN_SCORE).detail.startswith("the athlete spans 49%")
    over = aim.SIDE_VIEW_MAX + 0.001
    check = side_view_check(lying(hip_sep=(over, 0.0), shoulder_sep=(over, 0.0)))
    assert not check.ok and "are 0.26 torso lengths apart" in check.detail
    check = level_check(lying(roll_deg=3.01))
    assert not check.ok and check.detail.startswith("the floor line tilts 3.1 deg")
