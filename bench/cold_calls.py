"""What a call costs right after the pose model has run, against the same call repeated.

    .venv/bin/python bench/cold_calls.py [--frames N] [--threads N]

Explains why BlazePose's pre/postprocessing takes about twice as long inside the loop as
alone: invoke() streams the model's weights and activations through the caches, so the
first numpy or Python calls after it miss on code and data alike. Each row is one call,
timed first right after invoke() ("cold") and then again at once ("warm"); medians over
--frames invokes of the landmark model, warping the knee-raise clip's frames at 640x480
with the ROI the tracker settles on for that clip (550 px, turned -74 degrees).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from clips import knee_raise_frames

from edge.models import verified_path
from edge.pose.roi import Roi, roi_from_alignment, warp_roi
from edge.runtime import load_interpreter


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    frames = knee_raise_frames(args.frames)
    model = load_interpreter(verified_path("blazepose_landmark"), args.threads)
    roi = Roi(cx=271.0, cy=362.0, size=550.0, angle=-1.30)
    small = np.zeros(10)
    window = np.zeros((35, 49))
    peaks = np.zeros(35)
    crop = np.zeros((256, 256, 3), np.uint8)
    calls = {
        "first ufunc (x += 1 on 10 floats)": lambda _: np.add(small, 1.0, out=small),
        "reduction along an axis (35x49 max)": lambda _: np.max(window, axis=1, out=peaks),
        "elementwise tanh (35x49)": lambda _: np.tanh(window, out=window),
        "roi_from_alignment (pure Python)": lambda _: roi_from_alignment(
            (320.0, 240.0), (300.0, 100.0), 1.25
        ),
        "256x256 RGB rotated warp": lambda frame: warp_roi(frame, roi, crop),
    }
    cold: dict[str, list[float]] = {name: [] for name in calls}
    warm: dict[str, list[float]] = {name: [] for name in calls}
    for frame in frames:
        for name, call in calls.items():
            model.invoke()
            t0 = time.perf_counter()
            call(frame)
            t1 = time.perf_counter()
            call(frame)
            t2 = time.perf_counter()
            cold[name].append(t1 - t0)
            warm[name].append(t2 - t1)
    print("| call | right after invoke() µs | repeated µs | ratio |")
    print("|---|---:|---:|---:|")
    for name in calls:
        c, w = np.median(cold[name]) * 1e6, np.median(warm[name]) * 1e6
        print(f"| {name} | {c:.1f} | {w:.1f} | {c / w:.1f} |")


if __name__ == "__main__":
    main()
