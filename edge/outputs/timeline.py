"""Mock pins that narrate: each LED or buzzer change becomes a line the moment it happens.

    3.41s  green ON
    3.81s  green OFF

This is how `make demo` shows the cues without a Pi. The lines come from the pins the real
gpiozero devices write, so the timeline shows exactly what the GPIO would do, active-low
wiring already undone: "ON" means lit or sounding.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from time import monotonic
from typing import TextIO

from gpiozero.pins import PinInfo
from gpiozero.pins.mock import MockFactory

from edge.config.feedback import FeedbackConfig
from edge.outputs.mock import BoundedMockPWMPin


def pin_roles(config: FeedbackConfig) -> dict[int, tuple[str, bool]]:
    """BCM pin -> (part name, active_high) for every pin the feedback config uses."""
    pins, high = config.pins, config.active_high
    roles = {
        pins.green: ("green", high.green),
        pins.red: ("red", high.red),
        pins.amber: ("amber", high.amber),
        pins.buzzer: ("buzzer", high.buzzer),
    }
    for i, pin in enumerate(pins.bar_graph, start=1):
        roles[pin] = (f"bar{i}", high.bar_graph)
    return roles


class TimelineFactory(MockFactory):
    """A mock pin factory whose pins print their logical changes to `stream`.

    Times are seconds on `clock` (default: the monotonic clock) since the factory was made
    or `restart_clock()` was last called. A media-time run passes its cue scheduler's clock,
    so the timeline reads in the clip's seconds.
    """

    def __init__(
        self, config: FeedbackConfig, stream: TextIO, clock: Callable[[], float] = monotonic
    ) -> None:
        super().__init__(pin_class=TimelinePin)
        self.roles = pin_roles(config)
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self._lock = threading.Lock()

    def restart_clock(self) -> None:
        self.start = self.clock()

    def report(self, bcm: int, text: str) -> None:
        name = self.roles.get(bcm, (f"GPIO{bcm}", True))[0]
        with self._lock:
            self.stream.write(f"{self.clock() - self.start:7.2f}s  {name} {text}\n")
            self.stream.flush()


class TimelinePin(BoundedMockPWMPin):
    """A PWM mock pin that tells its factory whenever its part turns on or off (or a
    sounding buzzer changes pitch). Changes the part cannot show, such as an active-low
    pin being driven high at start-up, print nothing."""

    def __init__(self, factory: TimelineFactory, info: PinInfo) -> None:
        self._timeline = factory
        self._bcm = int(info.name.removeprefix("GPIO"))
        self._active_high = factory.roles.get(self._bcm, ("", True))[1]
        self._shown_on = False
        self._released = False
        super().__init__(factory, info)

    def close(self) -> None:
        # Releasing a pin resets the mock to low, which an active-low part would "show" as
        # on; a released pin drives nothing, so it has nothing to report.
        self._released = True
        super().close()

    def _set_function(self, value: str) -> None:
        super()._set_function(value)
        if value == "output":  # claimed again, e.g. by the feedback rebuilt on a reload
            self._released = False

    def _change_state(self, value: float) -> bool:
        changed = super()._change_state(value)
        on = bool(value) == self._active_high
        if changed and on != self._shown_on and not self._released:
            self._shown_on = on
            self._timeline.report(self._bcm, self._describe(on))
        return changed

    def _set_frequency(self, value: float | None) -> None:
        retune = (
            value is not None
            and self._shown_on
            and not self._released
            and value != self._get_frequency()
        )
        super()._set_frequency(value)
        if retune:
            self._timeline.report(self._bcm, self._describe(True))

    def _describe(self, on: bool) -> str:
        if not on:
            return "OFF"
        hz = self._get_frequency()
        return f"ON {hz:.0f} Hz" if hz else "ON"
