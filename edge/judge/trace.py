"""`hipflex analyze --trace FILE.csv`: one row per frame, so a coach or an engineer can
see why a rep got a fault: status, baseline, the angles and pelvis estimate, rule states."""

from __future__ import annotations

import csv
import math
from typing import TYPE_CHECKING, TextIO

import numpy as np

from edge.judge.reps import Col
from edge.kinematics import LEG_NAMES, NUM, Basis, pelvis_tilt

if TYPE_CHECKING:
    from edge.judge.engine import LiveState
    from edge.tracking import Baseline

COLUMNS = (
    "t", "status", "baseline", "resting", "judged", "working_leg", "hip_flexion_working",
    "hip_flexion_working_smooth", "hip_flexion_left", "hip_flexion_right", "knee_working",
    "knee_down", "heel_working_torso", "heel_down_torso", "shoulder_rise_torso",
    "pelvis_toward_feet_torso", "pelvis_up_torso", "pelvis_tilt_deg", "baseline_hip_x",
    "baseline_hip_y", "baseline_torso_px", "rep_in_progress", "reps_done",
)  # fmt: skip


def _num(x: float) -> str:
    return "" if x != x else f"{x:.3f}"


class Trace:
    """Writes trace rows to an open text file (the caller owns the file)."""

    def __init__(self, out: TextIO, radius_torso: float):
        self._csv = csv.writer(out, lineterminator="\n")
        self._csv.writerow(COLUMNS)
        self._radius = radius_torso

    def row(self, r: np.ndarray, live: LiveState, base: Baseline, in_rep: bool,
            reps: int) -> None:  # fmt: skip
        frame = base.frame
        tilt = float(pelvis_tilt(r[Col.PELVIS_F], r[Col.PELVIS_N], self._radius, NUM))
        leg = r[Col.LEG]
        self._csv.writerow((
            f"{r[Col.T]:.3f}", live.status, live.baseline, int(base.resting),
            int(r[Col.JUDGED]), "" if math.isnan(leg) else LEG_NAMES[int(leg)],
            *(_num(r[c]) for c in (Col.HIP, Col.HIP_S, Col.HIP_L, Col.HIP_R, Col.KNEE_W,
                                   Col.KNEE_D, Col.HEEL_W, Col.HEEL_D, Col.SHOULDER,
                                   Col.PELVIS_F, Col.PELVIS_N)),
            _num(tilt),
            *(("", "", "") if frame is None else
              (_num(frame[Basis.HIP_X]), _num(frame[Basis.HIP_Y]), _num(frame[Basis.TORSO]))),
            int(in_rep), reps,
        ))  # fmt: skip
