"""Where the feedback devices' pin writes go, picked at run time by name
(edge.backends.PIN_BACKENDS).

Feedback never changes with the backend: like gpiozero's own devices it only talks to pins,
and the pin factory decides what a pin is.

  "gpio"      gpiozero's own choice: lgpio on a Pi, or whatever $GPIOZERO_PIN_FACTORY names
  "mock"      silent mock pins with PWM, for tests and headless runs (edge/outputs/mock.py)
  "timeline"  mock pins that print each LED and buzzer change as it happens (`make demo`)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, TextIO

from edge.backends import PIN_BACKENDS, resolve

if TYPE_CHECKING:
    from gpiozero.pins import Factory

    from edge.config.feedback import FeedbackConfig


def pin_factory(
    backend: str,
    config: FeedbackConfig,
    stream: TextIO | None = None,
    clock: Callable[[], float] = monotonic,
) -> Factory | None:
    """The pin factory for `backend`; None means gpiozero's default. `stream` (default
    stdout) is where "timeline" prints, with times read from `clock`."""
    if backend not in PIN_BACKENDS:
        choices = ", ".join(PIN_BACKENDS)
        raise ValueError(f"unknown feedback backend {backend!r}; choose one of {choices}")
    spec = PIN_BACKENDS[backend]
    if spec is None:
        return None
    return resolve(spec)(config, sys.stdout if stream is None else stream, clock)
