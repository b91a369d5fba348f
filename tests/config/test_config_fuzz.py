"""Hypothesis: no TOML text and no parsed structure makes the loader raise anything but a
ConfigError of one-line messages, and every config it accepts survives a dump and reload."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config.keys import leaf_paths, leaf_values
from edge.config.load import build, config_from_toml
from edge.config.schema import Config
from edge.config.toml_out import dump
from edge.errors import ConfigError

KEYS = sorted({part for path in leaf_paths() for part in path.split(".")})

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.datetimes(),
    st.dates(),
    st.times(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)
trees = st.dictionaries(keys, values, max_size=6)


def check(run) -> Config | None:
    try:
        config = run()
    except ConfigError as exc:
        assert exc.errors
        assert all(line and "\n" not in line for line in exc.errors), exc.errors
        return None
    assert isinstance(config, Config)
    assert config_from_toml(dump(config)) == config
    return config


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text(text):
    check(lambda: config_from_toml(text))


toml_scalar = st.one_of(
    st.sampled_from(["true", "false", "nan", "-inf", "1979-05-27", "07:32:00", "[]", "{}"]),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12).map(
        lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
)
sections = st.sampled_from(["", "camera", "model", "exercise", "feedback", "storage", "logging"])
lines = st.one_of(
    sections.map(lambda s: f"[{s}]" if s else ""),
    st.tuples(keys.filter(lambda k: k.isidentifier()), toml_scalar).map(" = ".join),
    st.text(max_size=15),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=12))
def test_toml_like_lines(body):
    check(lambda: config_from_toml("\n".join(body)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_any_structure(data):
    check(lambda: build(data)[0])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_valid_config_with_some_values_replaced(data):
    """Start from the defaults, overwrite a few keys with anything: the edge cases that
    matter are wrong types and out-of-range values at real key paths."""
    tree: dict = {}
    for path in data.draw(st.lists(st.sampled_from(list(leaf_values(Config()))), max_size=4)):
        *tables, leaf = path.split(".")
        node = tree
        for table in tables:
            node = node.setdefault(table, {})
        node[leaf] = data.draw(values)
    check(lambda: build(tree)[0])


def test_dates_are_reported_not_crashed():
    try:
        build({"storage": {"athlete": dt.date(2024, 1, 1)}, "x": [dt.time(1, 2)]})
    except ConfigError as exc:
        assert exc.errors == [
            "storage.athlete = 2024-01-01: must be a string",
            "x: unknown key; allowed: profile, camera, model, exercise, feedback, storage, "
            "logging, fleet",
        ]
    else:
        raise AssertionError("dates were accepted")
