"""The footage track cache (tests/track_cache.py): reused only while the clip, the model
files, the pose code and the libraries are all unchanged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import track_cache

from edge.keypoints import KeypointTrack
from edge.models import manifest


@pytest.fixture
def clip(tmp_path, monkeypatch):
    monkeypatch.setattr(track_cache, "CACHE", tmp_path / "cache")
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"not really a video, only bytes to hash")
    return path


class Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self, clip, backend):
        self.calls += 1
        kp = np.full((3, 17, 3), float(self.calls), np.float32)
        return KeypointTrack(kp, 30.0, 640, 480, backend)


def test_second_fetch_reads_the_disk(clip):
    compute = Counting()
    first = track_cache.cached_track(clip, "blazepose", compute)
    again = track_cache.cached_track(clip, "blazepose", compute)
    assert compute.calls == 1
    assert np.array_equal(first.keypoints, again.keypoints) and again.model == "blazepose"


def test_other_bytes_another_backend_or_another_model_recompute(clip, monkeypatch):
    compute = Counting()
    track_cache.cached_track(clip, "blazepose", compute)
    track_cache.cached_track(clip, "movenet", compute)
    assert compute.calls == 2
    clip.write_bytes(b"the clip was re-encoded")
    track_cache.cached_track(clip, "blazepose", compute)
    assert compute.calls == 3
    specs = manifest()
    other = {k: replace(s, sha256="0" * 64) if k == "blazepose_landmark" else s
             for k, s in specs.items()}  # fmt: skip
    key = track_cache.cache_key(clip, "blazepose")
    monkeypatch.setattr(track_cache, "manifest", lambda: other)
    assert track_cache.cache_key(clip, "blazepose") != key
    assert track_cache.cache_key(clip, "movenet") == track_cache.cache_key(clip, "movenet")
