"""Would 4-channel frames make BlazePose's preprocessing cheaper? Capture + preprocess, both ways.

    .venv/bin/python bench/rgbx_capture.py [--frames N] [--threads N]

The box copies every frame once, from the camera's buffer into the frame slot the loop
reads. That copy could as well write RGBX (cv2.cvtColor RGB->RGBA costs about what the copy
does), and OpenCV's bilinear warp is vectorised for 4 channels but not for 3. This times,
right after the landmark model has run as in the loop, per frame of the knee-raise clip at
640x480 with the ROI the tracker follows:
  rgb:  copy into an RGB slot, warp 3 channels, fill the float input tensor;
  rgbx: convert into an RGBX slot, warp 4 channels, drop the 4th, fill the tensor.
It also reports how far apart the two crops are (OpenCV's two code paths round alike or
nearly). Not wired into the product: see bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from clips import knee_raise_frames

from edge.models import verified_path
from edge.pose.blazepose import LANDMARK_SIZE, BlazePose
from edge.pose.roi import warp_roi
from edge.runtime import load_interpreter

SCALE = np.float32(1 / 255)


def fill(tensor: np.ndarray, crop: np.ndarray) -> None:
    np.copyto(tensor, crop, casting="unsafe")
    tensor *= SCALE


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=199)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    frames = knee_raise_frames(args.frames)
    pose = BlazePose(num_threads=args.threads)  # only to follow the athlete's ROI
    model = load_interpreter(verified_path("blazepose_landmark"), args.threads)
    tensor_of = model.tensor(model.get_input_details()[0]["index"])
    slot_rgb = np.empty((480, 640, 3), np.uint8)
    slot_rgbx = np.empty((480, 640, 4), np.uint8)
    crop_rgb = np.empty((LANDMARK_SIZE, LANDMARK_SIZE, 3), np.uint8)
    crop_rgbx = np.empty((LANDMARK_SIZE, LANDMARK_SIZE, 4), np.uint8)
    crop_back = np.empty_like(crop_rgb)
    keys = ("rgb capture", "rgb pre", "rgbx capture", "rgbx pre")
    times: dict[str, list[float]] = {k: [] for k in keys}
    differences: list[float] = []
    for frame in frames:
        pose(frame)
        roi = pose.roi
        if roi is None:
            continue
        model.invoke()
        t0 = time.perf_counter()
        np.copyto(slot_rgb, frame)
        t1 = time.perf_counter()
        warp_roi(slot_rgb, roi, crop_rgb)
        fill(tensor_of()[0], crop_rgb)
        t2 = time.perf_counter()
        expected = model.get_tensor(model.get_input_details()[0]["index"])
        model.invoke()
        t3 = time.perf_counter()
        cv2.cvtColor(frame, cv2.COLOR_RGB2RGBA, dst=slot_rgbx)
        t4 = time.perf_counter()
        warp_roi(slot_rgbx, roi, crop_rgbx)
        cv2.cvtColor(crop_rgbx, cv2.COLOR_RGBA2RGB, dst=crop_back)
        fill(tensor_of()[0], crop_back)
        t5 = time.perf_counter()
        got = model.get_tensor(model.get_input_details()[0]["index"])
        differences.append(float(np.abs(got - expected).max()) * 255)
        for key, seconds in zip(times, (t1 - t0, t2 - t1, t4 - t3, t5 - t4), strict=True):
            times[key].append(seconds)
    medians = {k: float(np.median(v)) * 1e6 for k, v in times.items()}
    print(
        f"{len(times['rgb pre'])} frames, median µs; largest difference between the two "
        f"crops: {max(differences):.0f} grey level(s)"
    )
    print("| path | capture | preprocess | total |")
    print("|---|---:|---:|---:|")
    for path in ("rgb", "rgbx"):
        cap, pre = medians[f"{path} capture"], medians[f"{path} pre"]
        print(f"| {path} | {cap:.0f} | {pre:.0f} | {cap + pre:.0f} |")


if __name__ == "__main__":
    main()
