"""Realistic `analyze --json` results and angle series, built by hand for the history, report
and live-view tests (the judge is tested on its own; these tests must not depend on it).

A session is a list of sets; each rep is a raised-cosine lift of the working leg's hip from
about 10° to its peak, with the knee bending toward its value at the top.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np


def make_analysis(
    seed: int = 0,
    sets: tuple[tuple[str, int], ...] = (("right", 8), ("left", 8)),
    fault_rate: dict[str, float] | None = None,
    fps: float = 30.0,
) -> dict[str, Any]:
    """An analyze result: `sets` as (leg, reps); faults drawn with `fault_rate` per rep
    (lumbar rounding more often on the left, as in the issue's example athlete)."""
    rng = random.Random(seed)
    rates = fault_rate or {
        "lumbar_rounding": 0.15,
        "too_fast": 0.1,
        "knee_angle": 0.1,
        "short_range": 0.05,
    }
    t = 4.0  # settling into position
    reps, index = [], 0
    for set_number, (leg, count) in enumerate(sets, start=1):
        for _ in range(count):
            index += 1
            lift = round(rng.uniform(0.8, 1.4), 3)
            lower = round(rng.uniform(0.9, 1.5), 3)
            faults = sorted(
                name
                for name, rate in rates.items()
                if rng.random() < rate * (2.0 if name == "lumbar_rounding" and leg == "left" else 1)
            )
            peak_hip = rng.uniform(72.0, 79.0) if "short_range" in faults else rng.uniform(84, 100)
            knee = rng.uniform(60, 68) if "knee_angle" in faults else rng.uniform(82, 98)
            pelvis = rng.uniform(15, 20) if "lumbar_rounding" in faults else rng.uniform(5, 9)
            if "too_fast" in faults:
                lift = round(rng.uniform(0.35, 0.55), 3)
            reps.append(
                {
                    "index": index,
                    "leg": leg,
                    "set": set_number,
                    "start_s": round(t, 3),
                    "peak_s": round(t + lift, 3),
                    "end_s": round(t + lift + lower, 3),
                    "peak_hip_flexion_deg": round(peak_hip, 1),
                    "knee_flexion_at_peak_deg": round(knee, 1),
                    "pelvis_tilt_deg": round(pelvis, 1),
                    "lift_s": lift,
                    "faults": faults,
                }
            )
            t += lift + lower + rng.uniform(0.2, 0.6)
        t += 12.0  # rest and switch legs
    duration = round(t, 3)
    status = [
        {"start_s": 0.0, "end_s": 2.5, "status": "no_athlete"},
        {"start_s": 2.5, "end_s": 3.6, "status": "not_lying"},
        {
            "start_s": round(duration - 8.0, 3),
            "end_s": round(duration - 6.5, 3),
            "status": "tracking_lost",
        },
    ]
    return {
        "source": f"session-{seed}.npz",
        "model": "blazepose",
        "fps": fps,
        "frames": int(duration * fps),
        "duration_s": duration,
        "status": status,
        "reps": reps,
        "summary": expected_summary(reps),
    }


def expected_summary(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary written out longhand, independent of edge.analysis.summarize."""
    faults: dict[str, int] = {}
    for rep in reps:
        for name in rep["faults"]:
            faults[name] = faults.get(name, 0) + 1
    return {
        "reps": len(reps),
        "good_reps": len([r for r in reps if r["faults"] == []]),
        "by_leg": {
            "left": len([r for r in reps if r["leg"] == "left"]),
            "right": len([r for r in reps if r["leg"] == "right"]),
        },
        "faults": faults,
    }


def make_series(analysis: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per-frame hip and knee flexion ([left, right] columns) consistent with the reps."""
    fps = analysis["fps"]
    t = np.arange(int(analysis["duration_s"] * fps)) / fps
    hip = np.full((len(t), 2), 8.0)
    knee = np.full((len(t), 2), 4.0)
    for rep in analysis["reps"]:
        col = 0 if rep["leg"] == "left" else 1
        up = (t >= rep["start_s"]) & (t <= rep["peak_s"])
        down = (t > rep["peak_s"]) & (t <= rep["end_s"])
        rise = 0.5 - 0.5 * np.cos(
            np.pi * (t[up] - rep["start_s"]) / (rep["peak_s"] - rep["start_s"])
        )
        fall = 0.5 + 0.5 * np.cos(
            np.pi * (t[down] - rep["peak_s"]) / (rep["end_s"] - rep["peak_s"])
        )
        hip[up, col] = 8.0 + (rep["peak_hip_flexion_deg"] - 8.0) * rise
        hip[down, col] = 8.0 + (rep["peak_hip_flexion_deg"] - 8.0) * fall
        knee[up, col] = 4.0 + (rep["knee_flexion_at_peak_deg"] - 4.0) * rise
        knee[down, col] = 4.0 + (rep["knee_flexion_at_peak_deg"] - 4.0) * fall
    return {"t": t, "hip_flexion": hip, "knee_flexion": knee}
