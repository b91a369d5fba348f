"""The pose models on one fixed frame, as JSON; `make test-arm64` runs this on x86 and on the
emulated arm64 CPU, then compares the two with --compare.

    landmarks.py --extract VIDEO INDEX DIR   # x86: DIR/frame.npy and DIR/crop.npy, once
    landmarks.py DIR > OUT.json              # both CPUs: the model, then the whole pipeline
    landmarks.py --compare A.json B.json --tol 0.01

"model" is the landmark model alone on the crop x86's pipeline fed it (the same input
tensor on both CPUs): its 39 landmarks in crop pixels. "pipeline" is BlazePose on the frame,
detector, crop and all: its 33 landmarks in frame pixels, which also moves with the OpenCV
and numpy versions each side has.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np


def extract(video: Path, index: int, out: Path) -> None:
    """Decode frame `index` of `video` once (both CPUs see the same pixels) and keep the
    crop the landmark model gets from it."""
    import cv2

    from edge.pose import create

    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = cap.read()
    cap.release()
    if not ok:
        sys.exit(f"landmarks: cannot read frame {index} of {video}")
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    pose = create("blazepose", num_threads=1)
    if pose(rgb).landmarks is None:
        sys.exit("landmarks: nobody found in the frame")
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "frame.npy", rgb)
    np.save(out / "crop.npy", pose._lm_rgb)  # what the landmark model saw


def landmark_model(crop: np.ndarray) -> np.ndarray:
    """The landmark model alone, one thread: (39, 2) landmarks in crop pixels."""
    from edge.models import verified_path
    from edge.runtime import load_interpreter

    interpreter = load_interpreter(verified_path("blazepose_landmark"), 1)
    (inp,) = interpreter.get_input_details()
    interpreter.set_tensor(inp["index"], (crop.astype(np.float32) / 255)[None])
    interpreter.invoke()
    out = next(d for d in interpreter.get_output_details() if d["name"] == "Identity")
    return interpreter.get_tensor(out["index"]).reshape(-1, 5)[:, :2]


def estimate(directory: Path) -> dict:
    from edge.pose import create

    pose = create("blazepose", num_threads=1)(np.load(directory / "frame.npy"))
    if pose.landmarks is None:
        sys.exit("landmarks: nobody found in the frame")
    return {
        "machine": platform.machine(),
        "numpy": np.__version__,
        "model": landmark_model(np.load(directory / "crop.npy")).tolist(),
        "pipeline": pose.landmarks[:, :2].tolist(),
    }


def compare(a: Path, b: Path, tol: float) -> int:
    """0 when the landmark model's outputs on the two CPUs are within `tol` pixels."""
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())

    def worst(key: str) -> float:
        return float(np.max(np.abs(np.asarray(ra[key]) - np.asarray(rb[key]))))

    model, pipeline = worst("model"), worst("pipeline")
    print(
        f"landmark model {ra['machine']} vs {rb['machine']} on the same input: max difference "
        f"{model:.6f} px ({'within' if model <= tol else 'NOT within'} {tol} px); whole "
        f"pipeline with numpy {ra['numpy']} vs {rb['numpy']}: {pipeline:.4f} px"
    )
    return 0 if model <= tol else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir", nargs="?", type=Path, help="holds frame.npy and crop.npy")
    p.add_argument("--extract", nargs=3, metavar=("VIDEO", "INDEX", "DIR"))
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    p.add_argument("--tol", type=float, default=0.01)
    args = p.parse_args()
    if args.extract:
        video, index, out = args.extract
        extract(Path(video), int(index), Path(out))
        return 0
    if args.compare:
        return compare(*args.compare, args.tol)
    if args.dir is None:
        p.error("a folder with frame.npy and crop.npy, --extract or --compare")
    json.dump(estimate(args.dir), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
