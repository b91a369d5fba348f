"""Silent mock pins with PWM (the "mock" pin backend), whose state histories stay bounded
so a long run on mock pins does not grow by every cue it ever gave."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.config.feedback import FeedbackConfig

MOCK_HISTORY = 1_000  # state changes a mock pin keeps: a clip's cues, not a day's


class BoundedStates(list):
    """A mock pin's state history that keeps only the newest changes (between MOCK_HISTORY
    and twice that). Still a list: tests read and slice it."""

    def append(self, item: object) -> None:
        super().append(item)
        if len(self) > 2 * MOCK_HISTORY:
            del self[:MOCK_HISTORY]


class BoundedMockPWMPin(MockPWMPin):
    """gpiozero's PWM mock pin with a bounded state history (BoundedStates)."""

    def clear_states(self) -> None:
        super().clear_states()
        self.states = BoundedStates(self.states)


def mock_factory(config: FeedbackConfig, stream: TextIO, clock: Callable[[], float]) -> MockFactory:
    """The "mock" backend. It prints nothing and keeps no time, so it needs none of the
    arguments every pin backend is given."""
    return MockFactory(pin_class=BoundedMockPWMPin)
