"""The judge's live state: the one owner of what the LEDs, the bar graph and `hipflex watch`
show (status, angles, set, counts per leg, good reps, the latest faults), updated in place
by the engine on every frame and every rep."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.judge.reps import Rep

RECENT_FAULTS = 5  # faults the live view lists, newest last


@dataclass
class LiveState:
    """What the LEDs, the bar graph and `hipflex watch` show, updated in place every frame."""

    status: str = "no_athlete"
    working_leg: str | None = None
    hip_flexion_deg: list[float] = field(default_factory=lambda: [math.nan, math.nan])
    knee_flexion_deg: list[float] = field(default_factory=lambda: [math.nan, math.nan])
    reps: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    good_reps: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    set: int = 0
    last_faults: list[str] = field(default_factory=list)  # the last rep's
    # the latest faults over all reps: {"t", "leg", "fault", "rep"}, newest last
    recent_faults: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=RECENT_FAULTS)
    )
    baseline: str = "none"  # "none", "provisional" (no rest seen yet) or "rest"
    head: str | None = None  # "left" or "right" in the image, from the baseline

    def count(self, t: float, rep: Rep) -> None:
        """A rep is done at `t`: count it on its leg, good or with its faults."""
        self.reps[rep.leg] += 1
        self.last_faults = rep.faults
        if not rep.faults:
            self.good_reps[rep.leg] += 1
        for fault in rep.faults:
            self.recent_faults.append({"t": t, "leg": rep.leg, "fault": fault, "rep": rep.index})
