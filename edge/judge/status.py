"""What the box can say about the athlete on each frame, before any rep logic.

no_athlete (nobody seen for longer than the gap limit) > tracking_lost (trunk or both
legs unknown) > not_lying (set after `not_lying_after_s` upright, cleared after
`lying_again_s` lying) > ok. The two latches are in seconds, not frames.
"""

from __future__ import annotations

import math

from edge.config.exercise import ExerciseConfig

STATUSES = ("ok", "not_lying", "tracking_lost", "no_athlete")
OK, NOT_LYING, TRACKING_LOST, NO_ATHLETE = range(4)


class StatusTracker:
    def __init__(self, cfg: ExerciseConfig):
        self.cfg = cfg
        self.code: int | None = None
        self._last_seen = -math.inf
        self._upright_since: float | None = None
        self._lying_since: float | None = None
        self._not_lying = False

    def update(self, t: float, seen: bool, lying: bool, trunk: bool, leg: bool) -> bool:
        """Feed one frame; returns whether the status changed (then read `code`)."""
        tr = self.cfg.tracking
        if seen:
            self._last_seen = t
        if lying:
            self._upright_since = None
            if self._lying_since is None:
                self._lying_since = t
            if t - self._lying_since >= tr.lying_again_s:
                self._not_lying = False
        else:
            self._lying_since = None
            if self._upright_since is None:
                self._upright_since = t
            if t - self._upright_since >= tr.not_lying_after_s:
                self._not_lying = True
        if t - self._last_seen > tr.max_gap_s:
            code = NO_ATHLETE
        elif not (trunk and leg):
            code = TRACKING_LOST
        elif self._not_lying:
            code = NOT_LYING
        else:
            code = OK
        changed = code != self.code
        self.code = code
        return changed
