"""Pydantic's validation errors as one line each, in the coach's words.

Each line names the key path as written in TOML, the bad value as typed, and what is
allowed, read from the field's metadata; unknown keys get a did-you-mean.
"""

from __future__ import annotations

import enum
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, ValidationError

from edge.config.keys import is_union, leaf_paths, section_type, unwrap
from edge.config.schema import Config
from edge.config.toml_out import toml_key, toml_value
from edge.config.validators import range_text, suggest

_MAX_SHOWN = 60  # characters of a bad value echoed in a message


def format_errors(
    exc: ValidationError, data: Mapping[str, Any], root: type[BaseModel] = Config
) -> list[str]:
    """One line per problem in `data` validated as `root`; the duplicates pydantic gives
    (one per union member) are folded together."""
    lines = [_message(error, data, root) for error in exc.errors(include_url=False)]
    return list(dict.fromkeys(lines))


def datetime_error(loc: tuple[str, ...], value: Any) -> str:
    """The line for a TOML date or time at `loc`: the config has no use for one."""
    return _message({"type": "datetime", "loc": loc, "input": value, "msg": ""}, {}, Config)


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
        if where.annotation is None or section_type(where.annotation):
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
            where.parts.append(toml_key(str(item)))
            where.loc.append(item)
            info = tp.model_fields.get(str(item))
            if info is None:
                where.annotation, where.metadata = None, []
            else:
                where.annotation, where.metadata = unwrap(info.annotation, list(info.metadata))
        elif origin in (list, tuple, set, frozenset) and isinstance(item, int):
            where.parts.append(f"[{item}]")
            where.loc.append(item)
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            element = args[min(item, len(args) - 1)] if args else Any
            where.annotation, where.metadata = unwrap(element, [])
        elif origin in (dict, Mapping) and isinstance(item, str):
            where.parts.append(toml_key(item))
            where.loc.append(item)
            args = typing.get_args(tp)
            where.annotation, where.metadata = unwrap(args[1] if args else Any, [])
        elif is_union(tp):
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
    if section_type(tp) or typing.get_origin(tp) in (dict, Mapping) or tp is dict:
        return "a table"
    origin = typing.get_origin(tp)
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if origin is tuple and len(args) > 1 and Ellipsis not in typing.get_args(tp):
            return f"a list of {len(args)} items"
        if not args:
            return "a list" + _length(metadata, "items")
        length = _length(metadata, "items")
        element = _expects(*unwrap(args[0], []))
        return f"a list{length}, each {'' if length else 'item '}{element}"
    if is_union(tp):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        return " or ".join(_expects(*unwrap(m, [])) for m in members)
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


def _pydantic_words(msg: str) -> str:
    return re.sub(r"^Input should be", "must be", msg)
