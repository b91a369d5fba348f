"""Layering, parsing and one-line error messages for the config.

Layers, lowest first: the schema's defaults, then the chosen profile's overlay, then the keys
the file sets. A key written in the file always wins: a coach who types a value means it, so
`profile = "beginner"` only moves the keys the file leaves alone. Every value's origin
("default", "profile" or "file") is kept for `hipflex config show`.

Validation runs pydantic in strict JSON mode: TOML already has types, so "5" is not an int and
1.0 is not an int, while arrays still fill tuple fields. Every pydantic error becomes one line
that names the key path, the bad value and what is allowed, read from the field's metadata.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import math
import os
import re
import stat
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from edge.config.profiles import PROFILES
from edge.config.schema import Config
from edge.config.validators import range_text, suggest
from edge.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("/etc/hipflex/config.toml")
ENV_VAR = "HIPFLEX_CONFIG"

Origin = Literal["default", "profile", "file"]

MAX_CONFIG_BYTES = 64 * 1024  # the example config is 6 KiB; /dev/zero must not be read for ever
MAX_DEPTH = 16  # the schema needs 4 levels; deeper input is refused before any recursion
_MAX_SHOWN = 60  # characters of a bad value echoed in a message
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
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


def leaf_paths(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """Every settable key as a dotted path, in schema order; sections are not leaves."""
    paths = []
    for name, info in model.model_fields.items():
        sub = _section_type(info.annotation)
        if sub is not None:
            paths += leaf_paths(sub, f"{prefix}{name}.")
        else:
            paths.append(prefix + name)
    return paths


def leaf_values(config: BaseModel) -> dict[str, Any]:
    """Dotted path -> value (Python mode, so a float nan stays nan rather than null)."""
    out: dict[str, Any] = {}

    def walk(data: dict[str, Any], model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            sub = _section_type(info.annotation)
            if sub is not None:
                walk(data[name], sub, f"{prefix}{name}.")
            else:
                out[prefix + name] = data[name]

    walk(config.model_dump(), type(config), "")
    return out


def dump(config: BaseModel, origins: Mapping[str, str] | None = None) -> str:
    """The config as a TOML file that loads back to an equal config. With `origins`, each
    line ends with a comment saying where the value came from."""
    lines: list[str] = []
    values = leaf_values(config)

    def table(model: type[BaseModel], prefix: str) -> None:
        subs = []
        for name, info in model.model_fields.items():
            sub = _section_type(info.annotation)
            if sub is not None:
                subs.append((name, sub))
                continue
            value = values[prefix + name]
            note = f"  # {origins[prefix + name]}" if origins else ""
            if value is None:
                lines.append(f"# {_toml_key(name)} is not set{note}")
            else:
                lines.append(f"{_toml_key(name)} = {toml_value(value)}{note}")
        for name, sub in subs:
            lines.extend(["", f"[{prefix}{_toml_key(name)}]"])
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
        items = ", ".join(f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


# ---------------------------------------------------------------- error messages


def format_errors(
    exc: ValidationError, data: Mapping[str, Any], root: type[BaseModel] = Config
) -> list[str]:
    """One line per problem in `data` validated as `root`; the duplicates pydantic gives
    (one per union member) are folded together."""
    lines = [_message(error, data, root) for error in exc.errors(include_url=False)]
    return list(dict.fromkeys(lines))


def _message(error: Any, data: Mapping[str, Any], root: type[BaseModel]) -> str:
    where = _locate(error["loc"], root)
    kind = error["type"]
    key = where.path or "config"
    if where.annotation is None and where.parent is not None:
        name = str(where.loc[-1])
        what = "unknown table" if isinstance(error["input"], dict) else "unknown key"
        allowed = list(where.parent.model_fields)
        hint = suggest(name, allowed) or _elsewhere(name, root)
        if hint:
            return f'{key}: {what}; did you mean "{hint}"?'
        return f"{key}: {what}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return f"{key}: required key is missing"
    if kind in ("value_error", "assertion_error"):
        reason = str(error.get("ctx", {}).get("error", error["msg"]))
        if not where.parts:
            return reason
        if where.annotation is None or _section_type(where.annotation):
            return f"{key}: {reason}"
        return f"{key} = {_shown(where, error, data)}: {reason}"
    value = _shown(where, error, data)
    if where.annotation is None:  # a location the schema cannot name: keep pydantic's words
        return f"{key} = {value}: {_pydantic_words(error['msg'])}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = _range(where.metadata) or _range_from_ctx(error.get("ctx", {}))
        return f"{key} = {value}: must be {bounds}"
    message = f"{key} = {value}: must be {_expects(where.annotation, where.metadata)}"
    choices = _choices(where.annotation)
    if choices and isinstance(error["input"], str):
        hint = suggest(error["input"], [str(c) for c in choices])
        if hint:
            message += f'; did you mean "{hint}"?'
    return message


def _elsewhere(name: str, root: type[BaseModel]) -> str | None:
    """The full path of a key written under the wrong table, e.g. "model.backend"."""
    return next((p for p in leaf_paths(root) if p.rsplit(".", 1)[-1] == name), None)


@dataclass
class _Where:
    parts: list[str]  # display parts of the key path, e.g. ["feedback", "pins", "green"]
    loc: list[str | int]  # the loc elements that address real data (union tags removed)
    annotation: Any  # the expected type at that path, None when the key is unknown
    metadata: list[Any]
    parent: type[BaseModel] | None  # the model holding the last key, for did-you-mean

    @property
    def path(self) -> str:
        return ".".join(self.parts).replace(".[", "[")


def _locate(loc: tuple[str | int, ...], root: type[BaseModel]) -> _Where:
    """Follow a pydantic error location through the schema's annotations."""
    where = _Where([], [], root, [], None)
    for item in loc:
        tp = where.annotation
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            where.parent = tp
            where.parts.append(_toml_key(str(item)))
            where.loc.append(item)
            info = tp.model_fields.get(str(item))
            if info is None:
                where.annotation, where.metadata = None, []
            else:
                where.annotation, where.metadata = _unwrap(info.annotation, list(info.metadata))
        elif origin in (list, tuple, set, frozenset) and isinstance(item, int):
            where.parts.append(f"[{item}]")
            where.loc.append(item)
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            element = args[min(item, len(args) - 1)] if args else Any
            where.annotation, where.metadata = _unwrap(element, [])
        elif origin in (dict, Mapping) and isinstance(item, str):
            where.parts.append(_toml_key(item))
            where.loc.append(item)
            args = typing.get_args(tp)
            where.annotation, where.metadata = _unwrap(args[1] if args else Any, [])
        elif _is_union(tp):
            continue  # pydantic names the union member tried; the data has no such level
        else:
            break  # deeper than the schema describes (e.g. a dict key's own check)
    return where


