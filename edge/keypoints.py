"""The keypoint layout every stage shares, and the `.npz` file format (a public contract).

A keypoints file holds:
  keypoints  float32 (T, 17, 3): x px, y px, score, in COCO-17 order; score 0 where nobody is seen
  fps, width, height, model
  landmarks  optional float32 (T, 33, 4) for BlazePose: x px, y px, z px, visibility
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import SourceError
from edge.paths import input_file

log = logging.getLogger(__name__)

COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
NOSE = 0
L_SHOULDER, R_SHOULDER = 5, 6
L_HIP, R_HIP = 11, 12
L_KNEE, R_KNEE = 13, 14
L_ANKLE, R_ANKLE = 15, 16

# BlazePose's 33-landmark topology.
BP_L_SHOULDER, BP_R_SHOULDER = 11, 12
BP_L_HIP, BP_R_HIP = 23, 24
BP_L_KNEE, BP_R_KNEE = 25, 26
BP_L_ANKLE, BP_R_ANKLE = 27, 28
BP_L_HEEL, BP_R_HEEL = 29, 30
BP_L_FOOT, BP_R_FOOT = 31, 32
# COCO-17 joint i is BlazePose landmark BLAZEPOSE_TO_COCO[i].
BLAZEPOSE_TO_COCO = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])

# Skeleton edges for drawing, in COCO indices.
COCO_EDGES = (
    (5, 6), (5, 11), (6, 12), (11, 12),
    (5, 7), (7, 9), (6, 8), (8, 10),
    (11, 13), (13, 15), (12, 14), (14, 16),
    (0, 5), (0, 6),
)  # fmt: skip


MAX_IMAGE_SIDE = 100_000  # pixels; no camera comes near, a typo or a garbage file does


@dataclass
class KeypointTrack:
    """A whole clip of keypoints, as stored in a `.npz` keypoints file."""

    keypoints: np.ndarray  # (T, 17, 3) float32
    fps: float
    width: int
    height: int
    model: str
    landmarks: np.ndarray | None = None  # (T, 33, 4) float32

    @property
    def frames(self) -> int:
        return int(self.keypoints.shape[0])


def save_keypoints(path: str | os.PathLike, track: KeypointTrack) -> None:
    """Write atomically, so a kill mid-write never leaves a half file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "keypoints": np.asarray(track.keypoints, dtype=np.float32),
        "fps": np.float64(track.fps),
        "width": np.int64(track.width),
        "height": np.int64(track.height),
        "model": np.str_(track.model),
    }
    if track.landmarks is not None:
        arrays["landmarks"] = np.asarray(track.landmarks, dtype=np.float32)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_keypoints(path: str | os.PathLike) -> KeypointTrack:
    """Read and validate a keypoints file; any defect is a one-line SourceError."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    input_file(path, "keypoints file")  # a FIFO named .npz would block np.load for ever
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile, pickle and value errors all mean "not a keypoints file"
        raise SourceError(f"{path}: not a readable keypoints .npz ({exc})") from None
    for key, value in data.items():
        if not isinstance(value, np.ndarray):  # a zip member that is not a .npy array
            raise SourceError(f"{path}: '{key}' in the .npz is not a numpy array")
    if "keypoints" not in data:
        raise SourceError(f"{path}: keypoints file has no 'keypoints' array")
    kp = _numbers(path, "keypoints", data["keypoints"])
    if kp.ndim != 3 or kp.shape[1:] != (17, 3):
        raise SourceError(f"{path}: 'keypoints' must have shape (T, 17, 3), got {kp.shape}")
    fps = _scalar(path, "fps", data.get("fps", 0.0))
    if not np.isfinite(fps) or not 1.0 <= fps <= 1000.0:
        raise SourceError(f"{path}: fps must be between 1 and 1000, got {fps}")
    size = {}
    for key in ("width", "height"):
        value = _scalar(path, key, data.get(key, 0))
        if not (np.isfinite(value) and 0 <= value <= MAX_IMAGE_SIDE and value == int(value)):
            raise SourceError(
                f"{path}: {key} must be a whole number 0-{MAX_IMAGE_SIDE}, got {value}"
            )
        size[key] = int(value)
    landmarks = data.get("landmarks")
    if landmarks is not None:
        landmarks = _numbers(path, "landmarks", landmarks)
        if landmarks.ndim != 3 or landmarks.shape != (kp.shape[0], 33, 4):
            raise SourceError(f"{path}: 'landmarks' must have shape ({kp.shape[0]}, 33, 4)")
    track = KeypointTrack(
        keypoints=kp,
        fps=fps,
        width=size["width"],
        height=size["height"],
        model=str(data.get("model", "unknown"))[:100],
        landmarks=landmarks,
    )
    hidden = hide_implausible(track.keypoints, track.width, track.height)
    if track.landmarks is not None:
        hidden += hide_implausible(track.landmarks, track.width, track.height)
    if hidden:
        log.warning(
            "%s: %d points are not finite or lie far outside the %dx%d image; "
            "treating them as unseen", path, hidden, track.width, track.height,
        )  # fmt: skip
    return track


def _scalar(path: Path, key: str, value: object) -> float:
    """One number out of an npz entry, or a one-line SourceError naming what it is instead."""
    arr = np.asarray(value)
    if arr.size != 1:
        raise SourceError(f"{path}: '{key}' must be one number, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "iufb":
        raise SourceError(
            f"{path}: '{key}' must be a number, got {arr.dtype} {arr.reshape(-1)[0]!r:.40}"
        )
    return float(arr.reshape(()))


def _numbers(path: Path, key: str, value: np.ndarray) -> np.ndarray:
    """A numeric array as float32, or a one-line SourceError."""
    if value.dtype.kind not in "iuf":
        raise SourceError(f"{path}: '{key}' must hold numbers, not {value.dtype}")
    return value.astype(np.float32, copy=False)


def hide_implausible(points: np.ndarray, width: int, height: int) -> int:
    """Give a zero score, in place, to points no camera could have seen: coordinates or
    scores that are not finite, or positions farther outside the image than its own width or
    height (a model extrapolates a cut-off heel a little past the edge, never a frame away).
    The judge then treats them as unseen, as it would a missed detection. Returns how many."""
    xy, score = points[..., :2], points[..., -1]
    bad = ~(np.isfinite(xy).all(axis=-1) & np.isfinite(score))
    if width > 0 and height > 0:
        x, y = xy[..., 0], xy[..., 1]
        bad |= (x < -width) | (x > 2 * width) | (y < -height) | (y > 2 * height)
    score[bad] = 0.0
    return int(np.count_nonzero(bad))
