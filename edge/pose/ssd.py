"""SSD post-processing for BlazePose's person detector, in numpy: anchors, decoding and
weighted non-maximum suppression.

The detector predicts, for each of its 2254 anchors, a box and four keypoints as offsets
from the anchor centre (in 224-px input units), plus a score logit. The anchor layout and
decoding options follow mediapipe's pose_detection graph (facts in the models README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUT_SIZE = 224
STRIDES = (8, 16, 32, 32, 32)
ANCHORS_PER_LAYER = 2  # aspect ratio 1.0 plus the interpolated-scale anchor
ANCHOR_OFFSET = 0.5
NUM_KEYPOINTS = 4
SCORE_CLIP = 100.0
IOU_THRESHOLD = 0.3


def ssd_anchors(
    input_size: int = INPUT_SIZE,
    strides: tuple[int, ...] = STRIDES,
    per_layer: int = ANCHORS_PER_LAYER,
    offset: float = ANCHOR_OFFSET,
) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1] (x, y), row-major per feature map.

    The detector uses fixed-size anchors (width = height = 1), so only the centres matter.
    Consecutive layers with the same stride share one feature map, and each contributes
    `per_layer` anchors per cell, which is how 28x28x2 + 14x14x2 + 7x7x6 = 2254 arises.
    """
    blocks = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        j = i
        while j < len(strides) and strides[j] == stride:
            j += 1
        cells = -(-input_size // stride)
        centres = (np.arange(cells, dtype=np.float64) + offset) / cells
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        blocks.append(np.repeat(grid, (j - i) * per_layer, axis=0))
        i = j
    return np.concatenate(blocks).astype(np.float32)


@dataclass
class Detections:
    """Decoded detections, normalised to the detector input: boxes (N, 4) as
    (xmin, ymin, xmax, ymax), keypoints (N, K, 2) as (x, y), scores (N,)."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def sigmoid_scores(
    logits: np.ndarray, clip: float = SCORE_CLIP, out: np.ndarray | None = None
) -> np.ndarray:
    """Probabilities from raw logits, clipped first so exp never overflows (it runs in
    float64 whatever `out` is); written into `out` when given."""
    # np.minimum/np.maximum rather than np.clip: the same result without np.clip's Python
    # wrapper, which costs more than the arithmetic on these few hundred values per frame.
    z = np.maximum(np.minimum(logits, clip), -clip, dtype=np.float64)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z if out is None else out)


def decode(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float,
    scale: float = INPUT_SIZE,
) -> Detections:
    """Decode the anchors whose score reaches `min_score`.

    raw_boxes (N, 4 + 2K): x_centre, y_centre, w, h, then K (x, y), all offsets in input
    pixels relative to the anchor; raw_scores (N,) logits.
    """
    scores = sigmoid_scores(raw_scores.reshape(-1))
    keep = np.flatnonzero(scores >= min_score)
    raw = raw_boxes[keep] / scale
    centres = anchors[keep]
    xy = raw[:, 0:2] + centres
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([xy - half, xy + half], axis=1)
    keypoints = raw[:, 4:].reshape(len(keep), (raw.shape[1] - 4) // 2, 2) + centres[:, None, :]
    return Detections(boxes, keypoints, scores[keep])


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (4,) box with (N, 4) boxes, xmin ymin xmax ymax."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def weighted_nms(
    dets: Detections, threshold: float = IOU_THRESHOLD, max_out: int | None = None
) -> Detections:
    """Blend every cluster of overlapping detections into one, best score first.

    Each round takes the best remaining detection, gathers all remaining ones whose IoU with
    it exceeds `threshold` (itself included), and outputs their score-weighted mean box and
    keypoints with the best score. Blending instead of discarding steadies the keypoints the
    ROI is built from. One round per output detection, each vectorised.
    """
    order = np.argsort(-dets.scores, kind="stable")
    boxes, kps, scores = dets.boxes[order], dets.keypoints[order], dets.scores[order]
    out_boxes, out_kps, out_scores = [], [], []
    remaining = np.arange(len(scores))
    while remaining.size and (max_out is None or len(out_scores) < max_out):
        group = iou(boxes[remaining[0]], boxes[remaining]) > threshold
        group[0] = True
        members = remaining[group]
        w = scores[members]
        total = w.sum()
        out_boxes.append((boxes[members] * w[:, None]).sum(0) / total)
        out_kps.append((kps[members] * w[:, None, None]).sum(0) / total)
        out_scores.append(scores[members[0]])
        remaining = remaining[~group]
    k = kps.shape[1] if kps.ndim == 3 else NUM_KEYPOINTS
    return Detections(
        np.array(out_boxes, dtype=np.float32).reshape(-1, 4),
        np.array(out_kps, dtype=np.float32).reshape(-1, k, 2),
        np.array(out_scores, dtype=np.float32),
    )
