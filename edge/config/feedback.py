"""The `feedback` section: which GPIO drives which part, its polarity, and the cue patterns.

Pins are BCM GPIO numbers (what gpiozero calls GPIO17), the numbers hardware.md's wiring
table uses. All pins live in one table so a clash is one glance, and is rejected here rather
than as a confusing "pin in use" from gpiozero at start-up. Defaults match hardware.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from edge.config.base import Section

FROZEN = ConfigDict(frozen=True)

# BCM 0 and 1 are the HAT ID EEPROM bus; 28+ are not on the 40-pin header.
MIN_GPIO, MAX_GPIO = 2, 27
MAX_BAR_SEGMENTS = 12

Gpio = Annotated[int, Field(ge=MIN_GPIO, le=MAX_GPIO)]

# The pitch range a piezo sounds well in, and that gpiozero's TonalBuzzer can span.
MIN_TONE_HZ, MAX_TONE_HZ = 200.0, 5000.0


def _gpio(default: int, part: str) -> Any:
    return Field(default, ge=MIN_GPIO, le=MAX_GPIO, description=f"BCM GPIO number of the {part}")


def _active_high(part: str) -> Any:
    return Field(
        True,
        description=f"true when the {part} lights/sounds with the pin high (wired pin -> part "
        "-> ground); false when wired from 3.3 V to the pin",
    )


class FeedbackPins(Section):
    model_config = FROZEN

    green: int = _gpio(17, "green LED (good rep)")
    red: int = _gpio(27, "red LED (fault)")
    amber: int = _gpio(22, "amber status LED")
    buzzer: int = _gpio(18, "buzzer transistor's base resistor")
    bar_graph: tuple[Gpio, ...] = Field(
        (),
        max_length=MAX_BAR_SEGMENTS,
        description="BCM GPIO numbers of the optional LED bar graph, lowest segment first; "
        "empty = no bar graph",
    )

    @model_validator(mode="after")
    def _no_pin_twice(self) -> Self:
        users: dict[int, list[str]] = {}
        for name in ("green", "red", "amber", "buzzer"):
            users.setdefault(getattr(self, name), []).append(name)
        for i, pin in enumerate(self.bar_graph):
            users.setdefault(pin, []).append(f"bar_graph[{i}]")
        clashes = [
            f"GPIO{pin} is used by {' and '.join(names)}"
            for pin, names in users.items()
            if len(names) > 1
        ]
        if clashes:
            raise ValueError("; ".join(clashes) + "; each part needs its own pin")
        return self


class FeedbackActiveHigh(Section):
    model_config = FROZEN

    green: bool = _active_high("green LED")
    red: bool = _active_high("red LED")
    amber: bool = _active_high("amber LED")
    buzzer: bool = _active_high("buzzer")
    bar_graph: bool = _active_high("bar graph")


class BuzzerConfig(Section):
    model_config = FROZEN

    enabled: bool = Field(True, description="false silences the box; the LEDs still cue")
    kind: Literal["active", "tonal"] = Field(
        "active",
        description='"active": a buzzer with its own oscillator (one pitch, on/off); '
        '"tonal": a passive piezo driven with a tone, so the long tone also differs in pitch',
    )
    beep_hz: float = Field(
        2000.0, ge=MIN_TONE_HZ, le=MAX_TONE_HZ, description="pitch of the short beeps (tonal)"
    )
    long_tone_hz: float = Field(
        500.0,
        ge=MIN_TONE_HZ,
        le=MAX_TONE_HZ,
        description="pitch of the lumbar-rounding tone (tonal)",
    )


class FeedbackPatterns(Section):
    model_config = FROZEN

    good_flash_s: float = Field(
        0.4, ge=0.05, le=5.0, description="green LED on-time for a good rep, seconds"
    )
    fault_flash_s: float = Field(
        1.5, ge=0.05, le=10.0, description="red LED on-time for a fault, seconds"
    )
    slow_blink_hz: float = Field(
        1.0,
        ge=0.2,
        le=5.0,
        description="amber blink rate while waiting for the athlete or the camera is misaligned",
    )
    fast_blink_hz: float = Field(
        4.0, ge=1.0, le=20.0, description="amber blink rate when tracking is lost"
    )
    beep_s: float = Field(0.08, ge=0.02, le=1.0, description="length of a short beep, seconds")
    beep_gap_s: float = Field(
        0.12, ge=0.02, le=1.0, description="silence between the two beeps of a faulty rep"
    )
    long_tone_s: float = Field(
        1.0, ge=0.2, le=5.0, description="length of the lumbar-rounding tone, seconds"
    )

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.fast_blink_hz <= self.slow_blink_hz:
            raise ValueError(
                f"fast_blink_hz ({self.fast_blink_hz:g}) must be above slow_blink_hz "
                f"({self.slow_blink_hz:g}) so lost tracking looks different from waiting"
            )
        if self.long_tone_s < 3 * self.beep_s:
            raise ValueError(
                f"long_tone_s ({self.long_tone_s:g}) must be at least 3 x beep_s "
                f"({self.beep_s:g}) so the lumbar-rounding tone cannot pass for a beep"
            )
        return self


class BarGraphConfig(Section):
    model_config = FROZEN

    full_scale_deg: float = Field(
        90.0,
        ge=30.0,
        le=150.0,
        description="hip flexion that lights the whole bar graph (the 90/90 target)",
    )


class FeedbackConfig(Section):
    model_config = FROZEN

    pins: FeedbackPins = Field(default_factory=FeedbackPins)
    active_high: FeedbackActiveHigh = Field(default_factory=FeedbackActiveHigh)
    buzzer: BuzzerConfig = Field(default_factory=BuzzerConfig)
    patterns: FeedbackPatterns = Field(default_factory=FeedbackPatterns)
    bar_graph: BarGraphConfig = Field(default_factory=BarGraphConfig)

    @model_validator(mode="after")
    def _tonal_is_active_high(self) -> Self:
        if self.buzzer.enabled and self.buzzer.kind == "tonal" and not self.active_high.buzzer:
            raise ValueError(
                'a "tonal" buzzer must be wired active-high (active_high.buzzer = true): '
                "gpiozero's TonalBuzzer idles with the pin low"
            )
        return self
