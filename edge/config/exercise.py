"""The `exercise` section: targets, tolerances and each fault's threshold and switch.
Defaults are those of exercise.md."""

from __future__ import annotations

from edge.config.base import Section


class ExerciseConfig(Section):
    pass
