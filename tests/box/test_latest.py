"""The newest-frame slot: drops instead of queueing, never hands out a frame being overwritten."""

import threading
import time

import numpy as np
import pytest

from edge.latest import LatestFrame


def _frames(n, fps=100.0, shape=(4, 4, 3)):
    for i in range(n):
        yield i / fps, np.full(shape, i % 256, dtype=np.uint8)


def test_slow_consumer_sees_newest_frames_and_counts_drops():
    slot = LatestFrame(_frames(50), realtime=True).start()
    seen = []
    while True:
        item = slot.get(timeout=0.5)
        if item is None:
            if slot.exhausted:
                break
            continue
        t, frame = item
        # The frame content matches its timestamp: nothing overwrote it while we held it.
        time.sleep(0.03)
        assert int(frame[0, 0, 0]) == round(t * 100)
        seen.append(round(t * 100))
    assert seen == sorted(seen)
    assert seen[-1] == 49
    assert len(seen) < 50
    assert slot.dropped + slot.delivered == 50


def test_fast_consumer_gets_every_frame_in_real_time_pace():
    slot = LatestFrame(_frames(20, fps=50.0), realtime=True).start()
    got = []
    start = time.monotonic()
    while not slot.exhausted:
        item = slot.get(timeout=0.5)
        if item is not None:
            got.append(item[0])
    elapsed = time.monotonic() - start
    assert got == [i / 50.0 for i in range(20)]
    assert slot.dropped == 0
    assert elapsed >= 19 / 50.0 - 0.01  # paced like a camera, not read as fast as possible


def test_reader_error_is_raised_to_the_loop_after_the_last_frame():
    def broken():
        yield 0.0, np.zeros((2, 2, 3), np.uint8)
        raise OSError("camera unplugged")

    slot = LatestFrame(broken(), realtime=False).start()
    assert slot.get(timeout=1.0) is not None
    with pytest.raises(OSError, match="camera unplugged"):
        while True:
            slot.get(timeout=1.0)


def test_timeout_returns_none_while_the_source_is_silent():
    gate = threading.Event()

    def silent():
        gate.wait(2.0)
        yield 0.0, np.zeros((2, 2, 3), np.uint8)

    slot = LatestFrame(silent(), realtime=False).start()
    assert slot.get(timeout=0.05) is None
    gate.set()
    assert slot.get(timeout=1.0) is not None
    slot.stop()


def test_buffers_are_reused_not_allocated_per_frame():
    slot = LatestFrame(_frames(30, fps=1000.0), realtime=False).start()
    ids = set()
    while not slot.exhausted:
        item = slot.get(timeout=0.5)
        if item is not None:
            ids.add(id(item[1]))
    assert 1 <= len(ids) <= 3
