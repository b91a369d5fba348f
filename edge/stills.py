"""One still per rep, at its peak, with the skeleton and the rep's angles drawn on.

Its one job is the stills: `PeakFrames` (the loop thread's) keeps the few frames of the rep
under way that may be its top, the ones where a hip was flexed most, so a hold of any length
costs KEEP frames of memory and the lowering after the top pushes none of them out. When
the rep event arrives with the judge's `peak_s` (a parabola through the top), the kept frame
nearest to it is taken; the writer thread draws it (`render`) and writes it as a JPEG
(`write_still`) the way clips are written: a hidden partial renamed once complete, created
with the clips' mode. The report shows them beside the rep's numbers.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.overlay import (
    BAD_BGR,
    GOOD_BGR,
    LEFT_TEXT_BGR,
    RIGHT_TEXT_BGR,
    TEXT_BGR,
    Caption,
    draw_caption,
    draw_pose,
)
from edge.pose import Pose
from edge.recorder_files import partial_path, publish

log = logging.getLogger("hipflex.record")

KEEP = 6  # frames of the rep under way kept as candidates for its top
MAX_OFF_S = 0.5  # a still further than this from the peak is not of the peak
MAX_WIDTH = 960  # stills are shown at most this wide in the report
JPEG_QUALITY = 85
# COCO-17: (shoulder, hip, knee, ankle) of the left and the right side
SIDE_JOINTS = ((5, 11, 13, 15), (6, 12, 14, 16))


@dataclass
class Candidate:
    """A kept frame: its hip score (most flexed hip), time, pixels (maybe scaled down by
    `scale`), pose (in the original pixels) and live angles."""

    score: float
    t: float
    rgb: np.ndarray
    scale: float
    pose: Pose
    hips: tuple[float, float]


def _finite(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


class PeakFrames:
    """The loop thread's candidates for the current rep's peak frame."""

    def __init__(self, width: int, height: int, keep: int = KEEP):
        self.scale = min(1.0, MAX_WIDTH / width)
        self._size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self._keep = keep
        self._items: list[Candidate] = []
        self._spare: list[np.ndarray] = []  # pixel buffers of dropped candidates, reused

    def offer(self, t: float, rgb: np.ndarray, pose: Pose, angles: Any) -> None:
        """Keep this frame if a hip is flexed more than in the least flexed kept frame."""
        if angles is None:
            return
        try:
            hips = (_finite(angles[0][0]), _finite(angles[0][1]))
        except (TypeError, IndexError):
            return
        score = max((h for h in hips if h == h), default=math.nan)
        if score != score:
            return  # no hip seen: nothing to show
        if len(self._items) >= self._keep:
            low = min(range(len(self._items)), key=lambda i: self._items[i].score)
            if self._items[low].score >= score:
                return
            self._spare.append(self._items.pop(low).rgb)
        buf = self._spare.pop() if self._spare else np.empty((*self._size[::-1], 3), np.uint8)
        if self.scale < 1.0:
            cv2.resize(rgb, self._size, dst=buf, interpolation=cv2.INTER_AREA)
        else:
            np.copyto(buf, rgb)
        landmarks = None if pose.landmarks is None else pose.landmarks.copy()
        self._items.append(Candidate(score, t, buf, self.scale,
                                     Pose(pose.keypoints.copy(), landmarks), hips))  # fmt: skip

    def take(self, peak_s: float) -> Candidate | None:
        """The kept frame nearest the peak (None if none is within MAX_OFF_S); the rep is
        over, so the candidates are cleared. The returned pixels are the caller's."""
        best = min(self._items, key=lambda c: abs(c.t - peak_s), default=None)
        self._spare.extend(c.rgb for c in self._items if c is not best)
        self._items = []
        if best is None or abs(best.t - peak_s) > MAX_OFF_S:
            if best is not None:
                self._spare.append(best.rgb)
            return None
        return best


def _label(bgr: np.ndarray, text: str, at: tuple[float, float], colour) -> None:
    """A short text beside a joint, on a dark box so it reads on any scene."""
    scale = max(0.45, min(0.9, bgr.shape[0] / 720.0))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = int(min(max(at[0] + 10, 0), bgr.shape[1] - w - 4))
    y = int(min(max(at[1] - 10, h + 4), bgr.shape[0] - base - 2))
    box = bgr[max(0, y - h - 4) : y + base + 2, max(0, x - 4) : x + w + 4]
    box[:] = (box * 0.35).astype(np.uint8)
    cv2.putText(bgr, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def render(c: Candidate, rep: dict[str, Any], set_label: str) -> np.ndarray:
    """The still as BGR: the frame, the skeleton, the rep's hip and knee angles beside the
    working hip and knee, and a caption with the rep, its angles and its verdict."""
    bgr = cv2.cvtColor(c.rgb, cv2.COLOR_RGB2BGR)
    kp = c.pose.keypoints.copy()
    kp[:, :2] *= c.scale
    landmarks = None
    if c.pose.landmarks is not None:
        landmarks = c.pose.landmarks.copy()
        landmarks[:, :2] *= c.scale
    draw_pose(bgr, Pose(kp, landmarks))
    hip = _finite(rep.get("peak_hip_flexion_deg"))
    knee = _finite(rep.get("knee_flexion_at_peak_deg"))
    hip_text = f"hip {hip:.0f} deg" if hip == hip else "hip -"
    knee_text = f"knee {knee:.0f} deg" if knee == knee else "knee -"
    # the working side is the one flexed in this frame (labels are not trusted for geometry)
    side = 1 if (c.hips[1] if c.hips[1] == c.hips[1] else -1e9) > (
        c.hips[0] if c.hips[0] == c.hips[0] else -1e9) else 0  # fmt: skip
    colour = (LEFT_TEXT_BGR, RIGHT_TEXT_BGR)[side]
    _, hip_j, knee_j, _ = SIDE_JOINTS[side]
    if kp[hip_j, 2] > 0.3:
        _label(bgr, hip_text, tuple(kp[hip_j, :2]), colour)
    if kp[knee_j, 2] > 0.3:
        _label(bgr, knee_text, tuple(kp[knee_j, :2]), colour)
    faults = [str(f).replace("_", " ") for f in rep.get("faults") or []]
    caption = Caption(
        (
            (f"{set_label}   rep {rep.get('index', '?')} at its peak".strip(), TEXT_BGR),
            (f"{hip_text}   {knee_text}", colour),
            (", ".join(faults) or "good", BAD_BGR if faults else GOOD_BGR),
        )
    )
    draw_caption(bgr, caption)
    return bgr


def write_still(final: Path, bgr: np.ndarray, mode: int) -> None:
    """Write `bgr` as the JPEG `final`, complete or not at all (OSError if it cannot be)."""
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError("the still could not be encoded")
    partial = partial_path(final)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        try:
            os.fchmod(fd, mode)
            view = memoryview(data.tobytes())
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        publish(partial, final)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
