"""The narrating timeline backend and the tonal buzzer, read from what the timeline prints."""

from __future__ import annotations

import io
import re
import time

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.config.feedback import FeedbackConfig
from edge.events import Event
from edge.feedback import Feedback
from edge.outputs import pin_factory
from edge.outputs.timeline import TimelineFactory, pin_roles

LINE = re.compile(r"^ *(\d+\.\d\d)s  (\w+) (ON|OFF)(?: (\d+) Hz)?$")
FAST = {
    "good_flash_s": 0.05,
    "fault_flash_s": 0.1,
    "beep_s": 0.03,
    "beep_gap_s": 0.04,
    "long_tone_s": 0.3,
}


def run_cues(cfg: FeedbackConfig, events: list[Event], settle_s: float) -> list[tuple]:
    out = io.StringIO()
    fb = Feedback(cfg, pin_factory=pin_factory("timeline", cfg, out))
    try:
        for event in events:
            fb.on_event(event)
        time.sleep(settle_s)
    finally:
        fb.close()
    lines = out.getvalue().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    times = [float(m[1]) for m in parsed]
    assert times == sorted(times)
    return [(m[2], m[3], m[4] and int(m[4])) for m in parsed]


def test_tonal_buzzer_long_tone_and_beeps_differ_in_pitch():
    cfg = FeedbackConfig.model_validate(
        {"patterns": FAST, "buzzer": {"kind": "tonal", "beep_hz": 2000.0, "long_tone_hz": 440.0}}
    )
    events = [
        Event(0.0, "fault", {"fault": "lumbar_rounding"}),
        Event(0.1, "rep", {"faults": ["lumbar_rounding", "knee_angle"]}),
    ]
    lines = run_cues(cfg, events, settle_s=1.0)
    assert [line for line in lines if line[0] == "buzzer"] == [
        ("buzzer", "ON", 440),
        ("buzzer", "OFF", None),
        ("buzzer", "ON", 2000),
        ("buzzer", "OFF", None),
        ("buzzer", "ON", 2000),
        ("buzzer", "OFF", None),
    ]
    # The red LED came on with the tone, before the rep's own cue.
    assert lines[0][0] in ("red", "buzzer") and ("red", "ON", None) in lines[:2]


def test_timeline_prints_logical_state_of_active_low_parts_and_nothing_at_start():
    cfg = FeedbackConfig.model_validate(
        {"patterns": FAST, "active_high": {"green": False, "buzzer": False}}
    )
    lines = run_cues(cfg, [Event(0.0, "rep", {"faults": []})], settle_s=0.4)
    assert sorted(lines) == sorted(
        [
            ("green", "ON", None),
            ("buzzer", "ON", None),
            ("buzzer", "OFF", None),
            ("green", "OFF", None),
        ]
    )


def test_timeline_clock_restarts():
    cfg = FeedbackConfig()
    out = io.StringIO()
    factory = TimelineFactory(cfg, out)
    factory.start -= 100.0
    factory.report(cfg.pins.red, "ON")
    factory.restart_clock()
    factory.report(cfg.pins.red, "OFF")
    first, second = (LINE.match(line) for line in out.getvalue().splitlines())
    assert float(first[1]) >= 100.0 and float(second[1]) < 1.0


def test_pin_roles_name_every_configured_pin():
    cfg = FeedbackConfig.model_validate(
        {"pins": {"bar_graph": [5, 6]}, "active_high": {"red": False}}
    )
    assert pin_roles(cfg) == {
        17: ("green", True),
        27: ("red", False),
        22: ("amber", True),
        18: ("buzzer", True),
        5: ("bar1", True),
        6: ("bar2", True),
    }


def test_backends():
    cfg = FeedbackConfig()
    assert pin_factory("gpio", cfg) is None
    mock = pin_factory("mock", cfg)
    assert isinstance(mock, MockFactory) and issubclass(mock.pin_class, MockPWMPin)
    assert isinstance(pin_factory("timeline", cfg, io.StringIO()), TimelineFactory)
    with pytest.raises(ValueError, match="unknown feedback backend 'leds'; choose one of gpio"):
        pin_factory("leds", cfg)
