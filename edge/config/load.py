"""Where the config comes from and how its layers stack: find the file, read and parse it,
layer it, validate it, trace each value's origin.

Layers, lowest first: the schema's defaults, then the chosen profile's overlay, then the keys
the file sets. A key written in the file always wins: a coach who types a value means it, so
`profile = "beginner"` only moves the keys the file leaves alone. Every value's origin
("default", "profile" or "file") is kept for `hipflex config show`.

Validation runs pydantic in strict JSON mode: TOML already has types, so "5" is not an int and
1.0 is not an int, while arrays still fill tuple fields. Its errors become one line each in
edge/config/messages.py; the TOML writer is edge/config/toml_out.py.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import stat
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from edge.config.keys import leaf_paths
from edge.config.messages import datetime_error, format_errors
from edge.config.profiles import PROFILES
from edge.config.schema import Config
from edge.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("/etc/hipflex/config.toml")
ENV_VAR = "HIPFLEX_CONFIG"

Origin = Literal["default", "profile", "file"]

MAX_CONFIG_BYTES = 64 * 1024  # the example config is 6 KiB; /dev/zero must not be read for ever
MAX_DEPTH = 16  # the schema needs 4 levels; deeper input is refused before any recursion
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = "(at end of document)"


@dataclass(frozen=True)
class ConfigSources:
    """The effective config, the file it came from (None: defaults only) and each leaf's
    origin keyed by dotted path, e.g. origins["camera.fps"] == "file"."""

    config: Config
    path: Path | None
    origins: Mapping[str, Origin]


# ---------------------------------------------------------------- public API


def load_config(path: str | Path | None = None) -> Config:
    """The effective config. Raises ConfigError listing every problem at once."""
    return config_sources(path).config


def config_sources(path: str | Path | None = None) -> ConfigSources:
    """Resolve the file (argument, then $HIPFLEX_CONFIG, then /etc), read it, layer it.
    Each error line starts with the file's path, for the journal and for editors."""
    file, explicit = resolve_path(path)
    if not explicit and not file.exists():
        config, origins = build({})
        return ConfigSources(config, None, types.MappingProxyType(origins))
    try:
        config, origins = build(read_toml(file))
    except ConfigError as exc:
        raise ConfigError([f"{file}: {line}" for line in exc.errors]) from None
    return ConfigSources(config, file, types.MappingProxyType(origins))


def resolve_path(path: str | Path | None = None) -> tuple[Path, bool]:
    """(the config file, whether the user named it). Only a named file must exist."""
    if path is not None:
        return Path(path), True
    if env := os.environ.get(ENV_VAR):
        return Path(env), True
    return DEFAULT_PATH, False


def read_toml(path: Path) -> dict[str, Any]:
    """Read and parse one file; warn when someone other than its owner may rewrite it."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ConfigError(["not a regular file (a directory, pipe or device)"])
            raw = f.read(MAX_CONFIG_BYTES + 1)
        mode = st.st_mode
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file"])
    if mode & 0o022:
        log.warning(
            "%s is writable by group or others (mode %03o); run: chmod 644 %s",
            path,
            mode & 0o777,
            path,
        )
    return parse_toml(raw)


def parse_toml(raw: bytes | str) -> dict[str, Any]:
    """TOML text to a dict; a syntax error becomes one line with its line and column."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _position(raw, exc.start)
            raise ConfigError(
                [f"invalid TOML at line {line}, column {col}: not UTF-8 text"]
            ) from None
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_message(str(exc))]) from None
    except ValueError:  # tomllib lets int() refuse a number of over 4300 digits
        raise ConfigError(["invalid TOML: a number is too long to read"]) from None
    except RecursionError:
        raise ConfigError(["invalid TOML: arrays or tables are nested too deeply"]) from None


def config_from_toml(text: str) -> Config:
    """Validate TOML text alone, without reading any file (tests, fuzzing, previews)."""
    return build(parse_toml(text))[0]


def build(data: Mapping[str, Any]) -> tuple[Config, dict[str, Origin]]:
    """Layer a parsed file over its profile and the defaults, validate, trace origins."""
    if _depth(data) > MAX_DEPTH:
        raise ConfigError([f"arrays or tables are nested more than {MAX_DEPTH} deep"])
    profile = data.get("profile", "standard")
    overlay = PROFILES.get(profile, {}) if isinstance(profile, str) else {}
    merged = _merge(overlay, data)
    dated, errors = _without_datetimes(merged)
    try:
        text = json.dumps(dated)
    except (ValueError, RecursionError) as exc:
        raise ConfigError([*errors, f"invalid value: {_first_line(str(exc))}"]) from None
    try:
        config = Config.model_validate_json(text, strict=True)
    except ValidationError as exc:
        errors += format_errors(exc, merged)
    if errors:
        raise ConfigError(list(dict.fromkeys(errors)))
    origins: dict[str, Origin] = {}
    for key in leaf_paths():
        parts = key.split(".")
        origins[key] = (
            "file" if _has(data, parts) else "profile" if _has(overlay, parts) else "default"
        )
    return config, origins


# ---------------------------------------------------------------- helpers


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two parsed TOML trees; `over` wins, tables merge key by key."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _depth(data: Any) -> int:
    """Nesting depth of a parsed tree, without recursion (the tree is untrusted)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, Mapping) else node
        stack += [(c, depth + 1) for c in children if isinstance(c, (Mapping, list))]
    return deepest


def _has(data: Mapping[str, Any], parts: list[str]) -> bool:
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _without_datetimes(
    data: Mapping[str, Any], loc: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[str]]:
    """TOML dates and times have no use in this config and no JSON form: report each key
    holding one (directly or inside an array) and drop it, so the rest still validates."""
    out: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            out[key], inner = _without_datetimes(value, (*loc, key))
            errors += inner
        elif _holds_datetime(value):
            errors.append(datetime_error((*loc, key), value))
        else:
            out[key] = value
    return out, errors


def _holds_datetime(value: Any) -> bool:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return True
    if isinstance(value, list):
        return any(_holds_datetime(v) for v in value)
    if isinstance(value, Mapping):
        return any(_holds_datetime(v) for v in value.values())
    return False


def _syntax_message(text: str) -> str:
    text = _first_line(text)
    match = _TOML_POSITION.search(text)
    if match:
        where = f"at line {match.group(1)}, column {match.group(2)}"
    elif text.endswith(_AT_END):
        where = "at the end of the file"
    else:
        return f"invalid TOML: {text}"
    reason = text[: match.start() if match else -len(_AT_END)].strip()
    return f"invalid TOML {where}: {reason[:1].lower()}{reason[1:]}"


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unreadable"
