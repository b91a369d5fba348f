"""The `feedback` section: which GPIO drives which part, its polarity, and the cue patterns.

Pins are BCM GPIO numbers (what gpiozero calls GPIO17), the numbers hardware.md's wiring
table uses. All pins live in one table so a clash is one glance, and is rejected here rather
than as a confusing "pin in use" from gpiozero at start-up. Defaults match hardware.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from edge.config.base import Section

FROZEN = ConfigDict(frozen=True)

# BCM 0 and 1 are the HAT ID EEPROM bus; 28+ are not on the 40-pin header.
MIN_GPIO, MAX_GPIO = 2, 27
MAX_BAR_SEGMENTS = 12

Gpio = Annotated[int, Field(ge=MIN_GPIO, le=MAX_GPIO)]

# hardware.md's wiring table: each part's BCM GPIO and the physical header pin it sits on.
# A physical number typed where the config wants BCM is a classic slip, so it is warned of.
WIRING = {"green": (17, 11), "red": (27, 13), "amber": (22, 15), "buzzer": (18, 12)}
PART = {"green": "green LED", "red": "red LED", "amber": "amber LED", "buzzer": "buzzer"}
# GPIOs that carry a bus on the Pi's header: an LED there fights the bus if it is enabled.
BUS_PINS = {
    2: "I²C SDA", 3: "I²C SCL",
    7: "SPI0 CE1", 8: "SPI0 CE0", 9: "SPI0 MISO", 10: "SPI0 MOSI", 11: "SPI0 SCLK",
    14: "UART TXD", 15: "UART RXD",
}  # fmt: skip

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
        if clash := _clash_text(self.assigned()):
            raise ValueError(clash)
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _clash_with_other_errors(cls, data: Any, handler: Any) -> Any:
        """A pin used twice is reported with the section's other errors, not only once
        they are fixed (the after-validator never runs while a field is invalid)."""
        if isinstance(data, dict) and isinstance(data.get("bar_graph"), list):
            # strict JSON validation takes an array as a tuple; a wrap validator hands over
            # Python objects, where strict mode wants the tuple itself
            data = {**data, "bar_graph": tuple(data["bar_graph"])}
        try:
            return handler(data)
        except ValidationError as exc:
            clash = _clash_text(_raw_pins(cls, data))
            if not clash:
                raise
            try:
                errors = [_init_error(e) for e in exc.errors(include_url=False)]
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError("value_error", clash), loc=(), input=data
                    )
                )
                rebuilt = ValidationError.from_exception_data(exc.title, errors)
            except (KeyError, TypeError, ValueError):  # an error type we cannot rebuild
                raise exc from None
            raise rebuilt from None

    def assigned(self) -> list[tuple[str, int]]:
        """(key, pin) for every part, bar-graph segments as bar_graph[i]."""
        named = [(name, getattr(self, name)) for name in ("green", "red", "amber", "buzzer")]
        return named + [(f"bar_graph[{i}]", pin) for i, pin in enumerate(self.bar_graph)]


def _raw_pins(cls: type[FeedbackPins], data: Any) -> list[tuple[str, int]]:
    """The whole-number pins in unvalidated input, defaults filling the gaps."""
    if not isinstance(data, dict):
        return []
    out = []
    for name in ("green", "red", "amber", "buzzer"):
        value = data.get(name, cls.model_fields[name].default)
        if _is_gpio(value):
            out.append((name, value))
    bar = data.get("bar_graph", ())
    if isinstance(bar, list | tuple):
        out += [(f"bar_graph[{i}]", v) for i, v in enumerate(bar) if _is_gpio(v)]
    return out


def _is_gpio(value: Any) -> bool:
    """A whole number in range (an out-of-range pin already has its own error)."""
    return isinstance(value, int) and not isinstance(value, bool) and MIN_GPIO <= value <= MAX_GPIO


def _clash_text(assigned: list[tuple[str, int]]) -> str:
    users: dict[int, list[str]] = {}
    for name, pin in assigned:
        users.setdefault(pin, []).append(name)
    clashes = [
        f"GPIO{pin} is used by {' and '.join(names)}"
        for pin, names in users.items()
        if len(names) > 1
    ]
    return "; ".join(clashes) + "; each part needs its own pin" if clashes else ""


def _init_error(error: Any) -> InitErrorDetails:
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if k != "error"}
    kind = error["type"]
    if kind in ("value_error", "assertion_error"):
        reason = str((error.get("ctx") or {}).get("error", error["msg"]))
        return InitErrorDetails(
            type=PydanticCustomError("value_error", reason), loc=error["loc"], input=error["input"]
        )
    return InitErrorDetails(type=kind, loc=error["loc"], input=error["input"], ctx=ctx)


def pin_warnings(pins: FeedbackPins) -> list[str]:
    """Pins that are valid but probably wrong, one line each: a physical header number
    from hardware.md's wiring table where the config wants BCM, or a pin of the I²C, SPI or
    UART bus."""
    out = []
    physical = {phys: (part, bcm) for part, (bcm, phys) in WIRING.items()}
    for key, pin in pins.assigned():
        if key in WIRING and pin in physical and pin != WIRING[key][0]:
            part, bcm = physical[pin]
            guess = WIRING[key][0] if physical[pin][0] == key else None
            hint = f"; did you mean GPIO{guess}?" if guess else ""
            out.append(
                f"feedback.pins.{key} = {pin}: {pin} is the physical header pin of the "
                f"{PART[part]} in hardware.md's wiring table (GPIO{bcm}); the config takes BCM "
                f"GPIO numbers{hint}"
            )
        elif pin in BUS_PINS:
            out.append(
                f"feedback.pins.{key} = {pin}: GPIO{pin} is {BUS_PINS[pin]}; a part there "
                "fights that bus if it is enabled (raspi-config), pick a free GPIO"
            )
    return out


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
