"""Every backend's name and where it lives, one registry per kind; the one list that
argparse choices, config validation and the code building a backend all read.

Like gpiozero's pin factory names, an entry is "module:attribute" and is imported only when
that backend is built, so listing the names (for `hipflex --help`, or the config schema)
imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

# Pose models: name -> the estimator class, called as cls(num_threads=..., runtime=...).
POSE_BACKENDS: dict[str, str] = {
    "blazepose": "edge.pose.blazepose:BlazePose",
    "movenet": "edge.pose.movenet:MoveNet",
}
DEFAULT_POSE_BACKEND = "blazepose"

# Feedback pins: name -> a callable (config, stream, clock) returning a gpiozero pin factory;
# None is gpiozero's own choice (lgpio on a Pi, or whatever $GPIOZERO_PIN_FACTORY names).
PIN_BACKENDS: dict[str, str | None] = {
    "gpio": None,
    "mock": "edge.outputs.mock:mock_factory",
    "timeline": "edge.outputs.timeline:TimelineFactory",
}


def resolve(spec: str) -> Any:
    """The attribute a "module:attribute" entry names, importing its module now."""
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)
