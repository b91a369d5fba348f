"""Writing a config back out as TOML (`hipflex config show`), and one value in TOML syntax.

Python's tomllib only reads; the writer is small because the schema's values are plain.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from edge.config.keys import leaf_values, section_type

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dump(config: BaseModel, origins: Mapping[str, str] | None = None) -> str:
    """The config as a TOML file that loads back to an equal config. With `origins`, each
    line ends with a comment saying where the value came from."""
    lines: list[str] = []
    values = leaf_values(config)

    def table(model: type[BaseModel], prefix: str) -> None:
        subs = []
        for name, info in model.model_fields.items():
            sub = section_type(info.annotation)
            if sub is not None:
                subs.append((name, sub))
                continue
            value = values[prefix + name]
            note = f"  # {origins[prefix + name]}" if origins else ""
            if value is None:
                lines.append(f"# {toml_key(name)} is not set{note}")
            else:
                lines.append(f"{toml_key(name)} = {toml_value(value)}{note}")
        for name, sub in subs:
            lines.extend(["", f"[{prefix}{toml_key(name)}]"])
            table(sub, f"{prefix}{name}.")

    table(type(config), "")
    return "\n".join(lines).lstrip("\n") + "\n"


def toml_value(value: Any) -> str:
    """One value in TOML syntax (inline tables for dicts), always on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return toml_value(value.value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def toml_key(key: str) -> str:
    """A key bare when TOML allows it, quoted otherwise."""
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
