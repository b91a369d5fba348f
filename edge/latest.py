"""Always work on the newest frame: a reader thread and a single slot, never a queue.

A camera keeps delivering while the model runs; the frames in between are dropped, not
queued, so latency stays one frame however slow the Pi is. A video file played at real-time
pace goes through the same slot, so a file run drops frames exactly like a slow Pi would.

Image frames are copied into three preallocated buffers (one being written, one waiting,
one being read by the loop), so nothing is allocated per frame and the reader never
overwrites the frame the loop is working on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np


class LatestFrame:
    def __init__(self, frames: Iterator[tuple[float, Any]], realtime: bool):
        self._frames = frames
        self._realtime = realtime
        self._cond = threading.Condition()
        self._buffers: list[np.ndarray] | None = None
        self._write = 0  # buffer index the reader fills next
        self._ready: int | None = None  # buffer index holding the newest unread frame
        self._reading: int | None = None  # buffer index the loop holds
        self._item: tuple[float, Any] | None = None
        self._seq = 0
        self._taken_seq = 0
        self.dropped = 0
        self.delivered = 0
        self.finished = False
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
        self.last_frame_at = time.monotonic()

    def start(self) -> LatestFrame:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _store(self, t: float, frame: Any) -> None:
        with self._cond:
            if isinstance(frame, np.ndarray):
                if self._buffers is None or self._buffers[0].shape != frame.shape:
                    self._buffers = [np.empty_like(frame) for _ in range(3)]
                    self._write, self._ready, self._reading = 0, None, None
                target = self._write
            else:
                target = None
        if target is not None:
            np.copyto(self._buffers[target], frame)  # outside the lock: the slow part
        with self._cond:
            if self._seq > self._taken_seq:
                self.dropped += 1
            if target is not None:
                self._ready = target
                busy = {self._ready, self._reading}
                self._write = next(i for i in range(3) if i not in busy)
                self._item = (t, self._buffers[target])
            else:
                self._item = (t, frame)
            self._seq += 1
            self.last_frame_at = time.monotonic()
            self._cond.notify_all()

    def _run(self) -> None:
        start_wall: float | None = None
        try:
            for t, frame in self._frames:
                if self._stop.is_set():
                    return
                if self._realtime:
                    now = time.monotonic()
                    if start_wall is None:
                        start_wall = now - t
                    delay = start_wall + t - now
                    if delay > 0 and self._stop.wait(delay):
                        return
                self._store(t, frame)
        except BaseException as exc:  # handed to the loop, which decides what it means
            self.error = exc
        finally:
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def get(self, timeout: float) -> tuple[float, Any] | None:
        """The newest frame not yet taken, or None after `timeout` s or at the end.

        Raises whatever the reader hit (a camera that vanished) once the frames run out.
        """
        with self._cond:
            if self._seq == self._taken_seq and not self.finished:
                self._cond.wait(timeout)
            if self._seq == self._taken_seq:
                if self.finished and self.error is not None:
                    raise self.error
                return None
            self._taken_seq = self._seq
            self.delivered += 1
            self._reading = self._ready
            return self._item

    @property
    def exhausted(self) -> bool:
        with self._cond:
            return self.finished and self._seq == self._taken_seq
