"""Experiment: int8 variants of the BlazePose landmark model with ai-edge-quantizer.

Not part of the product: run it in a separate venv that has ai-edge-quantizer (it is not a
project dependency), e.g.

    python3 -m venv /tmp/qvenv && /tmp/qvenv/bin/pip install ai-edge-quantizer \
        opencv-python-headless && /tmp/qvenv/bin/pip install --no-deps -e .
    /tmp/qvenv/bin/python bench/quantize_blazepose.py --out /tmp/blazepose-int8

Steps: fold the model's fp16 weights (constants feeding DEQUANTIZE ops, which the quantizer
leaves alone) into fp32 constants and add the `serving_default` signature calibration
needs; collect real landmark-model inputs (the rotated ROIs our BlazePose tracker cuts from
the lying-body clips: every 3rd frame calibrates, the others evaluate); quantize with each
recipe; report, against the fp16 model on the evaluation ROIs, the mean and p95 landmark
distance in 256-px ROI units over the landmarks fp16 calls visible, and the time per
inference on one thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from edge.models import verified_path
from edge.pose.blazepose import LANDMARK_SIZE, NUM_BODY, BlazePose
from edge.pose.roi import warp_roi
from edge.runtime import load_interpreter
from edge.sources.video import VideoFileSource

FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage"
CLIPS = ("supine_knee_raise_right.mp4", "supine_straight_leg_raise.mp4", "glute_bridge.mp4")
HEADS = r".*(convld_3d|conv_poseflag|convworld_3d|heatmap|segmentation|output).*"


def fold_fp16(src: Path, dst: Path) -> None:
    """Replace every fp16-constant -> DEQUANTIZE pair by an fp32 constant; add a signature."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils as fbu

    model = fbu.read_model(str(src))
    graph = model.subgraphs[0]
    codes = [fbu.get_builtin_code_from_operator_code(c) for c in model.operatorCodes]
    keep = []
    for op in graph.operators:
        source = graph.tensors[op.inputs[0]]
        data = model.buffers[source.buffer].data
        if codes[op.opcodeIndex] == schema.BuiltinOperator.DEQUANTIZE and data is not None:
            weights = np.frombuffer(bytes(data), np.float16).astype(np.float32)
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(weights.tobytes(), np.uint8)
            model.buffers.append(buffer)
            target = graph.tensors[op.outputs[0]]
            target.buffer = len(model.buffers) - 1
            continue
        keep.append(op)
    graph.operators = keep
    signature = schema.SignatureDefT()
    signature.signatureKey = "serving_default"
    signature.subgraphIndex = 0
    signature.inputs, signature.outputs = [], []
    for names, indices in ((signature.inputs, graph.inputs), (signature.outputs, graph.outputs)):
        for i in indices:
            m = schema.TensorMapT()
            m.name = graph.tensors[i].name.decode()
            m.tensorIndex = int(i)
            names.append(m)
    model.signatureDefs = [signature]
    fbu.write_model(model, str(dst))


def collect_rois(step: int) -> np.ndarray:
    """(N, 256, 256, 3) float32 landmark-model inputs from the tracker on real clips."""
    estimator = BlazePose(num_threads=1)
    crop = np.zeros((LANDMARK_SIZE, LANDMARK_SIZE, 3), np.uint8)
    rois = []
    for clip in CLIPS:
        estimator.reset()
        with VideoFileSource(FOOTAGE / clip) as source:
            for i, (_, rgb) in enumerate(source.frames()):
                if i % step == 0 and estimator.roi is not None:
                    rois.append(warp_roi(rgb, estimator.roi, crop).astype(np.float32) / 255)
                estimator(rgb)
    return np.stack(rois)


def run_model(path: Path, rois: np.ndarray) -> tuple[np.ndarray, float]:
    """(N, 39, 5) raw landmarks and the median seconds per inference."""
    net = load_interpreter(path, num_threads=1)
    inp = net.get_input_details()[0]
    out = next(d for d in net.get_output_details() if d["name"] == "Identity")
    result, times = [], []
    for roi in rois:
        x = roi[None]
        if inp["dtype"] != np.float32:  # a fully integer model takes quantized input
            scale, zero = inp["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(inp["dtype"])
        net.set_tensor(inp["index"], x)
        start = time.perf_counter()
        net.invoke()
        times.append(time.perf_counter() - start)
        y = net.get_tensor(out["index"]).astype(np.float32)
        if out["dtype"] != np.float32:
            scale, zero = out["quantization"]
            y = (y - zero) * scale
        result.append(y.reshape(39, 5))
    return np.stack(result), float(np.median(times))


def quantize(folded: Path, recipe: str, calibration: np.ndarray, dst: Path) -> None:
    from ai_edge_quantizer import qtyping, quantizer

    q = quantizer.Quantizer(str(folded))
    if recipe == "weight_only_int8":
        q.add_weight_only_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, 8)
    else:
        q.add_static_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, 8, 8)
        if recipe == "static_int8_float_heads":
            q.update_quantization_recipe(
                HEADS, qtyping.TFLOperationName.ALL_SUPPORTED, algorithm_key="no_quantize"
            )
    calib = None
    if q.need_calibration:
        calib = q.calibrate({"serving_default": [{"input_1": x[None]} for x in calibration]})
    q.quantize(calib, enable_progress_report=False).export_model(str(dst), overwrite=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/blazepose-int8"))
    p.add_argument("--step", type=int, default=2, help="take every Nth frame's ROI")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reference = verified_path("blazepose_landmark")
    folded = args.out / "landmark_fp32.tflite"
    fold_fp16(reference, folded)
    rois = collect_rois(args.step)
    calibration, evaluation = rois[::3], np.delete(rois, np.s_[::3], axis=0)
    print(f"{len(calibration)} calibration and {len(evaluation)} evaluation ROIs")
    base, base_t = run_model(reference, evaluation)
    visible = 1 / (1 + np.exp(-base[:, :NUM_BODY, 3])) > 0.5
    print("| variant | size MB | mean px | p95 px | ms/inference (1 thread) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| fp16 (shipped) | {reference.stat().st_size / 1e6:.1f} | 0 | 0 | {base_t * 1e3:.1f} |")
    variants = {"fp32 folded": folded}
    for recipe in ("weight_only_int8", "static_int8", "static_int8_float_heads"):
        path = args.out / f"landmark_{recipe}.tflite"
        quantize(folded, recipe, calibration, path)
        variants[recipe] = path
    for name, path in variants.items():
        raw, t = run_model(path, evaluation)
        dist = np.linalg.norm(raw[:, :NUM_BODY, :2] - base[:, :NUM_BODY, :2], axis=2)[visible]
        print(
            f"| {name} | {path.stat().st_size / 1e6:.1f} | {dist.mean():.2f} | "
            f"{np.percentile(dist, 95):.2f} | {t * 1e3:.1f} |"
        )


if __name__ == "__main__":
    main()
