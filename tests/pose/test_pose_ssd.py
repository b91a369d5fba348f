"""SSD anchors, decoding and weighted NMS of the BlazePose detector, on exact numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.pose.ssd import Detections, decode, iou, sigmoid_scores, ssd_anchors, weighted_nms


def test_anchor_count_and_layout():
    a = ssd_anchors()
    assert a.shape == (2254, 2)
    # 28x28 cells with 2 anchors each, then 14x14 x 2, then 7x7 x 6 (three stride-32 layers).
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28], rtol=1e-6)
    np.testing.assert_array_equal(a[0], a[1])
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(a[2 * 28], [0.5 / 28, 1.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(a[1567], [27.5 / 28, 27.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14], rtol=1e-6)
    np.testing.assert_allclose(a[1960], [0.5 / 7, 0.5 / 7], rtol=1e-6)
    np.testing.assert_array_equal(a[1960:1966], np.repeat(a[1960:1961], 6, axis=0))
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7], rtol=1e-6)
    assert a.min() > 0 and a.max() < 1


def test_sigmoid_is_clipped_and_quiet():
    with np.errstate(all="raise"):
        s = sigmoid_scores(np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32))
    assert s[0] == s[1] and s[3] == s[4]
    np.testing.assert_allclose(s, [0, 0, 0.5, 1, 1], atol=1e-40)


def test_sigmoid_writes_into_a_given_buffer_without_overflow():
    logits = np.array([-1e4, -3.0, 0.0, 3.0, 1e4], np.float32)
    out = np.zeros((5, 4), np.float32)[:, 3]  # a column, as BlazePose's visibility is
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # float32 may underflow
        result = sigmoid_scores(logits, out=out)
    assert result is out
    np.testing.assert_array_equal(out, sigmoid_scores(logits).astype(np.float32))


def test_decode_one_anchor_exactly():
    anchors = ssd_anchors()
    raw = np.zeros((2254, 12), np.float32)
    logits = np.full(2254, -50.0, np.float32)
    i = 1600  # a stride-16 anchor
    raw[i, :4] = [11.2, -22.4, 56.0, 112.0]  # x, y offsets and w, h in 224-px units
    raw[i, 4:] = [2.24, 4.48, -2.24, 0.0, 0.0, 0.0, 22.4, 22.4]
    logits[i] = 2.0
    dets = decode(raw, logits, anchors, min_score=0.5)
    assert len(dets) == 1
    cx, cy = anchors[i] + np.array([0.05, -0.1], np.float32)
    np.testing.assert_allclose(
        dets.boxes[0], [cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25], rtol=1e-5
    )
    np.testing.assert_allclose(
        dets.keypoints[0],
        anchors[i] + np.array([[0.01, 0.02], [-0.01, 0], [0, 0], [0.1, 0.1]]),
        rtol=1e-5,
    )
    np.testing.assert_allclose(dets.scores, [1 / (1 + np.exp(-2.0))], rtol=1e-6)


def test_decode_threshold_keeps_nothing():
    dets = decode(np.zeros((2254, 12), np.float32), np.full(2254, -3.0), ssd_anchors(), 0.5)
    assert len(dets) == 0 and dets.keypoints.shape == (0, 4, 2)
    assert len(weighted_nms(dets)) == 0


def _dets(boxes, scores, keypoints=None):
    boxes = np.asarray(boxes, np.float32)
    if keypoints is None:
        keypoints = np.repeat(boxes[:, None, :2], 4, axis=1)
    return Detections(boxes, np.asarray(keypoints, np.float32), np.asarray(scores, np.float32))


def test_iou_hand_made():
    box = np.array([0, 0, 2, 2], np.float32)
    others = np.array([[1, 0, 3, 2], [0, 0, 2, 2], [5, 5, 6, 6], [0, 0, 1, 1]], np.float32)
    np.testing.assert_allclose(iou(box, others), [2 / 6, 1, 0, 0.25])


def test_weighted_nms_blends_overlaps_and_keeps_the_rest():
    dets = _dets(
        boxes=[[0.1, 0, 1.1, 1], [2, 2, 3, 3], [0, 0, 1, 1], [0.6, 0, 1.6, 1]],
        scores=[0.6, 0.8, 0.9, 0.3],
    )
    out = weighted_nms(dets, threshold=0.3)
    # [0,0,1,1] (0.9) absorbs [0.1,0,1.1,1] (IoU 0.82); [0.6,0,1.6,1] has IoU 0.25 with it.
    assert len(out) == 3
    np.testing.assert_allclose(out.scores, [0.9, 0.8, 0.3])
    np.testing.assert_allclose(out.boxes[0], [0.04, 0, 1.04, 1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.keypoints[0], [[0.04, 0]] * 4, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.boxes[1:], [[2, 2, 3, 3], [0.6, 0, 1.6, 1]])
    first = weighted_nms(dets, threshold=0.3, max_out=1)
    assert len(first) == 1
    np.testing.assert_allclose(first.boxes, out.boxes[:1])


unit = st.floats(0.0, 1.0, allow_nan=False)


@given(
    box=st.tuples(unit, unit, st.floats(0.01, 1.0), st.floats(0.01, 1.0)),
    scores=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=20),
)
def test_identical_boxes_merge_into_one(box, scores):
    x, y, w, h = box
    boxes = np.tile([x, y, x + w, y + h], (len(scores), 1))
    out = weighted_nms(_dets(boxes, scores))
    assert len(out) == 1
    assert out.scores[0] == np.float32(max(scores))
    np.testing.assert_allclose(out.boxes[0], boxes[0], rtol=1e-5, atol=1e-6)


@given(
    cells=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, unique=True),
    data=st.data(),
)
def test_separated_boxes_all_survive_in_score_order(cells, data):
    permille = st.lists(st.integers(1, 1000), min_size=len(cells), max_size=len(cells), unique=True)
    scores = [p / 1000 for p in data.draw(permille)]  # distinct in float32 too
    boxes = [[2 * cx, 2 * cy, 2 * cx + 1, 2 * cy + 1] for cx, cy in cells]
    out = weighted_nms(_dets(boxes, scores))
    order = np.argsort(scores)[::-1]
    np.testing.assert_allclose(out.scores, np.asarray(scores, np.float32)[order])
    np.testing.assert_allclose(out.boxes, np.asarray(boxes, np.float32)[order], rtol=1e-6)


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5])
def test_nms_never_outputs_more_than_it_gets(threshold):
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1, (50, 2))
    wh = rng.uniform(0.05, 0.4, (50, 2))
    out = weighted_nms(_dets(np.hstack([xy, xy + wh]), rng.uniform(0.2, 1, 50)), threshold)
    assert 1 <= len(out) < 50
    assert np.all(np.diff(out.scores) <= 0)
