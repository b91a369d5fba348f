"""Rotated-ROI geometry: alignment, projection round trips, the pixels the warp really
samples, and the one-euro filter that steadies the tracked ROI."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.pose.roi import (
    OneEuroFilter,
    Roi,
    normalize_radians,
    roi_from_alignment,
    roi_to_frame_matrix,
    warp_roi,
)


def project_to_frame(points: np.ndarray, roi: Roi) -> np.ndarray:
    """(N, 2) crop points, normalised to [0, 1] across the crop, in frame pixels: the
    rotation written out with trigonometry, to check the warp's affine against."""
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    u, v = points[:, 0] - 0.5, points[:, 1] - 0.5
    return np.stack([roi.cx + (c * u - s * v) * roi.size, roi.cy + (s * u + c * v) * roi.size], 1)


def project_to_roi(points: np.ndarray, roi: Roi) -> np.ndarray:
    """Inverse of project_to_frame."""
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    dx = (points[:, 0] - roi.cx) / roi.size
    dy = (points[:, 1] - roi.cy) / roi.size
    return np.stack([c * dx + s * dy + 0.5, -s * dx + c * dy + 0.5], axis=1)


@pytest.mark.parametrize(
    ("scale_point", "angle"),
    [
        ((100, 150), 0.0),  # body axis points up: no rotation
        ((50, 200), -math.pi / 2),  # head to the left, as in the supine clips
        ((150, 200), math.pi / 2),  # head to the right
        ((100, 250), -math.pi),  # upside down
        ((150, 150), math.pi / 4),
    ],
)
def test_alignment_angle_and_size(scale_point, angle):
    roi = roi_from_alignment(np.array([100.0, 200.0]), np.array(scale_point, float), 1.25)
    assert roi.cx == 100 and roi.cy == 200
    assert roi.angle == pytest.approx(angle)
    d = math.dist((100, 200), scale_point)
    assert roi.size == pytest.approx(2 * d * 1.25)


@given(st.floats(-50, 50, allow_nan=False))
def test_normalize_radians_range(a):
    n = normalize_radians(a)
    assert -math.pi <= n < math.pi
    assert math.isclose(math.cos(n), math.cos(a), abs_tol=1e-9)
    assert math.isclose(math.sin(n), math.sin(a), abs_tol=1e-9)


coord = st.floats(-500, 2500, allow_nan=False)
rois = st.builds(
    Roi,
    cx=coord,
    cy=coord,
    size=st.floats(10, 3000),
    angle=st.floats(-math.pi, math.pi),
)


@given(roi=rois, u=st.floats(-1, 2), v=st.floats(-1, 2))
def test_roi_round_trip(roi, u, v):
    crop = np.array([[u, v]])
    frame = project_to_frame(crop, roi)
    np.testing.assert_allclose(project_to_roi(frame, roi), crop, atol=1e-9)


@given(roi=rois)
def test_crop_centre_and_corners(roi):
    corners = np.array([[0.5, 0.5], [0, 0], [1, 0], [1, 1], [0, 1]])
    f = project_to_frame(corners, roi)
    np.testing.assert_allclose(f[0], [roi.cx, roi.cy], atol=1e-6)
    # A square of side `size`: equal sides, right angles.
    sides = np.diff(np.vstack([f[1:], f[1:2]]), axis=0)
    np.testing.assert_allclose(np.linalg.norm(sides, axis=1), roi.size, rtol=1e-9)
    assert abs(np.dot(sides[0], sides[1])) <= 1e-6 * roi.size**2
    # The crop's x axis runs along the rotation angle.
    np.testing.assert_allclose(
        sides[0] / roi.size, [math.cos(roi.angle), math.sin(roi.angle)], atol=1e-9
    )
    # The affine used for the warp and to project landmarks agrees, out_size px = 1.0,
    # also when written into a caller's buffer.
    m = roi_to_frame_matrix(roi, 256)
    np.testing.assert_allclose(corners * 256 @ m[:, :2].T + m[:, 2], f, atol=1e-6)
    out = np.zeros((2, 3))
    assert roi_to_frame_matrix(roi, 256, out) is out
    np.testing.assert_array_equal(out, m)


