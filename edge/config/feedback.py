"""The `feedback` section: pins, polarity, patterns, buzzer and bar graph."""

from __future__ import annotations

from edge.config.base import Section


class FeedbackConfig(Section):
    pass
