"""LEDs and buzzer: judge events in, light and sound out, without ever blocking the loop.

Every output is a real gpiozero device. Which pins they drive (lgpio on a Pi, mock pins in
tests, the narrating timeline of `make demo`) is the pin factory's business: see
edge.outputs. Every timed change (a flash ending, a blink, the next buzzer step) runs on one
edge.cues.Scheduler: live on its own thread, or in the clip's media time under `--fast`. The
buzzer's cues queue (the end-of-rep beeps wait for the lumbar-rounding tone to finish rather
than cut it), which is why it has a small player rather than gpiozero's own beep.

The cues (issue 4):
  rep without faults   green flash and one short beep
  live "fault" event   red flash; `lumbar_rounding` also sounds the long tone at once,
                       cutting off any beep still playing
  rep with faults      red flash and two short beeps, unless every fault of the rep was
                       already sounded live: a rep whose only fault is lumbar_rounding got its
                       long tone during the lift, and a second cue for the same fault would
                       only blur which sound means what
  status               amber: off when "ok", slow blink while waiting (no_athlete, not_lying,
                       misaligned), fast blink when tracking is lost, solid on "error"
  set                  no cue
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar

from gpiozero import LED, Buzzer, Device, LEDBarGraph, TonalBuzzer
from gpiozero.pins import Factory
from gpiozero.tones import Tone

from edge.config.faults import LIVE_FAULTS
from edge.config.feedback import FeedbackConfig
from edge.cues import Scheduler
from edge.events import Event

log = logging.getLogger(__name__)

# Faults whose live event has a sound of its own.
LIVE_SOUNDED = LIVE_FAULTS

STATUS_AMBER = {
    "ok": "off",
    "no_athlete": "slow",
    "not_lying": "slow",
    "misaligned": "slow",
    "tracking_lost": "fast",
    "error": "solid",
}

D = TypeVar("D", bound=Device)

# One buzzer step: (pitch in Hz, or None for silence; seconds). An active buzzer ignores pitch.
Step = tuple[float | None, float]


class BuzzerPlayer:
    """Plays buzzer steps one after another on the scheduler, so callers return at once.

    `play(steps)` queues after whatever is sounding, separated by `gap_s` of silence;
    `play(steps, interrupt=True)` drops everything and starts now. The buzzer goes silent
    whenever the queue runs dry.
    """

    def __init__(
        self, sound: Callable[[float | None], None], gap_s: float, scheduler: Scheduler
    ) -> None:
        self._sound = sound
        self._gap_s = gap_s
        self._scheduler = scheduler
        self._steps: deque[Step] = deque()
        self._current: list | None = None  # the scheduled end of the sounding step

    def play(self, steps: Iterable[Step], *, interrupt: bool = False) -> None:
        with self._scheduler.lock:
            if interrupt:
                self._steps.clear()
                self._scheduler.cancel(self._current)
                self._current = None
            elif self._current is not None or self._steps:
                self._steps.append((None, self._gap_s))
            self._steps.extend(steps)
            if self._current is None:
                self._next()

    def silence(self) -> None:
        self.play((), interrupt=True)

    def _next(self) -> None:
        if not self._steps:
            self._current = None
            self._sound(None)
            return
        hz, seconds = self._steps.popleft()
        self._sound(hz)
        self._current = self._scheduler.after(seconds, self._next)


class Feedback:
    """The box's LEDs, buzzer and optional bar graph, driven from judge events.

    Every method returns at once: timed changes run on `scheduler` (by default a live one
    of its own). `pin_factory=None` uses gpiozero's default (lgpio on a Pi,
    $GPIOZERO_PIN_FACTORY).
    """

    def __init__(
        self,
        config: FeedbackConfig,
        pin_factory: Factory | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self._pin_factory = pin_factory
        self._owns_scheduler = scheduler is None
        self.scheduler = scheduler or Scheduler()
        self._lock = self.scheduler.lock
        self._timers: dict[str, list | None] = {"green": None, "red": None, "amber": None}
        self._amber_mode = "off"
        self._sounded_live: set[str] = set()
        self._unknown_statuses: set[str] = set()
        self._closed = False
        self._build(config)

    def reconfigure(self, config: FeedbackConfig) -> bool:
        """Apply a reloaded config: release every pin, then claim the new ones, keeping the
        status light's state. If the new wiring cannot be claimed (a pin held by another
        process), the old one is restored, the reason logged, and False returned."""
        with self._lock:
            old, mode = self.config, self._amber_mode
            self.off()
            self._close_devices()
            try:
                self._build(config)
            except Exception as exc:
                log.error("feedback: cannot apply the new pins (%s); keeping the old ones", exc)
                self._build(old)
                self._set_amber(mode)
                return False
            self._set_amber(mode)
            return True

    def _build(self, config: FeedbackConfig) -> None:
        self.config = config
        pins, high, patterns = config.pins, config.active_high, config.patterns
        factory = self._pin_factory
        self._devices: dict[str, Device] = {}
        self._bar: LEDBarGraph | None = None
        self._player: BuzzerPlayer | None = None
        try:
            self._green = self._add(
                "green", LED(pins.green, active_high=high.green, pin_factory=factory)
            )
            self._red = self._add("red", LED(pins.red, active_high=high.red, pin_factory=factory))
            self._amber = self._add(
                "amber", LED(pins.amber, active_high=high.amber, pin_factory=factory)
            )
            if pins.bar_graph:
                self._bar = self._add(
                    "bar_graph",
                    LEDBarGraph(
                        *pins.bar_graph, active_high=high.bar_graph, pwm=False, pin_factory=factory
                    ),
                )
            if config.buzzer.enabled:
                self._player = BuzzerPlayer(
                    self._buzzer_sound(factory), patterns.beep_gap_s, self.scheduler
                )
        except BaseException:
            self._close_devices()
            raise
        beep_hz, long_hz = config.buzzer.beep_hz, config.buzzer.long_tone_hz
        self._beep: tuple[Step, ...] = ((beep_hz, patterns.beep_s),)
        self._double_beep: tuple[Step, ...] = (
            (beep_hz, patterns.beep_s),
            (None, patterns.beep_gap_s),
            (beep_hz, patterns.beep_s),
        )
        self._long_tone: tuple[Step, ...] = ((long_hz, patterns.long_tone_s),)
        self._bar_segments = len(pins.bar_graph)
        self._bar_full_deg = config.bar_graph.full_scale_deg
        self._bar_lit = 0
        self._amber_mode = "off"

    @property
    def devices(self) -> Mapping[str, Device]:
        """The gpiozero devices by part name (green, red, amber, buzzer, bar_graph)."""
        return MappingProxyType(self._devices)

    # ------------------------------------------------------------------ cues

    def advance(self, t: float) -> None:
        """Media time only: bring every cue up to the clip's time `t` (each frame)."""
        self.scheduler.advance(t)

    @property
    def media_time(self) -> bool:
        """True when cues run in the clip's time (a --fast file run): call `advance` each frame."""
        return self.scheduler.media_time

    @property
    def settle_s(self) -> float:
        """How long the longest cue takes to play out: what a file run waits at its end."""
        p = self.config.patterns
        return max(p.good_flash_s, p.fault_flash_s, p.long_tone_s + 2 * (p.beep_gap_s + p.beep_s))

    def on_event(self, event: Event) -> None:
        with self._lock:
            self._on_event(event)

    def _on_event(self, event: Event) -> None:
        data = event.data
        if event.type == "rep":
            self._rep(data.get("faults") or ())
        elif event.type == "fault":
            self._live_fault(str(data.get("fault", "")))
        elif event.type == "status":
            status = str(data.get("status", ""))
            mode = STATUS_AMBER.get(status)
            if mode is None:
                if status not in self._unknown_statuses:  # once, not every frame
                    self._unknown_statuses.add(status)
                    log.warning("unknown status %r: showing it as waiting", status)
                mode = "slow"
            self._set_amber(mode)
        elif event.type == "set":
            self._sounded_live.clear()

    def show_range(self, hip_flexion_deg: float) -> None:
        """Light the bar graph up to `hip_flexion_deg` (NaN: unknown, all off). Called every
        frame, so it only touches pins when the number of lit segments changes."""
        if self._bar is None:
            return
        deg, n = hip_flexion_deg, self._bar_segments
        lit = (
            n
            if deg >= self._bar_full_deg
            else min(n, int(deg * n / self._bar_full_deg))
            if deg > 0
            else 0
        )
        if lit != self._bar_lit:
            self._bar_lit = lit
            self._bar.value = lit / self._bar_segments

    def error(self) -> None:
        """Solid amber: something is wrong that the coach must fix (e.g. an invalid config)."""
        with self._lock:
            self._set_amber("solid")

    def off(self) -> None:
        """Everything dark and silent; forgets the live faults of the rep in progress."""
        with self._lock:
            self._sounded_live.clear()
            if self._player is not None:
                self._player.silence()
            for name in ("green", "red"):
                self.scheduler.cancel(self._timers[name])
                self._timers[name] = None
                self._devices[name].off()
            self._set_amber("off", force=True)
            if self._bar is not None:
                self._bar.off()
                self._bar_lit = 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.off()
        self._close_devices()
        if self._owns_scheduler:
            self.scheduler.close()

    # ------------------------------------------------------------------ internals

    def _rep(self, faults: Iterable[str]) -> None:
        faults = set(faults)
        unsounded = faults - self._sounded_live
        self._sounded_live.clear()
        if not faults:
            self._flash(self._green, self.config.patterns.good_flash_s)
            self._sound(self._beep)
            return
        self._flash(self._red, self.config.patterns.fault_flash_s)
        if unsounded:
            self._sound(self._double_beep)

    def _live_fault(self, fault: str) -> None:
        self._flash(self._red, self.config.patterns.fault_flash_s)
        if fault in LIVE_SOUNDED and fault not in self._sounded_live:
            self._sounded_live.add(fault)
            self._sound(self._long_tone, interrupt=True)

    def _flash(self, led: LED, seconds: float) -> None:
        name = "green" if led is self._green else "red"
        self.scheduler.cancel(self._timers[name])
        led.on()
        self._timers[name] = self.scheduler.after(seconds, led.off)

    def _sound(self, steps: tuple[Step, ...], *, interrupt: bool = False) -> None:
        if self._player is not None:
            self._player.play(steps, interrupt=interrupt)

    def _set_amber(self, mode: str, *, force: bool = False) -> None:
        if mode == self._amber_mode and not force:
            return
        self._amber_mode = mode
        self.scheduler.cancel(self._timers["amber"])
        self._timers["amber"] = None
        if mode == "off":
            self._amber.off()
        elif mode == "solid":
            self._amber.on()
        else:
            hz = (
                self.config.patterns.slow_blink_hz
                if mode == "slow"
                else self.config.patterns.fast_blink_hz
            )
            self._amber.on()
            self._timers["amber"] = self.scheduler.after(0.5 / hz, lambda: self._blink(hz))

    def _blink(self, hz: float) -> None:
        self._amber.toggle()
        self._timers["amber"] = self.scheduler.after(0.5 / hz, lambda: self._blink(hz))

    def _buzzer_sound(self, pin_factory: Factory | None) -> Callable[[float | None], None]:
        """Build the buzzer device and return the function the player drives it with."""
        pin = self.config.pins.buzzer
        if self.config.buzzer.kind == "active":
            active = self._add(
                "buzzer",
                Buzzer(pin, active_high=self.config.active_high.buzzer, pin_factory=pin_factory),
            )
            return lambda hz: active.off() if hz is None else active.on()
        low, high = sorted((self.config.buzzer.beep_hz, self.config.buzzer.long_tone_hz))
        octaves = max(1, math.ceil(math.log2(high / low) / 2 + 1e-6))
        tonal = self._add(
            "buzzer",
            TonalBuzzer(
                pin,
                mid_tone=Tone.from_frequency(math.sqrt(low * high)),
                octaves=octaves,
                pin_factory=pin_factory,
            ),
        )
        return lambda hz: tonal.stop() if hz is None else tonal.play(Tone.from_frequency(hz))

    def _add(self, name: str, device: D) -> D:
        self._devices[name] = device
        return device

    def _close_devices(self) -> None:
        if self._player is not None:
            self._player.silence()
            self._player = None
        for device in self._devices.values():
            device.close()
        self._devices = {}
