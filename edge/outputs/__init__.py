"""Where the feedback devices' pin writes go, picked at run time.

Feedback never changes with the backend: like gpiozero's own devices it only talks to pins,
and the pin factory decides what a pin is.

  "gpio"      gpiozero's own choice: lgpio on a Pi, or whatever $GPIOZERO_PIN_FACTORY names
  "mock"      silent mock pins with PWM, for tests and headless runs
  "timeline"  mock pins that print each LED and buzzer change as it happens (`make demo`)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from time import monotonic
from typing import TextIO

from gpiozero.pins import Factory
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.config.feedback import FeedbackConfig

BACKENDS = ("gpio", "mock", "timeline")
MOCK_HISTORY = 1_000  # state changes a mock pin keeps: a clip's cues, not a day's


class BoundedStates(list):
    """A mock pin's state history that keeps only the newest changes (between MOCK_HISTORY
    and twice that), so a long run on mock pins does not grow by every cue it ever gave.
    Still a list: tests read and slice it."""

    def append(self, item: object) -> None:
        super().append(item)
        if len(self) > 2 * MOCK_HISTORY:
            del self[:MOCK_HISTORY]


class BoundedMockPWMPin(MockPWMPin):
    """gpiozero's PWM mock pin with a bounded state history (BoundedStates)."""

    def clear_states(self) -> None:
        super().clear_states()
        self.states = BoundedStates(self.states)


def pin_factory(
    backend: str,
    config: FeedbackConfig,
    stream: TextIO | None = None,
    clock: Callable[[], float] = monotonic,
) -> Factory | None:
    """The pin factory for `backend`; None means gpiozero's default. `stream` (default
    stdout) is where "timeline" prints, with times read from `clock`."""
    if backend == "gpio":
        return None
    if backend == "mock":
        return MockFactory(pin_class=BoundedMockPWMPin)
    if backend == "timeline":
        from edge.outputs.timeline import TimelineFactory

        return TimelineFactory(config, sys.stdout if stream is None else stream, clock)
    raise ValueError(f"unknown feedback backend {backend!r}; choose one of {', '.join(BACKENDS)}")
