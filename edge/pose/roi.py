"""Rotated square regions of interest: built from two alignment points, cut out of the frame
with one affine warp, and used to project model outputs back into frame pixels.

BlazePose's landmark model expects the body upright in its input. Its detector (and the
landmark model itself, for the next frame) gives two points: a body centre and a point whose
distance encodes the body's size and whose direction encodes its rotation. Rotating that
vector to point straight up is what lets the model handle a person lying on the floor.

All coordinates here are frame pixels, x right and y down. An ROI is square in pixels, so a
rotation in pixel space is exact whatever the frame's aspect ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

TARGET_ANGLE = math.pi / 2  # the centre->scale vector must point up in the crop


@dataclass(frozen=True)
class Roi:
    """A rotated square: centre (cx, cy) px, side `size` px, `angle` radians (the rotation
    that takes the crop's axes to the frame's, positive clockwise on screen)."""

    cx: float
    cy: float
    size: float
    angle: float


def normalize_radians(angle: float) -> float:
    """Wrap into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_alignment(
    centre: Sequence[float],
    scale_point: Sequence[float],
    expand: float,
    target_angle: float = TARGET_ANGLE,
) -> Roi:
    """The ROI centred on `centre`, twice the centre->scale distance, times `expand`.

    The angle turns the centre->scale vector to `target_angle` (90 deg = straight up, with
    y measured upwards as in the model's convention).
    """
    dx = float(scale_point[0] - centre[0])
    dy = float(scale_point[1] - centre[1])
    size = 2.0 * math.hypot(dx, dy) * expand
    angle = normalize_radians(target_angle - math.atan2(-dy, dx))
    return Roi(float(centre[0]), float(centre[1]), size, angle)


def roi_to_frame_matrix(roi: Roi, out_size: int, out: np.ndarray | None = None) -> np.ndarray:
    """2x3 affine taking crop pixels (0..out_size, corner to corner) to frame pixels,
    written into `out` when given."""
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    k = roi.size / out_size
    half = roi.size / 2
    if out is None:
        out = np.empty((2, 3), np.float64)
    # frame = centre + R @ (crop * k - half)
    out[0] = (c * k, -s * k, roi.cx - half * (c - s))
    out[1] = (s * k, c * k, roi.cy - half * (s + c))
    return out


def warp_roi(
    frame: np.ndarray,
    roi: Roi,
    out: np.ndarray,
    border: int = cv2.BORDER_REPLICATE,
    matrix: np.ndarray | None = None,
) -> np.ndarray:
    """Cut `roi` out of `frame` into the preallocated square `out` (bilinear). The crop ->
    frame affine it used is left in `matrix` when given, to project model outputs back."""
    cv2.warpAffine(
        frame,
        roi_to_frame_matrix(roi, out.shape[0], matrix),
        (out.shape[1], out.shape[0]),
        dst=out,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=border,
    )
    return out


class OneEuroFilter:
    """One-euro low-pass filter over a fixed-shape array of pixel values, one step per frame.

    Smoothing the two ROI alignment points keeps the crop still while the body is still (the
    landmark model then sees the same framing and jitters less) yet lets it follow fast
    moves. Speeds are measured in object sizes per second (`scale` = 1 / object size px), so
    the filter behaves the same near and far from the camera. Timing assumes `rate` frames
    per second, as mediapipe's legacy solution does whatever the clip's rate.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        min_cutoff: float,
        beta: float,
        d_cutoff: float = 1.0,
        rate: float = 30.0,
    ):
        self.min_cutoff, self.beta, self.rate = min_cutoff, beta, rate
        self._alpha_d = self._alpha(d_cutoff)
        self._raw = np.zeros(shape)
        self._value = np.zeros(shape)
        self._speed = np.zeros(shape)
        self._started = False

    def _alpha(self, cutoff: float | np.ndarray) -> float | np.ndarray:
        return 1.0 / (1.0 + self.rate / (2 * math.pi * cutoff))

    def reset(self) -> None:
        self._started = False

    def __call__(self, values: np.ndarray, scale: float) -> np.ndarray:
        """Filter one frame's `values` in place and return them."""
        if self._started:
            speed = (values - self._raw) * (scale * self.rate)
            self._speed += self._alpha_d * (speed - self._speed)
            alpha = self._alpha(self.min_cutoff + self.beta * np.abs(self._speed))
            self._raw[:] = values
            values += (1.0 - alpha) * (self._value - values)
        else:
            self._started = True
            self._speed[:] = 0.0
            self._raw[:] = values
        self._value[:] = values
        return values
