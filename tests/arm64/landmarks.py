"""BlazePose on one fixed frame, as JSON; `make test-arm64` runs it on x86 and on the emulated
arm64 CPU, then compares the two with --compare.

    landmarks.py --extract VIDEO INDEX FRAME.npy   # the frame, decoded once (x86 side)
    landmarks.py FRAME.npy > OUT.json              # detector + landmark model, one thread
    landmarks.py --compare A.json B.json --tol 0.01
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np


def extract(video: Path, index: int, out: Path) -> None:
    """Decode frame `index` of `video` to an RGB .npy, so both CPUs see the same pixels."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        sys.exit(f"landmarks: cannot read frame {index} of {video}")
    np.save(out, np.ascontiguousarray(bgr[:, :, ::-1]))


def estimate(frame: Path) -> dict:
    """Keypoints and landmarks of the first (detector + landmark) call on the frame."""
    from edge.pose import create

    rgb = np.load(frame)
    pose = create("blazepose", num_threads=1)(rgb)
    if pose.landmarks is None or not pose.keypoints[:, 2].any():
        sys.exit("landmarks: nobody found in the frame")
    return {
        "machine": platform.machine(),
        "numpy": np.__version__,
        "keypoints": pose.keypoints[:, :2].tolist(),
        "landmarks": pose.landmarks[:, :2].tolist(),
    }


def compare(a: Path, b: Path, tol: float) -> int:
    """0 when every keypoint and landmark of the two runs is within `tol` pixels."""
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    worst = max(
        float(np.max(np.abs(np.asarray(ra[k]) - np.asarray(rb[k]))))
        for k in ("keypoints", "landmarks")
    )
    verdict = "within" if worst <= tol else "NOT within"
    print(
        f"landmarks {ra['machine']} (numpy {ra['numpy']}) vs {rb['machine']} "
        f"(numpy {rb['numpy']}): max difference {worst:.6f} px, {verdict} {tol} px"
    )
    return 0 if worst <= tol else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("frame", nargs="?", type=Path)
    p.add_argument("--extract", nargs=3, metavar=("VIDEO", "INDEX", "OUT"))
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    p.add_argument("--tol", type=float, default=0.01)
    args = p.parse_args()
    if args.extract:
        video, index, out = args.extract
        extract(Path(video), int(index), Path(out))
        return 0
    if args.compare:
        return compare(*args.compare, args.tol)
    if args.frame is None:
        p.error("a frame .npy, --extract or --compare")
    json.dump(estimate(args.frame), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
