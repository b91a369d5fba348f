"""Each config validator on its own: what it accepts, what it rejects and its exact words."""

from __future__ import annotations

import pytest

from edge.config.validators import (
    absolute_path,
    athlete_name,
    number_text,
    range_text,
    source_spec,
    suggest,
)


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("fsp", ["source", "width", "height", "fps"], "fps"),
        ("Camera", ["camera", "model"], "camera"),
        ("movnet", ["blazepose", "movenet"], "movenet"),
        ("info", ["DEBUG", "INFO", "WARNING"], "INFO"),
        ("bar", ["green", "bar_graph"], "bar_graph"),
        ("ba", ["green", "bar_graph"], None),
        ("zzzz", ["camera", "model"], None),
        ("x", [], None),
    ],
)
def test_suggest(word, choices, expected):
    assert suggest(word, choices) == expected


@pytest.mark.parametrize(
    ("x", "text"), [(30, "30"), (30.0, "30"), (0.6, "0.6"), (-3.0, "-3"), (1e-3, "0.001")]
)
def test_number_text(x, text):
    assert number_text(x) == text


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        ({"ge": 30, "le": 150}, "between 30 and 150"),
        ({"ge": 0}, "at least 0"),
        ({"gt": 0}, "greater than 0"),
        ({"le": 5.5}, "at most 5.5"),
        ({"lt": 1}, "less than 1"),
        ({"gt": 0, "le": 2}, "greater than 0 and at most 2"),
        ({"ge": 0, "lt": 1}, "at least 0 and less than 1"),
        ({}, ""),
    ],
)
def test_range_text(bounds, text):
    assert range_text(**bounds) == text


@pytest.mark.parametrize(
    "value", ["camera", "webcam:0", "webcam:63", "clip.mp4", "/data/run.npz", "./x/clip"]
)
def test_source_spec_accepts(value):
    assert source_spec(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("webcam:64", "webcam index must be between 0 and 63"),
        ("webcam", 'must be "webcam:N" with N a number, e.g. "webcam:0"'),
        ("webcam:x", 'must be "webcam:N" with N a number, e.g. "webcam:0"'),
        (
            "camra",
            'must be "camera", "webcam:N" or a video or .npz file path; did you mean "camera"?',
        ),
        ("", 'must be "camera", "webcam:N" or a video or .npz file path'),
        ("clip\n.mp4", 'must be "camera", "webcam:N" or a video or .npz file path'),
    ],
)
def test_source_spec_rejects(value, message):
    with pytest.raises(ValueError) as info:
        source_spec(value)
    assert str(info.value) == message


def test_absolute_path():
    assert absolute_path("/var/lib/hipflex/h.db") == "/var/lib/hipflex/h.db"
    for bad in ("hipflex.db", "~/h.db", "", "/var/\x00x"):
        with pytest.raises(ValueError, match=r"^must be an absolute path, starting with /$"):
            absolute_path(bad)


def test_athlete_name():
    assert athlete_name("  Ana Núñez ") == "Ana Núñez"
    assert athlete_name("") == ""
    assert athlete_name("x" * 64) == "x" * 64
    for bad in ("x" * 65, "Ana\nNúñez", "tab\there", "\x1b[31mred"):
        with pytest.raises(ValueError, match=r"^must be at most 64 printable characters$"):
            athlete_name(bad)