@given(
    centre=st.tuples(st.floats(0, 640), st.floats(0, 480)),
    length=st.floats(5, 400),
    direction=st.floats(-math.pi, math.pi),
    expand=st.sampled_from([1.25, 1.5]),
)
def test_scale_point_lands_straight_above_centre(centre, length, direction, expand):
    """Whatever the body's direction in the frame, the crop shows it upright."""
    c = np.array(centre)
    p = c + length * np.array([math.cos(direction), math.sin(direction)])
    roi = roi_from_alignment(c, p, expand)
    uv = project_to_roi(np.array([c, p]), roi)
    np.testing.assert_allclose(uv[0], [0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(uv[1], [0.5, 0.5 - 1 / (2 * expand)], atol=1e-9)


@pytest.mark.parametrize("angle_deg", [0, 30, -90, 135, 180])
def test_warp_samples_where_projection_says(angle_deg):
    """A bright dot in the frame shows up in the warped crop exactly where project_to_roi
    puts it (within a fraction of a crop pixel)."""
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w]
    dot = np.array([412.3, 197.6])
    blob = np.exp(-((xx - dot[0]) ** 2 + (yy - dot[1]) ** 2) / (2 * 6.0**2))
    frame = np.repeat((blob * 255).astype(np.uint8)[:, :, None], 3, axis=2)
    roi = Roi(cx=380.0, cy=230.0, size=256.0, angle=math.radians(angle_deg))
    out = np.zeros((128, 128, 3), np.uint8)
    warp_roi(frame, roi, out)
    img = out[:, :, 0].astype(float)
    img[img < 20] = 0
    ys, xs = np.mgrid[0:128, 0:128]
    found = np.array([(img * xs).sum(), (img * ys).sum()]) / img.sum()
    expected = project_to_roi(dot[None], roi)[0] * 128
    np.testing.assert_allclose(found, expected, atol=0.25)


def test_warp_writes_into_the_given_buffer_and_replicates_borders():
    frame = np.full((100, 100, 3), 77, np.uint8)
    out = np.zeros((32, 32, 3), np.uint8)
    result = warp_roi(frame, Roi(0.0, 0.0, 400.0, 0.3), out)
    assert result is out
    assert np.all(out == 77)
    out2 = np.zeros((32, 32, 3), np.uint8)
    warp_roi(frame, Roi(0.0, 0.0, 400.0, 0.3), out2, border=cv2.BORDER_CONSTANT)
    assert out2.min() == 0 and out2.max() == 77


def test_one_euro_first_value_and_constant_signal_pass_through():
    f = OneEuroFilter((2, 2), min_cutoff=0.01, beta=1.0)
    x = np.array([[10.0, 20.0], [30.0, 40.0]])
    for _ in range(5):
        np.testing.assert_array_equal(f(x.copy(), 0.01), x)


def test_one_euro_follows_a_step_faster_when_beta_is_larger():
    lagging = []
    for beta in (0.0, 1.0):
        f = OneEuroFilter((1,), min_cutoff=0.5, beta=beta)
        f(np.array([0.0]), 0.01)
        trace = [f(np.array([100.0]), 0.01)[0] for _ in range(10)]
        assert all(0 < a < b < 100 for a, b in itertools.pairwise(trace))
        lagging.append(100 - trace[-1])
    assert lagging[1] < lagging[0]
    # Static: alpha = 1 / (1 + rate / (2 pi min_cutoff)) per frame.
    f = OneEuroFilter((1,), min_cutoff=0.5, beta=0.0)
    f(np.array([0.0]), 1.0)
    alpha = 1 / (1 + 30 / (2 * math.pi * 0.5))
    assert f(np.array([100.0]), 1.0)[0] == pytest.approx(100 * alpha)


def test_one_euro_reset_forgets_history():
    f = OneEuroFilter((1,), min_cutoff=0.01, beta=1.0)
    f(np.array([0.0]), 1.0)
    assert f(np.array([50.0]), 1.0)[0] < 50
    f.reset()
    assert f(np.array([50.0]), 1.0)[0] == 50
