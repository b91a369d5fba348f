"""Draw the skeleton on the video, for coaches checking what the box saw and for debugging.

Bones are drawn between joints both seen with enough confidence: the left side blue, the
right side orange (the report's leg colours), the trunk and head in cyan. Each joint's dot
goes from red (unsure) to green (sure). With BlazePose landmarks the heels and toes are drawn
too, in their side's colour, because the foot position is part of judging the exercise.
A caption (set, reps per leg, the live angles, the last rep and its faults) goes at the top
when the recorder has one. The video is H.264 in mp4 (edge/recorder_encode.py), which
browsers play; the file is created 0600 (a person's face is in it) unless the caller asks
otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.errors import SourceError
from edge.events import Event
from edge.keypoints import (
    BP_L_ANKLE,
    BP_L_FOOT,
    BP_L_HEEL,
    BP_R_ANKLE,
    BP_R_FOOT,
    BP_R_HEEL,
    COCO_EDGES,
)
from edge.pose import Pose

MIN_SCORE = 0.3
VERDICT_S = 3.0  # a rep's verdict stays in the caption this long after it ends
BONE_BGR = (255, 200, 0)  # trunk and head
LEFT_BGR = (235, 99, 37)  # the report's left leg, #2563eb
RIGHT_BGR = (15, 72, 217)  # the report's right leg, #d9480f
GOOD_BGR = (90, 210, 80)
BAD_BGR = (80, 80, 255)
TEXT_BGR = (255, 255, 255)
# the leg colours lightened, to read on the caption's dark band
LEFT_TEXT_BGR, RIGHT_TEXT_BGR = (255, 170, 120), (110, 160, 255)
_EDGES = np.array(COCO_EDGES)
# COCO numbers the left side's joints odd and the right side's even (0 is the nose)
_SIDE = [
    _EDGES[(_EDGES % 2 == 1).all(axis=1)],
    _EDGES[((_EDGES % 2 == 0) & (_EDGES > 0)).all(axis=1)],
]
_CENTRE = np.array(
    [e for e in COCO_EDGES if not (e[0] % 2 == e[1] % 2 and min(e) > 0)], dtype=np.int64
).reshape(-1, 2)
_FOOT_EDGES = [
    np.array([(BP_L_ANKLE, BP_L_HEEL), (BP_L_HEEL, BP_L_FOOT), (BP_L_ANKLE, BP_L_FOOT)]),
    np.array([(BP_R_ANKLE, BP_R_HEEL), (BP_R_HEEL, BP_R_FOOT), (BP_R_ANKLE, BP_R_FOOT)]),
]
_FOOT_POINTS = [np.array([BP_L_HEEL, BP_L_FOOT]), np.array([BP_R_HEEL, BP_R_FOOT])]


@dataclass(frozen=True)
class Caption:
    """Text lines for the top of a frame, each with its BGR colour."""

    lines: tuple[tuple[str, tuple[int, int, int]], ...]


class Story:
    """What a recording's caption says, kept from the judge's events as they come."""

    def __init__(self) -> None:
        self._set = ""  # "Set 2 - left leg" (the video font has no middle dot)
        self._counts = {"left": 0, "right": 0}
        self._good = {"left": 0, "right": 0}
        self._verdict: tuple[float, str, tuple[int, int, int]] | None = None
        self._live_faults: list[str] = []

    @property
    def set_label(self) -> str:
        """The set as the caption names it ("Set 2 - left leg"), or "" before the first."""
        return self._set

    def follow(self, event: Event) -> None:
        """Keep what the caption shows: the set, reps per leg, the last verdict."""
        data = event.data
        if event.type == "set":
            self._set = f"Set {data['set']} - {data.get('leg') or '?'} leg"
        elif event.type == "fault":
            self._live_faults.append(str(data.get("fault", "?")).replace("_", " "))
        elif event.type == "rep":  # read defensively: the recorder must never raise
            leg = str(data.get("leg", "?"))
            faults = [str(f).replace("_", " ") for f in data.get("faults") or []]
            if leg in self._counts:
                self._counts[leg] += 1
                self._good[leg] += not faults
            peak = data.get("peak_hip_flexion_deg")
            deg = f"{peak:.0f} deg " if isinstance(peak, int | float) else ""
            text = f"R{data.get('index', '?')} {leg} {deg}" + (", ".join(faults) or "good")
            self._verdict = (event.t, text, BAD_BGR if faults else GOOD_BGR)
            self._live_faults = []

    def caption(self, t: float, angles: tuple[Any, Any] | None) -> Caption:
        """The caption for a frame at `t`: set and reps per leg, the live hip and knee
        flexion per leg (the judge's, floored at 0), faults seen in the lift under way, and
        the last rep's verdict for VERDICT_S after it."""
        lines: list[tuple[str, tuple[int, int, int]]] = []
        counts = "  ".join(
            f"{leg[0].upper()} {self._counts[leg]} reps ({self._good[leg]} good)"
            for leg in ("left", "right")
        )
        lines.append(((self._set + "   " if self._set else "") + counts, TEXT_BGR))
        if angles is not None:
            for i, leg in enumerate(("left", "right")):
                hip, knee = _deg(angles[0][i]), _deg(angles[1][i])
                lines.append((f"{leg}: hip {hip}  knee {knee}", (LEFT_TEXT_BGR, RIGHT_TEXT_BGR)[i]))
        if self._live_faults:
            lines.append(("now: " + ", ".join(self._live_faults), BAD_BGR))
        elif self._verdict is not None and t - self._verdict[0] <= VERDICT_S:
            lines.append(self._verdict[1:])
        return Caption(tuple(lines))


def _deg(value: Any) -> str:
    """An angle for the caption: flexion floored at 0 (a resting thigh reads a few degrees
    below the trunk line), a dash when the joint is not seen."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"{max(v, 0.0):.0f} deg" if np.isfinite(v) else "-"


def _segments(points: np.ndarray, edges: np.ndarray, min_score: float) -> list[np.ndarray]:
    seen = points[:, 2] >= min_score
    keep = edges[seen[edges[:, 0]] & seen[edges[:, 1]]]
    return list(np.rint(points[keep][:, :, :2]).astype(np.int32))


def _dots(bgr: np.ndarray, points: np.ndarray, min_score: float, colour=None) -> None:
    for x, y, s in points[points[:, 2] >= min_score]:
        c = colour or (0, int(255 * min(s, 1.0)), int(255 * (1.0 - min(s, 1.0))))
        cv2.circle(bgr, (round(x), round(y)), 4, c, -1, cv2.LINE_AA)


def draw_pose(bgr: np.ndarray, pose: Pose, min_score: float = MIN_SCORE) -> None:
    """Draw `pose` onto the BGR image in place, left and right in their own colours."""
    kp = pose.keypoints
    cv2.polylines(bgr, _segments(kp, _CENTRE, min_score), False, BONE_BGR, 2, cv2.LINE_AA)
    for edges, colour in zip(_SIDE, (LEFT_BGR, RIGHT_BGR), strict=True):
        cv2.polylines(bgr, _segments(kp, edges, min_score), False, colour, 3, cv2.LINE_AA)
    if pose.landmarks is not None:
        lm = pose.landmarks[:, [0, 1, 3]]  # x, y, visibility
        for edges, points, colour in zip(_FOOT_EDGES, _FOOT_POINTS, (LEFT_BGR, RIGHT_BGR),
                                         strict=True):  # fmt: skip
            cv2.polylines(bgr, _segments(lm, edges, min_score), False, colour, 2, cv2.LINE_AA)
            _dots(bgr, lm[points], min_score, colour)
    _dots(bgr, kp, min_score)


def draw_caption(bgr: np.ndarray, caption: Caption) -> None:
    """The caption's lines at the top left, on a dark band so they read on any scene."""
    if not caption.lines:
        return
    h = bgr.shape[0]
    scale = max(0.45, min(1.0, h / 720.0))
    thick = 1 if scale < 0.6 else 2
    step = round(30 * scale)
    band = bgr[: step * len(caption.lines) + round(8 * scale)]
    band[:] = (band * 0.35).astype(np.uint8)
    for i, (text, colour) in enumerate(caption.lines):
        origin = (round(8 * scale), step * (i + 1) - round(6 * scale))
        cv2.putText(bgr, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, colour, thick,
                    cv2.LINE_AA)  # fmt: skip


class OverlayWriter:
    """An H.264 mp4 (browsers play it) of the input frames with the skeleton drawn on, one
    frame per call."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int,
                 mode: int = 0o600):  # fmt: skip
        from edge.recorder_encode import H264Writer

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = H264Writer(self.path, fps, width, height, mode)
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot write here: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise SourceError(f"{self.path}: cannot write an mp4 video here: {exc}") from None
        self._bgr = np.empty((height, width, 3), dtype=np.uint8)

    def write(self, rgb: np.ndarray, pose: Pose, caption: Caption | None = None) -> None:
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=self._bgr)
        draw_pose(self._bgr, pose)
        if caption is not None:
            draw_caption(self._bgr, caption)
        self._writer.write(self._bgr)

    @property
    def bytes_out(self) -> int:
        """Encoded bytes so far (the file lags behind the encoder's buffers)."""
        return self._writer.bytes_out

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> OverlayWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
