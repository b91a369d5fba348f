"""Reps: the per-frame row the judge keeps, the rep's boundaries, and the `Rep` record.

A rep is found on the *working* hip flexion (the higher thigh, smoothed), so a left/right
label swap cannot end or start one. Boundaries are relative to the rep itself, with
hysteresis that jitter cannot cross: a rep starts once the flexion is above `start_deg`
and `min_rise_deg` above its lowest point since the last rep; it ends once it is below
`end_deg`, or has fallen back by half its rise (at least `min_rise_deg`). Its leg is the
label the working knee carried on most of the rep's frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from edge.config.exercise import RepConfig
from edge.kinematics import Geo


class Col(IntEnum):
    """Columns of the judge's per-frame row: time, smoothed flexion, judged, then `Geo`."""

    T = 0
    HIP_S = 1  # working hip flexion smoothed over tracking.smooth_s, deg
    JUDGED = 2  # 1.0 when status is ok and a baseline is known
    HIP = 3
    LEG = 4
    KNEE_W = 5
    KNEE_D = 6
    HEEL_W = 7
    HEEL_D = 8
    SHOULDER = 9
    PELVIS_F = 10
    PELVIS_N = 11
    HIP_L = 12
    HIP_R = 13
    THIGH_REST = 14


GEO_START = Col.HIP
N_COLS = len(Col)
assert all(Col[g.name] == GEO_START + g for g in Geo)


@dataclass
class Rep:
    """One rep as every output shows it; `to_json` is the `analyze --json` rep object."""

    index: int
    leg: str
    set: int
    start_s: float
    peak_s: float
    end_s: float
    peak_hip_flexion_deg: float
    knee_flexion_at_peak_deg: float | None
    pelvis_tilt_deg: float | None
    lift_s: float
    faults: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "leg": self.leg,
            "set": self.set,
            "start_s": round(self.start_s, 3),
            "peak_s": round(self.peak_s, 3),
            "end_s": round(self.end_s, 3),
            "peak_hip_flexion_deg": round(self.peak_hip_flexion_deg, 1),
            "knee_flexion_at_peak_deg": _round(self.knee_flexion_at_peak_deg),
            "pelvis_tilt_deg": _round(self.pelvis_tilt_deg),
            "lift_s": round(self.lift_s, 3),
            "faults": list(self.faults),
        }


def _round(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 1)


def majority_leg(rows: np.ndarray, start_deg: float) -> int:
    """The label the working knee carried on most frames above `start_deg` (all frames if
    none): one swapped frame, or a swap of up to a few tenths of a second, cannot win."""
    leg = rows[:, Col.LEG]
    up = rows[:, Col.HIP_S] > start_deg
    votes = leg[up] if up.any() else leg
    right = np.count_nonzero(votes == 1.0)
    return int(right > np.count_nonzero(votes == 0.0))


END_CONFIRM_S = 0.1  # a rep ends once its fall has lasted this long (at least two frames)


class RepBoundaries:
    """Where the current rep starts and ends, one judged frame at a time."""

    def __init__(self, cfg: RepConfig, fps: float):
        self.cfg = cfg
        # one glitched frame (a dropout and a swap together) can pull the smoothed flexion
        # down by half a rise: the fall must hold for more than one frame to end the rep
        self.confirm = max(2, math.ceil(END_CONFIRM_S * fps - 1e-9))
        self.falling = 0  # frames the fall has held so far
        self.up = False
        self.low = math.inf  # lowest flexion since the last rep ended (its bottom)
        self.low_at = 0  # and the row it was on
        self.high = -math.inf  # highest flexion of the rep in progress

    def update(self, i: int, h: float) -> str | None:
        """Row `i` with smoothed working flexion `h`: "start", "end" or None."""
        cfg = self.cfg
        if not self.up:
            if h < self.low:
                self.low, self.low_at = h, i
            if h > cfg.start_deg and h - self.low >= cfg.min_rise_deg:
                self.up, self.high = True, h
                return "start"
            return None
        if h > self.high:
            self.high = h
        fall = max(cfg.min_rise_deg, 0.5 * (self.high - self.low))
        if not (h < cfg.end_deg or h < self.high - fall):
            self.falling = 0
            return None
        self.falling += 1
        if self.falling < self.confirm:
            return None
        self.reset(i, h)
        return "end"

    def start_at_once(self, i: int, h: float) -> bool:
        """The first judged frame of a session already high (the box came on mid-lift):
        a rep in progress, whose bottom was not seen."""
        if h > self.cfg.start_deg:
            self.up, self.high, self.low, self.low_at = True, h, h, i
        return self.up

    def reset(self, i: int, h: float) -> None:
        self.up, self.falling = False, 0
        self.low, self.low_at, self.high = h, i, -math.inf

    def shift(self, offset: int) -> None:
        """The row buffer moved its rows down by `offset`."""
        self.low_at = max(0, self.low_at - offset)
