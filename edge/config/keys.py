"""The schema's settable keys as dotted paths, and the types behind them.

Loading (origins), messages (did-you-mean across tables) and the TOML writer all walk the
same schema; this is the one walk they share.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from edge.config.schema import Config


def leaf_paths(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """Every settable key as a dotted path, in schema order; sections are not leaves."""
    paths = []
    for name, info in model.model_fields.items():
        sub = section_type(info.annotation)
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
            sub = section_type(info.annotation)
            if sub is not None:
                walk(data[name], sub, f"{prefix}{name}.")
            else:
                out[prefix + name] = data[name]

    walk(config.model_dump(), type(config), "")
    return out


def unwrap(tp: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """Strip Annotated layers and `X | None`, gathering the constraints they carry."""
    metadata = list(metadata)
    while typing.get_origin(tp) is typing.Annotated:
        tp, *extra = typing.get_args(tp)
        metadata += extra
    flat: list[Any] = []
    for m in metadata:
        flat += m.metadata if isinstance(m, FieldInfo) else [m]
    if is_union(tp):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(members) == 1:
            return unwrap(members[0], flat)
    return tp, flat


def is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def section_type(tp: Any) -> type[BaseModel] | None:
    """The model of a table (a section), or None for a leaf key."""
    tp, _ = unwrap(tp, [])
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
