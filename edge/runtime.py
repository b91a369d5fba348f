"""Load a TFLite interpreter: ai-edge-litert first, tflite-runtime as the fallback."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from edge.errors import HipflexError

log = logging.getLogger(__name__)

RUNTIMES = ("ai_edge_litert", "tflite_runtime")


def _import_runtime(name: str) -> tuple[type, str]:
    if name == "ai_edge_litert":
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter
    elif name == "tflite_runtime":
        import tflite_runtime as ai_edge_litert
        from tflite_runtime.interpreter import Interpreter
    else:
        raise HipflexError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
    return Interpreter, getattr(ai_edge_litert, "__version__", "unknown")


def available_runtimes() -> list[tuple[str, str]]:
    """(name, version) of every runtime that imports here."""
    found = []
    for name in RUNTIMES:
        try:
            _, version = _import_runtime(name)
        except ImportError:
            continue
        found.append((name, version))
    return found


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def load_interpreter(
    model_path: Path, num_threads: int | None = None, runtime: str | None = None
) -> Any:
    """Return an allocated Interpreter. The caller must have verified `model_path` already."""
    names = (runtime,) if runtime else RUNTIMES
    for name in names:
        try:
            interpreter_cls, version = _import_runtime(name)
        except ImportError:
            continue
        threads = num_threads or default_threads()
        interpreter = interpreter_cls(model_path=str(model_path), num_threads=threads)
        interpreter.allocate_tensors()
        log.info("%s: runtime %s %s, %d threads", model_path.name, name, version, threads)
        return interpreter
    raise HipflexError(
        "no TFLite runtime found: install ai-edge-litert (pip install ai-edge-litert) "
        "or tflite-runtime (pip install 'hipflex-edge[tflite]')"
    )
