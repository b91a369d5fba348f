"""Reps per leg and the eight faults of exercise.md.

Where things are: the per-frame engine (`engine`) and its live state (`live`), the status
(`status`), rep boundaries and the `Rep` record (`reps`), the fault rules (`faults`), the
per-frame trace (`trace`).
The fault names and their thresholds are registered once in `edge.config.faults`.
"""

from edge.config.faults import FAULTS
from edge.judge.engine import ClipResult, StreamingJudge, judge_clip
from edge.judge.live import LiveState
from edge.judge.status import STATUSES

__all__ = ["FAULTS", "STATUSES", "ClipResult", "LiveState", "StreamingJudge", "judge_clip"]
