"""Per-stage timings for the live loop and the benchmarks, without allocating per frame.

Each stage keeps a fixed ring of the last `capacity` durations; `summary()` turns them into
median, p95 and rate. The live loop logs that every few seconds; `hipflex bench` prints it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class StageTimer:
    def __init__(self, stages: tuple[str, ...], capacity: int = 2048):
        self.stages = stages
        self._ring = np.zeros((len(stages), capacity), dtype=np.float64)
        self._count = np.zeros(len(stages), dtype=np.int64)
        self._index = {name: i for i, name in enumerate(stages)}
        self._capacity = capacity

    def add(self, stage: str, seconds: float) -> None:
        i = self._index[stage]
        self._ring[i, self._count[i] % self._capacity] = seconds
        self._count[i] += 1

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def reset(self) -> None:
        self._count[:] = 0

    def samples(self, stage: str) -> np.ndarray:
        i = self._index[stage]
        return self._ring[i, : min(self._count[i], self._capacity)]

    def summary(self) -> dict[str, dict[str, float]]:
        """{stage: {"median_ms", "p95_ms", "n"}} for every stage with samples."""
        out = {}
        for name in self.stages:
            s = self.samples(name)
            if s.size:
                out[name] = {
                    "median_ms": float(np.median(s) * 1e3),
                    "p95_ms": float(np.percentile(s, 95) * 1e3),
                    "n": int(s.size),
                }
        return out

    def format(self) -> str:
        return ", ".join(
            f"{name} {v['median_ms']:.2f}/{v['p95_ms']:.2f} ms"
            for name, v in self.summary().items()
        )
