"""`hipflex bench` runs the real models and reports every stage; the numbers themselves
belong in bench/RESULTS.md, not in assertions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import footage_path

from edge.backends import POSE_BACKENDS
from edge.runtime import available_runtimes


def hipflex(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.footage
@pytest.mark.slow
def test_bench_reports_each_stage_for_each_model_and_runtime():
    clip = footage_path("supine_straight_leg_raise.mp4")  # 640x352: exercises the resize
    result = hipflex("bench", str(clip), "--frames", "12", "--warmup", "2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["size"], report["frames"]) == ("640x480", 12)
    pairs = {(r["model"], r["runtime"]) for r in report["rows"]}
    assert pairs == {(m, rt) for m in POSE_BACKENDS for rt, _ in available_runtimes()}
    for row in report["rows"]:
        assert row["decode"]["n"] == 11  # the first frame is decoded on open, untimed
        for stage in ("preprocess", "inference", "postprocess"):
            assert row[stage]["n"] >= 12
        for stage in ("kinematics", "judge", "feedback"):
            assert row[stage]["n"] == 12  # once per frame the model produced
        for stage in ("decode", "preprocess", "inference", "postprocess", "kinematics"):
            assert 0 < row[stage]["median_ms"] <= row[stage]["p95_ms"]
        assert row["fps"] > 0


@pytest.mark.footage
def test_bench_table_names_every_stage():
    result = hipflex(
        "bench", str(footage_path("glute_bridge.mp4")), "--frames", "3", "--warmup", "0",
        "--models", "movenet", "--size", "320x240",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "resized to 320x240, 3 frames" in result.stdout
    for stage in ("decode", "preprocess", "inference", "postprocess", "kinematics", "judge",
                  "feedback"):  # fmt: skip
        assert "| movenet | " in result.stdout and f"| {stage} |" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "big"], "expected WxH"),
        (["--runtime", "onnxruntime"], "not importable"),
        (["--models", "openpose"], "unknown model"),
    ],
)
def test_bench_bad_options_are_one_line(args, message):
    result = hipflex("bench", "--frames", "2", *args)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
