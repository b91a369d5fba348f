"""Kinematics + judge speed: streaming (per frame, median) and `analyze` (frames/s).

Run: .venv/bin/python bench/bench_judge.py [--frames N]
Input: a long session of synthetic clips (tests/synthetic.py) at 30 fps, with BlazePose
landmarks (heels) and without. Prints a markdown section for bench/RESULTS.md.
Criteria (issue 11): streaming <= 50 us per frame median; analyze on keypoints (the same
judge driven over the clip) >= 20,000 frames/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from machine import machine_line
from synthetic import make_clip

from edge.judge import StreamingJudge, judge_clip


def session(frames: int, landmarks: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Back-to-back synthetic clips (reps, sets, rests, faults) up to `frames` frames."""
    kps, lms, n, seed = [], [], 0, 0
    while n < frames:
        clip = make_clip(seed, fps=30.0)
        seed += 1
        if (clip.track.landmarks is not None) != landmarks:
            continue
        kps.append(clip.track.keypoints)
        lms.append(clip.track.landmarks)
        n += clip.track.frames
    kp = np.concatenate(kps)[:frames]
    return kp, (np.concatenate(lms)[:frames] if landmarks else None)


def streaming(kp: np.ndarray, lm: np.ndarray | None, fps: float) -> np.ndarray:
    judge = StreamingJudge(fps)
    times = np.empty(len(kp))
    clock = time.perf_counter
    for i in range(len(kp)):
        frame_lm = None if lm is None else lm[i]
        start = clock()
        judge.update(i / fps, kp[i], frame_lm)
        times[i] = clock() - start
    return times


def batch(kp: np.ndarray, lm: np.ndarray | None, fps: float,
          repeats: int = 3) -> tuple[float, float]:  # fmt: skip
    """(frames/s by the wall clock, frames/s by this process's CPU time), best of `repeats`.
    On a shared machine the CPU time says what the code costs; on an idle one they agree."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        judge_clip(kp, lm, fps)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return len(kp) / wall, len(kp) / cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000, help="frames per session")
    args = ap.parse_args()
    fps = 30.0
    print("## Kinematics + judge (issue 11)\n")
    print(f"Command: `.venv/bin/python bench/bench_judge.py --frames {args.frames}`  ")
    print(machine_line())
    print(
        f"Input: {args.frames} frames of synthetic sessions at {fps:.0f} fps "
        "(reps, sets, rests, faults, noise, dropouts, label swaps).\n"
    )
    print(f"Load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n")
    print("| input | streaming median µs/frame | streaming p95 µs/frame "
          "| analyze frames/s (wall) | analyze frames/s (CPU time) |")
    print("|---|---|---|---|---|")
    for landmarks in (False, True):
        kp, lm = session(args.frames, landmarks)
        t = streaming(kp, lm, fps) * 1e6
        wall, cpu = batch(kp, lm, fps)
        name = "COCO-17 + BlazePose heels" if landmarks else "COCO-17 only"
        print(f"| {name} | {np.median(t):.1f} | {np.percentile(t, 95):.1f} | {wall:,.0f} "
              f"| {cpu:,.0f} |")
    print("\nCriteria: streaming ≤ 50 µs median, analyze ≥ 20,000 frames/s.")


if __name__ == "__main__":
    main()
