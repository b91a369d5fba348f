"""Heatmap refinement: the vectorised refiner against a plain loop written from mediapipe's
description, exact centroids on hand-made heatmaps, and the edge rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.pose.heatmap import HeatmapRefiner

CELLS, CHANNELS, INPUT = 16, 5, 64  # 4 input px per cell, as in BlazePose's 256 / 64


def loop_refine(heatmap, xy, input_size, kernel=7, min_confidence=0.5):
    """One landmark at a time, the way mediapipe's calculator walks the window."""
    rows, cols, _ = heatmap.shape
    out = xy.copy()
    half = kernel // 2
    for i, (x, y) in enumerate(xy):
        col = math.trunc(x / input_size * cols)
        row = math.trunc(y / input_size * rows)
        if col < 0 or col >= cols or row < 0:  # mediapipe never tests row >= rows
            continue
        total = wcol = wrow = peak = 0.0
        for r in range(max(0, row - half), min(rows, row + half + 1)):
            for c in range(max(0, col - half), min(cols, col + half + 1)):
                conf = 1.0 / (1.0 + math.exp(-float(heatmap[r, c, i])))
                total += conf
                peak = max(peak, conf)
                wcol += c * conf
                wrow += r * conf
        if peak >= min_confidence and total > 0:
            out[i] = (wcol / total / cols * input_size, wrow / total / rows * input_size)
    return out


def blob(centre_rc, sigma=1.2, height=6.0, channels=CHANNELS):
    """Logits of a symmetric bump on every channel, peaking at `centre_rc` (row, col)."""
    r, c = np.mgrid[0:CELLS, 0:CELLS]
    d2 = (r - centre_rc[0]) ** 2 + (c - centre_rc[1]) ** 2
    logits = height * np.exp(-d2 / (2 * sigma**2)) - 3.0
    return np.repeat(logits[:, :, None], channels, axis=2).astype(np.float32)


def test_symmetric_bump_gives_its_centre_exactly():
    heat = blob((9, 6))
    xy = np.array([[6 * 4 + 1.5, 9 * 4 + 2.0]] * 3 + [[6 * 4 + 3.9, 9 * 4 + 3.9]] * 2)
    HeatmapRefiner(CELLS, CHANNELS, CHANNELS, INPUT)(heat, xy)
    np.testing.assert_allclose(xy, [[24.0, 36.0]] * CHANNELS, atol=1e-9)


def test_unconfident_window_leaves_the_landmark_alone():
    heat = np.full((CELLS, CELLS, CHANNELS), -0.1, np.float32)  # every sigmoid < 0.5
    xy = np.array([[30.3, 20.7]] * CHANNELS)
    before = xy.copy()
    HeatmapRefiner(CELLS, CHANNELS, CHANNELS, INPUT)(heat, xy)
    np.testing.assert_array_equal(xy, before)


def test_window_is_cut_at_the_heatmap_edge():
    """A bump in the corner: cells outside the heatmap do not count, so the centroid is the
    mean over the part inside, not the bump's centre."""
    heat = np.full((CELLS, CELLS, 1), 5.0, np.float32)  # flat and confident
    xy = np.array([[1.0, 1.0]])  # cell (0, 0): window cells 0..3 each way are inside
    HeatmapRefiner(CELLS, 1, 1, INPUT)(heat, xy)
    np.testing.assert_allclose(xy, [[1.5 * 4, 1.5 * 4]], atol=1e-9)


@pytest.mark.parametrize(
    ("xy", "moves"),
    [
        ((-20.0, 30.0), False),  # left of the heatmap
        ((70.0, 30.0), False),  # right of it
        ((30.0, -20.0), False),  # above it
        ((30.0, -3.0), True),  # a fraction of a cell above truncates to row 0
        ((30.0, 66.0), True),  # just below: refined from the rows inside, as mediapipe does
        ((30.0, 80.0), False),  # far below: no window row is inside
    ],
)
def test_landmarks_outside_follow_mediapipe(xy, moves):
    heat = np.full((CELLS, CELLS, 1), 5.0, np.float32)
    point = np.array([xy])
    HeatmapRefiner(CELLS, 1, 1, INPUT)(heat, point)
    assert (not np.array_equal(point, [xy])) == moves
    np.testing.assert_allclose(point, loop_refine(heat, np.array([xy]), INPUT), atol=1e-9)


def test_only_the_first_count_channels_are_read_and_moved():
    heat = blob((5, 5))
    xy = np.array([[22.0, 22.0]] * CHANNELS)
    refine = HeatmapRefiner(CELLS, CHANNELS, 2, INPUT)
    refine(heat, xy[:2])
    np.testing.assert_allclose(xy[:2], [[20.0, 20.0]] * 2, atol=1e-9)
    np.testing.assert_array_equal(xy[2:], [[22.0, 22.0]] * (CHANNELS - 2))


def test_accepts_the_models_batched_output():
    heat = blob((4, 11))
    a = np.array([[45.0, 15.0]] * CHANNELS)
    b = a.copy()
    refine = HeatmapRefiner(CELLS, CHANNELS, CHANNELS, INPUT)
    refine(heat, a)
    refine(heat[None], b)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), spread=st.floats(2.0, 30.0))
def test_matches_the_plain_loop(seed, spread):
    """Random logits and positions in and around the heatmap, refined twice in a row with
    the same refiner (its buffers must not leak between calls)."""
    rng = np.random.default_rng(seed)
    refine = HeatmapRefiner(CELLS, CHANNELS, CHANNELS, INPUT)
    for _ in range(2):
        heat = (rng.normal(0.0, 1.0, (CELLS, CELLS, CHANNELS)) * spread / 10).astype(np.float32)
        xy = rng.uniform(-20, INPUT + 20, (CHANNELS, 2))
        expected = loop_refine(heat, xy, INPUT)
        refine(heat, xy)
        np.testing.assert_allclose(xy, expected, rtol=1e-9, atol=1e-9)


def test_rejects_impossible_settings():
    with pytest.raises(ValueError, match="odd kernel"):
        HeatmapRefiner(CELLS, CHANNELS, CHANNELS, INPUT, kernel=4)
    with pytest.raises(ValueError, match="count <= channels"):
        HeatmapRefiner(CELLS, CHANNELS, CHANNELS + 1, INPUT)
