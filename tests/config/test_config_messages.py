"""Every bad input gets one exact line naming the key path, the bad value and what is allowed."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import AfterValidator, Field, ValidationError, model_validator

from edge.config.base import Section
from edge.config.load import config_from_toml, parse_toml
from edge.config.messages import format_errors
from edge.errors import ConfigError

ALL_KEYS = "profile, camera, model, exercise, feedback, storage, logging, fleet"

SOURCE_CHOICES = '"camera", "webcam:N" or a video or .npz file path'
LEVELS = '"DEBUG", "INFO", "WARNING", "ERROR"'
PRINTABLE = "must be at most 64 printable characters"
ABSOLUTE = "must be an absolute path, starting with /"

BAD = [
    # unknown keys and tables, with and without a close match
    ("camera.fsp = 30", 'camera.fsp: unknown key; did you mean "fps"?'),
    ("[camra]\nfps = 30", 'camra: unknown table; did you mean "camera"?'),
    ("[Logging]\nlevel = 'INFO'", 'Logging: unknown table; did you mean "logging"?'),
    (
        "camera.rotation = 2",
        "camera.rotation: unknown key; allowed: source, width, height, fps, zoom",
    ),
    ("verbose = true", f"verbose: unknown key; allowed: {ALL_KEYS}"),
    ("fps = 30", 'fps: unknown key; did you mean "camera.fps"?'),
    ("camera.backend = 'movenet'", 'camera.backend: unknown key; did you mean "model.backend"?'),
    ('"odd key" = 1', f'"odd key": unknown key; allowed: {ALL_KEYS}'),
    (
        "storage = {history = true, histroy = 1}",
        'storage.histroy: unknown key; did you mean "history"?',
    ),
    ("feedback.pins.bar = [5, 6]", 'feedback.pins.bar: unknown key; did you mean "bar_graph"?'),
    ("feedback.buzer.kind = 'tonal'", 'feedback.buzer: unknown table; did you mean "buzzer"?'),
    # ranges, read from the field's own bounds
    ("camera.width = 5000", "camera.width = 5000: must be between 160 and 1920"),
    ("camera.fps = 4", "camera.fps = 4: must be between 5 and 120"),
    ("camera.fps = nan", "camera.fps = nan: must be between 5 and 120"),
    ("camera.fps = -inf", "camera.fps = -inf: must be between 5 and 120"),
    ("camera.zoom = 0.5", "camera.zoom = 0.5: must be between 1 and 4"),
    ("model.num_threads = -1", "model.num_threads = -1: must be between 0 and 16"),
    ("storage.record_max_mb = 5", "storage.record_max_mb = 5: must be between 10 and 1000000"),
    ("logging.timing_interval_s = 0", "logging.timing_interval_s = 0: must be between 1 and 3600"),
    ("feedback.pins.green = 40", "feedback.pins.green = 40: must be between 2 and 27"),
    (
        "feedback.pins.bar_graph = [5, 1]",
        "feedback.pins.bar_graph[1] = 1: must be between 2 and 27",
    ),
    (
        "feedback.buzzer.beep_hz = 20000",
        "feedback.buzzer.beep_hz = 20000: must be between 200 and 5000",
    ),
    # types: TOML is typed, so no coercion
    ("camera.width = 640.0", "camera.width = 640.0: must be an integer between 160 and 1920"),
    ('camera.width = "640"', 'camera.width = "640": must be an integer between 160 and 1920'),
    ("camera.width = [640]", "camera.width = [640]: must be an integer between 160 and 1920"),
    ('camera.fps = "fast"', 'camera.fps = "fast": must be a number between 5 and 120'),
    ('storage.history = "yes"', 'storage.history = "yes": must be true or false'),
    ("storage.record = 1", "storage.record = 1: must be true or false"),
    ("storage.athlete = 1979-05-27", "storage.athlete = 1979-05-27: must be a string"),
    ("camera = 3", "camera = 3: must be a table"),
    ("[[camera]]\nwidth = 320", "camera = [{ width = 320 }]: must be a table"),
    ('feedback.buzzer = "piezo"', 'feedback.buzzer = "piezo": must be a table'),
    ("feedback.active_high.red = 0", "feedback.active_high.red = 0: must be true or false"),
    (
        "feedback.pins.bar_graph = 5",
        "feedback.pins.bar_graph = 5:"
        " must be a list of at most 12 items, each an integer between 2 and 27",
    ),
    # choices, with a did-you-mean when close
    (
        'model.backend = "movnet"',
        'model.backend = "movnet": must be one of "blazepose", "movenet"; did you mean "movenet"?',
    ),
    ("model.backend = 3", 'model.backend = 3: must be one of "blazepose", "movenet"'),
    (
        'logging.level = "info"',
        f'logging.level = "info": must be one of {LEVELS}; did you mean "INFO"?',
    ),
    ('profile = "expert"', 'profile = "expert": must be one of "standard", "beginner", "advanced"'),
    (
        'feedback.buzzer.kind = "pwm"',
        'feedback.buzzer.kind = "pwm": must be one of "active", "tonal"',
    ),
    # the sections' own validators, per key and across keys
    (
        'camera.source = "camra"',
        f'camera.source = "camra": must be {SOURCE_CHOICES}; did you mean "camera"?',
    ),
    (
        'camera.source = "webcam:99"',
        'camera.source = "webcam:99": webcam index must be between 0 and 63',
    ),
    ('storage.db_path = "hipflex.db"', f'storage.db_path = "hipflex.db": {ABSOLUTE}'),
    ('storage.record_dir = "~/clips"', f'storage.record_dir = "~/clips": {ABSOLUTE}'),
    ('storage.athlete = "Ana\\nB"', f'storage.athlete = "Ana\\nB": {PRINTABLE}'),
    (f'storage.athlete = "{"a" * 70}"', f'storage.athlete = "{"a" * 56}...: {PRINTABLE}'),
    (
        "feedback.pins = {green = 17, red = 17}",
        "feedback.pins: GPIO17 is used by green and red; each part needs its own pin",
    ),
    (
        "feedback.pins.bar_graph = [5, 22]",
        "feedback.pins: GPIO22 is used by amber and bar_graph[1]; each part needs its own pin",
    ),
    (
        "feedback.patterns.fast_blink_hz = 1.0",
        "feedback.patterns: fast_blink_hz (1) must be above slow_blink_hz (1)"
        " so lost tracking looks different from waiting",
    ),
    (
        'feedback.buzzer.kind = "tonal"\nfeedback.active_high.buzzer = false',
        'feedback: a "tonal" buzzer must be wired active-high (active_high.buzzer = true):'
        " gpiozero's TonalBuzzer idles with the pin low",
    ),
    (
        "exercise.rep.end_deg = 50",
        "exercise.rep: end_deg (50.0) must be below start_deg (40.0)",
    ),
    (
        "exercise.faults.short_range.min_peak_deg = 115",
        "exercise: faults.short_range.min_peak_deg (115.0) must be below"
        " faults.over_flexion.max_peak_deg (110.0)",
    ),
    # the exercise section's thresholds and switches
    (
        "exercise.faults.short_range.min_peak_deg = 200",
        "exercise.faults.short_range.min_peak_deg = 200: must be between 10 and 150",
    ),
    (
        "exercise.faults.lumbar_roundng.enabled = false",
        'exercise.faults.lumbar_roundng: unknown table; did you mean "lumbar_rounding"?',
    ),
    (
        "exercise.faults.knee_angle.tolerance = 10",
        'exercise.faults.knee_angle.tolerance: unknown key; did you mean "tolerance_deg"?',
    ),
    (
        'exercise.faults.too_fast.enabled = "no"',
        'exercise.faults.too_fast.enabled = "no": must be true or false',
    ),
    (
        'exercise.faults.short_range.min_peak_deg = "80"',
        'exercise.faults.short_range.min_peak_deg = "80": must be a number between 10 and 150',
    ),
    (
        "exercise.tracking.min_score = 1.5",
        "exercise.tracking.min_score = 1.5: must be between 0 and 1",
    ),
    (
        "exercise.faults = {lumbar_rounding = 1}",
        "exercise.faults.lumbar_rounding = 1: must be a table",
    ),
    # TOML syntax, with line and column
    ("[camera]\nwidth =\n", "invalid TOML at line 2, column 8: invalid value"),
    (
        "[camera]\nwidth 640\n",
        "invalid TOML at line 2, column 7: expected '=' after a key in a key/value pair",
    ),
    (
        "[camera]\nwidth = 1\n[camera]\n",
        "invalid TOML at line 3, column 8: cannot declare ('camera',) twice",
    ),
    ('athlete = "abc', "invalid TOML at the end of the file: unterminated string"),
    ("camera.width = 1" + "0" * 5000, "invalid TOML: a number is too long to read"),
    ("x = " + "[" * 20 + "]" * 20, "arrays or tables are nested more than 16 deep"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
def test_one_bad_input_one_exact_message(text, message):
    with pytest.raises(ConfigError) as info:
        config_from_toml(text)
    assert info.value.errors == [message]


def test_bad_inputs_are_distinct():
    assert len({text for text, _ in BAD}) == len(BAD) >= 20


def test_all_errors_at_once_in_schema_order():
    text = """
