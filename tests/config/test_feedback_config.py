"""The `feedback` config section: defaults match hardware.md, bad wiring is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.config.feedback import FeedbackConfig


def error_of(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        FeedbackConfig.model_validate(data)
    return str(info.value)


def test_defaults():
    cfg = FeedbackConfig()
    pins = cfg.pins
    assert (pins.green, pins.red, pins.amber, pins.buzzer, pins.bar_graph) == (17, 27, 22, 18, ())
    assert cfg.buzzer.enabled and cfg.buzzer.kind == "active"
    assert cfg.patterns.long_tone_s >= 3 * cfg.patterns.beep_s


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pins": {"red": 17}}, "GPIO17 is used by green and red; each part needs its own pin"),
        (
            {"pins": {"bar_graph": [5, 6, 18]}},
            "GPIO18 is used by buzzer and bar_graph[2]; each part needs its own pin",
        ),
        ({"pins": {"green": 1}}, "greater than or equal to 2"),
        ({"pins": {"amber": 28}}, "less than or equal to 27"),
        ({"pins": {"bar_graph": list(range(2, 15))}}, "at most 12 items"),
        ({"pins": {"blue": 5}}, "Extra inputs are not permitted"),
        ({"buzzer": {"kind": "piezo"}}, "Input should be 'active' or 'tonal'"),
        (
            {"buzzer": {"kind": "tonal"}, "active_high": {"buzzer": False}},
            'a "tonal" buzzer must be wired active-high',
        ),
        (
            {"patterns": {"slow_blink_hz": 4.0, "fast_blink_hz": 3.0}},
            "fast_blink_hz (3) must be above slow_blink_hz (4)",
        ),
        (
            {"patterns": {"beep_s": 0.2, "long_tone_s": 0.5}},
            "long_tone_s (0.5) must be at least 3 x beep_s (0.2)",
        ),
        ({"bar_graph": {"full_scale_deg": 10.0}}, "greater than or equal to 30"),
    ],
)
def test_bad_feedback_config_is_refused_with_the_reason(data, message):
    assert message in error_of(data)


def test_disabled_buzzer_may_be_tonal_and_active_low():
    cfg = FeedbackConfig.model_validate(
        {"buzzer": {"enabled": False, "kind": "tonal"}, "active_high": {"buzzer": False}}
    )
    assert not cfg.buzzer.enabled


def test_every_field_is_documented():
    def fields(model):
        for name, info in model.model_fields.items():
            sub = info.annotation
            if isinstance(sub, type) and hasattr(sub, "model_fields"):
                yield from fields(sub)
            else:
                yield f"{model.__name__}.{name}", info.description

    undocumented = [name for name, text in fields(FeedbackConfig) if not text]
    assert undocumented == []


def test_sections_are_frozen():
    cfg = FeedbackConfig()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.pins.green = 5
