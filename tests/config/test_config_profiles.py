"""The beginner and advanced profiles: valid against the schema, exercise keys only, and
each value on the forgiving (beginner) or strict (advanced) side of the default."""

from __future__ import annotations

import pytest

from edge.config.keys import leaf_paths, leaf_values
from edge.config.load import build
from edge.config.profiles import PROFILES
from edge.config.schema import Config, ProfileName


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = value
    return out


# The side on which a larger value is more forgiving.
MORE_IS_LENIENT = {
    "max_excess_tilt_deg": True,
    "max_rise_torso": True,
    "max_knee_flexion_deg": True,
    "max_heel_lift_torso": True,
    "min_peak_deg": False,
    "max_peak_deg": True,
    "tolerance_deg": True,
    "min_rest_s": True,
    "min_lift_s": False,
}


def test_profile_names_match_the_schema():
    assert tuple(PROFILES) == ProfileName.__args__


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile_validates_and_moves_exercise_keys_only(name):
    config, origins = build({"profile": name})
    overlay = flatten(PROFILES[name])
    assert set(overlay) <= set(leaf_paths())
    assert all(key.startswith("exercise.") for key in overlay)
    values, defaults = leaf_values(config), leaf_values(Config())
    for key, value in overlay.items():
        assert values[key] == value
        assert value != defaults[key], f"{name}: {key} repeats the default"
        assert origins[key] == "profile"
    assert {k for k, o in origins.items() if o == "profile"} == set(overlay)


def test_beginner_forgives_more_and_advanced_less():
    beginner = flatten(PROFILES["beginner"])
    advanced = flatten(PROFILES["advanced"])
    assert set(beginner) == set(advanced)
    defaults = leaf_values(Config())
    for key in beginner:
        lenient_up = MORE_IS_LENIENT[key.rsplit(".", 1)[1]]
        low, high = (advanced, beginner) if lenient_up else (beginner, advanced)
        assert low[key] < defaults[key] < high[key], key


def test_lumbar_rounding_threshold_by_profile():
    """The headline difference, as a coach would check it."""
    tilt = {
        name: build({"profile": name})[0].exercise.faults.lumbar_rounding.max_excess_tilt_deg
        for name in PROFILES
    }
    assert tilt == {"standard": 5.0, "beginner": 9.0, "advanced": 3.0}


def test_file_key_beats_profile():
    config, origins = build(
        {"profile": "beginner", "exercise": {"faults": {"short_range": {"min_peak_deg": 75}}}}
    )
    assert config.exercise.faults.short_range.min_peak_deg == 75.0
    assert origins["exercise.faults.short_range.min_peak_deg"] == "file"
    assert config.exercise.faults.over_flexion.max_peak_deg == 120.0
    assert origins["exercise.faults.over_flexion.max_peak_deg"] == "profile"