profile = "pro"
[camera]
width = 100
fps = "x"
[model]
backend = "posenet"
thread = 2
[storage]
history = "no"
"""
    with pytest.raises(ConfigError) as info:
        config_from_toml(text)
    assert info.value.errors == [
        'profile = "pro": must be one of "standard", "beginner", "advanced"',
        "camera.width = 100: must be between 160 and 1920",
        'camera.fps = "x": must be a number between 5 and 120',
        'model.backend = "posenet": must be one of "blazepose", "movenet"; did you mean "movenet"?',
        'model.thread: unknown key; did you mean "num_threads"?',
        'storage.history = "no": must be true or false',
    ]


def test_not_utf8_gives_the_position():
    with pytest.raises(ConfigError) as info:
        parse_toml(b'[camera]\nsource = "caf\xe9"\n')
    assert info.value.errors == ["invalid TOML at line 2, column 14: not UTF-8 text"]


# The same machinery must name keys in shapes the other sections may use: nested tables,
# lists, tuples, tables of values, optional values, unions and whole-section checks.


def _even(v: int) -> int:
    if v % 2:
        raise ValueError("must be even")
    return v


class Inner(Section):
    threshold_deg: float = Field(10.0, gt=0, le=45)
    enabled: bool = True


class Shapes(Section):
    inner: Inner = Field(default_factory=Inner)
    pattern_s: list[Annotated[float, Field(ge=0, le=5)]] = Field(default_factory=list, max_length=4)
    pair: tuple[int, int] = (1, 2)
    weights: list[float] = Field(default_factory=list)
    pins: dict[str, Annotated[int, Field(ge=2, le=27)]] = Field(default_factory=dict)
    bar: int | None = Field(None, ge=2, le=27)
    mode: Literal["a", "b"] | int = "a"
    even: Annotated[int, AfterValidator(_even)] = 2
    name: str = Field("", max_length=8)

    @model_validator(mode="after")
    def _pins_differ(self):
        if len(set(self.pins.values())) != len(self.pins):
            raise ValueError("two outputs share a pin")
        return self


def shapes_errors(text: str) -> list[str]:
    data = parse_toml(text)
    with pytest.raises(ValidationError) as info:
        Shapes.model_validate_json(__import__("json").dumps(data), strict=True)
    return format_errors(info.value, data, Shapes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "inner.threshold_deg = 0",
            "inner.threshold_deg = 0: must be greater than 0 and at most 45",
        ),
        ("inner.enabeld = true", 'inner.enabeld: unknown key; did you mean "enabled"?'),
        ("pattern_s = [0.1, 9]", "pattern_s[1] = 9: must be between 0 and 5"),
        ('pattern_s = [0.1, "x"]', 'pattern_s[1] = "x": must be a number between 0 and 5'),
        (
            "pattern_s = [1, 1, 1, 1, 1]",
            "pattern_s = [1, 1, 1, 1, 1]:"
            " must be a list of at most 4 items, each a number between 0 and 5",
        ),
        (
            "pattern_s = 1",
            "pattern_s = 1: must be a list of at most 4 items, each a number between 0 and 5",
        ),
        ('pair = [1, "b"]', 'pair[1] = "b": must be an integer'),
        ("pair = [1, 2, 3]", "pair = [1, 2, 3]: must be a list of 2 items"),
        ('weights = [1, "b"]', 'weights[1] = "b": must be a number'),
        ("weights = 2", "weights = 2: must be a list, each item a number"),
        ("pins = {green = 40}", "pins.green = 40: must be between 2 and 27"),
        ('pins = {"red led" = 1.5}', 'pins."red led" = 1.5: must be an integer between 2 and 27'),
        ("bar = 1", "bar = 1: must be between 2 and 27"),
        ('bar = "x"', 'bar = "x": must be an integer between 2 and 27'),
        ("mode = 1.5", 'mode = 1.5: must be one of "a", "b" or an integer'),
        ("even = 3", "even = 3: must be even"),
        ('name = "abcdefghij"', 'name = "abcdefghij": must be a string of at most 8 characters'),
        ("pins = {green = 17, red = 17}", "two outputs share a pin"),
    ],
)
def test_messages_for_other_shapes(text, message):
    assert shapes_errors(text) == [message]
