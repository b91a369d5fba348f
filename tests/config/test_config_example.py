"""The shipped example config (also the file `make install` copies to /etc) must equal the
built-in defaults and document every key with its range or choices, so it cannot drift."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel

from edge.config.keys import leaf_paths, leaf_values
from edge.config.load import build, parse_toml
from edge.config.profiles import PROFILES
from edge.config.schema import Config
from edge.config.validators import number_text, range_text

EXAMPLE = Path(__file__).resolve().parents[2] / "edge" / "config" / "config.example.toml"
TABLE = re.compile(r"^\[([A-Za-z0-9_.]+)\]$")
KEY = re.compile(r"^([A-Za-z0-9_]+) = ")


def documented_keys() -> dict[str, str]:
    """Dotted key -> the comment block right above it (joined into one line)."""
    table, comments, keys = "", [], {}
    for line in EXAMPLE.read_text().splitlines():
        if m := TABLE.match(line):
            table, comments = m.group(1) + ".", []
        elif line.startswith("#"):
            comments.append(line.lstrip("# "))
        elif m := KEY.match(line):
            key = table + m.group(1)
            assert key not in keys, f"{key} appears twice"
            keys[key] = " ".join(comments)
            comments = []
        elif not line.strip():
            continue
        else:
            raise AssertionError(f"unexpected line in the example: {line!r}")
    return keys


def field(path: str):
    model: type[BaseModel] = Config
    *tables, leaf = path.split(".")
    for name in tables:
        model = model.model_fields[name].annotation
    return model.model_fields[leaf]


def constraint_words(annotation, metadata) -> list[str]:
    """What the comment must state: the range, each choice, or true/false."""
    bounds = {
        name: getattr(m, name)
        for m in metadata
        if isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt))
        for name in ("ge", "gt", "le", "lt")
        if getattr(m, name, None) is not None
    }
    words = [range_text(**bounds)] if bounds else []
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        words += [f'"{choice}"' for choice in typing.get_args(annotation)]
    elif annotation is bool:
        words.append("true or false")
    elif origin in (tuple, list):
        element = typing.get_args(annotation)[0]
        if typing.get_origin(element) is typing.Annotated:
            inner = [x for m in typing.get_args(element)[1:] for x in getattr(m, "metadata", [m])]
            words += constraint_words(typing.get_args(element)[0], inner)
    return words


def test_example_equals_the_defaults():
    config, origins = build(parse_toml(EXAMPLE.read_bytes()))
    assert config == Config()
    assert leaf_values(config) == leaf_values(Config())
    assert set(origins.values()) == {"file"}


def test_example_sets_every_key_once():
    assert sorted(documented_keys()) == sorted(leaf_paths())


def test_every_key_is_documented_with_its_range_or_choices():
    for path, comment in documented_keys().items():
        info = field(path)
        assert comment, f"{path} has no comment"
        for words in constraint_words(info.annotation, info.metadata):
            assert words in comment, f"{path}: comment does not say {words!r}: {comment!r}"


def test_profile_values_in_the_comments_match_the_profiles():
    documented = documented_keys()
    for name, overlay in PROFILES.items():
        for path, value in _flatten(overlay).items():
            words = f"{name}: {number_text(value)}"
            assert words in documented[path], f"{path}: comment does not say {words!r}"


def _flatten(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        out |= (
            _flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value}
        )
    return out
