"""Run a pose backend over every frame of a video file: the offline path behind
`hipflex pose`, `hipflex analyze` and the real-footage tests."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from edge.backends import DEFAULT_POSE_BACKEND
from edge.keypoints import KeypointTrack
from edge.pose import create
from edge.sources.video import VideoFileSource

Progress = Callable[[int, int], None]


def track_video(
    path: str | os.PathLike,
    backend: str = DEFAULT_POSE_BACKEND,
    num_threads: int | None = None,
    progress: Progress | None = None,
    overlay: str | os.PathLike | None = None,
) -> KeypointTrack:
    """Keypoints for every frame of `path`.

    `progress(done, total)` is called after each frame; total is the container's frame
    count (0 if unknown). `overlay`, if given, is an mp4 path to draw the skeleton into.
    """
    with VideoFileSource(path) as source:
        estimator = create(backend, num_threads=num_threads)
        total = source.frame_count or 0
        keypoints: list[np.ndarray] = []
        landmarks: list[np.ndarray | None] = []
        writer = None
        if overlay is not None:
            from edge.overlay import OverlayWriter

            writer = OverlayWriter(overlay, source.fps, source.width, source.height)
        try:
            for _, rgb in source.frames():
                pose = estimator(rgb)
                keypoints.append(np.array(pose.keypoints, dtype=np.float32))
                landmarks.append(
                    None if pose.landmarks is None else np.array(pose.landmarks, np.float32)
                )
                if writer is not None:
                    writer.write(rgb, pose)
                if progress is not None:
                    progress(len(keypoints), max(total, len(keypoints)))
        finally:
            if writer is not None:
                writer.close()
    return KeypointTrack(
        keypoints=np.stack(keypoints),
        fps=source.fps,
        width=source.width,
        height=source.height,
        model=estimator.name,
        landmarks=_stack_landmarks(landmarks),
    )


def _stack_landmarks(landmarks: list[np.ndarray | None]) -> np.ndarray | None:
    """(T, 33, 4), zeros where the backend saw nobody; None if it never gives landmarks."""
    if all(lm is None for lm in landmarks):
        return None
    out = np.zeros((len(landmarks), 33, 4), dtype=np.float32)
    for i, lm in enumerate(landmarks):
        if lm is not None:
            out[i] = lm
    return out