def _shown(where: _Where, error: Any, data: Mapping[str, Any]) -> str:
    """The bad value as the coach typed it (from the parsed TOML), cut to one short line."""
    value: Any = data
    for item in where.loc:
        try:
            value = value[item]
        except (KeyError, IndexError, TypeError):
            value = error["input"]
            break
    text = toml_value(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _expects(tp: Any, metadata: list[Any]) -> str:
    """What a key accepts, as a noun phrase: "an integer between 0 and 16"."""
    bounds = _range(metadata)
    suffix = f" {bounds}" if bounds else ""
    choices = _choices(tp)
    if choices:
        return "one of " + ", ".join(toml_value(c) for c in choices)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer" + suffix
    if tp is float:
        return "a number" + suffix
    if tp is str:
        return "a string" + _length(metadata, "characters")
    if _section_type(tp) or typing.get_origin(tp) in (dict, Mapping) or tp is dict:
        return "a table"
    origin = typing.get_origin(tp)
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if origin is tuple and len(args) > 1 and Ellipsis not in typing.get_args(tp):
            return f"a list of {len(args)} items"
        if not args:
            return "a list" + _length(metadata, "items")
        length = _length(metadata, "items")
        element = _expects(*_unwrap(args[0], []))
        return f"a list{length}, each {'' if length else 'item '}{element}"
    if _is_union(tp):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        return " or ".join(_expects(*_unwrap(m, [])) for m in members)
    if isinstance(tp, type) and issubclass(tp, os.PathLike):
        return "a path string"
    return f"a valid {getattr(tp, '__name__', 'value')}"


def _choices(tp: Any) -> list[Any]:
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [m.value for m in tp]
    return []


def _range(metadata: list[Any]) -> str:
    bounds: dict[str, float] = {}
    for m in metadata:
        if isinstance(m, (at.Ge, at.Gt, at.Le, at.Lt, at.Interval)):
            for name in ("ge", "gt", "le", "lt"):
                if getattr(m, name, None) is not None:
                    bounds[name] = getattr(m, name)
    return range_text(**bounds)


def _range_from_ctx(ctx: Mapping[str, Any]) -> str:
    return range_text(**{k: v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt")})


def _length(metadata: list[Any], unit: str) -> str:
    low = next((m.min_length for m in metadata if isinstance(m, (at.MinLen, at.Len))), None)
    high = next((m.max_length for m in metadata if isinstance(m, (at.MaxLen, at.Len))), None)
    if low and high is not None:
        return f" of {low} to {high} {unit}"
    if high is not None:
        return f" of at most {high} {unit}"
    if low:
        return f" of at least {low} {unit}"
    return ""


def _unwrap(tp: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """Strip Annotated layers and `X | None`, gathering the constraints they carry."""
    metadata = list(metadata)
    while typing.get_origin(tp) is typing.Annotated:
        tp, *extra = typing.get_args(tp)
        metadata += extra
    flat: list[Any] = []
    for m in metadata:
        flat += m.metadata if isinstance(m, FieldInfo) else [m]
    if _is_union(tp):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0], flat)
    return tp, flat


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _section_type(tp: Any) -> type[BaseModel] | None:
    tp, _ = _unwrap(tp, [])
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _pydantic_words(msg: str) -> str:
    return re.sub(r"^Input should be", "must be", msg)


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
            pseudo = {"type": "datetime", "loc": (*loc, key), "input": value, "msg": ""}
            errors.append(_message(pseudo, {}, Config))
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


def _toml_key(key: str) -> str:
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
