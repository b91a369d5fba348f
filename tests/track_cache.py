"""Pose tracks of the real footage, kept on disk between test sessions.

Running the real model over the shared clips is most of the footage tests' time. A track is
reused only while everything that made it is unchanged: the clip's bytes, the model files'
sha256 (from models/manifest.toml, which `verified_path` holds every loaded file to), the
pose and video-decoding code, and the versions of the libraries that decode and infer. Any
change to those gives a new key, so a stale track can never hide a regression.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from edge.keypoints import KeypointTrack, load_keypoints, save_keypoints
from edge.models import manifest, sha256_of

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "tracks"
CODE = ("edge/pose", "edge/track.py", "edge/sources/video.py", "edge/keypoints.py")
LIBRARIES = ("numpy", "opencv-python-headless", "opencv-python", "ai-edge-litert", "tflite-runtime")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def cache_key(clip: Path, backend: str) -> str:
    h = hashlib.sha256()
    h.update(f"{backend}\0{sha256_of(clip)}\0".encode())
    for spec in sorted(manifest().values(), key=lambda s: s.key):
        if spec.key == backend or spec.key.startswith(f"{backend}_"):
            h.update(f"{spec.key}={spec.sha256}\0".encode())
    for root in CODE:
        path = REPO / root
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f"{f.relative_to(REPO)}\0".encode())
            h.update(f.read_bytes())
    h.update("\0".join(f"{n}={_version(n)}" for n in LIBRARIES).encode())
    return h.hexdigest()[:24]


def cached_track(clip: Path, backend: str,
                 compute: Callable[..., KeypointTrack]) -> KeypointTrack:  # fmt: skip
    """The clip's track from the cache, or `compute(clip, backend=...)` and keep it."""
    path = CACHE / f"{clip.stem}.{backend}.{cache_key(clip, backend)}.npz"
    if path.is_file():
        return load_keypoints(path)
    track = compute(clip, backend=backend)
    save_keypoints(path, track)
    return track
