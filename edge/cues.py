"""The clock every LED and buzzer cue runs on.

Live, a worker thread follows the monotonic clock, so a cue never makes its caller wait.
In media time (`hipflex run --fast`), nothing runs on its own: the loop calls `advance(t)`
with each frame's timestamp. A flash then lasts as long in the clip as it would in the gym,
however fast the file is processed, and a run's pin history is the same every time, which
is what lets the end-to-end tests compare whole pin histories.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

Action = Callable[[], None]


class Scheduler:
    def __init__(self, media_time: bool = False) -> None:
        self.media_time = media_time
        # Re-entrant: actions schedule their successors, and cue code holds the lock while
        # it changes its own state, so a worker-thread action never sees half an update.
        self.lock = threading.Condition(threading.RLock())
        self._heap: list[list] = []  # [when, seq, action or None when cancelled]
        self._seq = itertools.count()
        self._now = 0.0
        self._closed = False
        self._thread: threading.Thread | None = None
        if not media_time:
            self._thread = threading.Thread(target=self._run, name="hipflex-cues", daemon=True)
            self._thread.start()

    def now(self) -> float:
        return self._now if self.media_time else time.monotonic()

    def after(self, delay: float, action: Action) -> list:
        """Run `action` `delay` seconds from now; returns a handle for `cancel`."""
        with self.lock:
            entry = [self.now() + delay, next(self._seq), action]
            heapq.heappush(self._heap, entry)
            self.lock.notify()
            return entry

    @staticmethod
    def cancel(entry: list | None) -> None:
        if entry is not None:
            entry[2] = None

    def advance(self, t: float) -> None:
        """Media time only: run everything due up to `t`, each at its own due time."""
        with self.lock:
            while self._heap and self._heap[0][0] <= t:
                when, _, action = heapq.heappop(self._heap)
                if action is not None:
                    self._now = max(self._now, when)
                    action()
            self._now = max(self._now, t)

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self._heap.clear()
            self.lock.notify()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        with self.lock:
            while not self._closed:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self.lock.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self.lock.wait(delay)
                    continue
                action = heapq.heappop(self._heap)[2]
                if action is not None:
                    action()
