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
        return MockFactory(pin_class=MockPWMPin)
    if backend == "timeline":
        from edge.outputs.timeline import TimelineFactory

        return TimelineFactory(config, sys.stdout if stream is None else stream, clock)
    raise ValueError(f"unknown feedback backend {backend!r}; choose one of {', '.join(BACKENDS)}")
