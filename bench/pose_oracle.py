"""How close our BlazePose decoding lands to mediapipe's own output, per ROI expansion.

    .venv/bin/python bench/pose_oracle.py [--expand 1.25 1.5] [CLIP ...]

For each clip in ../shared/footage with a reference/<clip>.npz, prints the median, p95 and
mean distance (px) of hips, knees and ankles to the reference on frames where both see
them, and on the knee-raise clip the knee metric (frames 50-130, right knee > 20 px above
the right hip). This is how ROI_EXPAND in edge/pose/blazepose.py was chosen.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from edge.pose.blazepose import ROI_EXPAND, BlazePose
from edge.sources.video import VideoFileSource

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
LEGS = slice(11, 17)


def run_clip(path: Path, expand: float) -> np.ndarray:
    estimator = BlazePose(roi_expand=expand)
    with VideoFileSource(path) as source:
        return np.stack([estimator(rgb).keypoints for _, rgb in source.frames()])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("clips", nargs="*", help="clip names (default: every clip with a reference)")
    p.add_argument("--expand", type=float, nargs="+", default=[ROI_EXPAND, 1.5])
    args = p.parse_args()
    clips = args.clips or sorted(r.stem + ".mp4" for r in (FOOTAGE / "reference").glob("*.npz"))
    print("| clip | expand | frames both | median px | p95 px | mean px | knee metric |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for clip in clips:
        ref = np.load(FOOTAGE / "reference" / clip.replace(".mp4", ".npz"))["keypoints"]
        for expand in args.expand:
            kp = run_clip(FOOTAGE / clip, expand)
            both = (kp[:, LEGS, 2].min(axis=1) > 0) & (ref[:, LEGS, 2].min(axis=1) > 0)
            err = np.linalg.norm(kp[both, LEGS, :2] - ref[both, LEGS, :2], axis=2)
            knee = ""
            if clip.startswith("supine_knee_raise"):
                f = np.arange(50, 131)
                knee = f"{np.mean(kp[f, 12, 1] - kp[f, 14, 1] > 20):.3f}"
            print(
                f"| {clip} | {expand} | {both.sum()}/{len(kp)} | {np.median(err):.2f} | "
                f"{np.percentile(err, 95):.2f} | {err.mean():.2f} | {knee} |"
            )


if __name__ == "__main__":
    main()
