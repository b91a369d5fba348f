"""`hipflex analyze`: the JSON schema contract, the footage expectations of MANIFEST.md,
live == batch on real footage, and the command as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REFERENCE, REPO, footage_path
from synthetic import make_clip

from edge.analysis import analyze_track, render_table
from edge.judge import FAULTS, StreamingJudge, judge_clip
from edge.keypoints import load_keypoints, save_keypoints

REP_KEYS = {"index": int, "leg": str, "set": int, "start_s": float, "peak_s": float,
            "end_s": float, "peak_hip_flexion_deg": float, "knee_flexion_at_peak_deg": float,
            "pelvis_tilt_deg": float, "lift_s": float, "faults": list}  # fmt: skip
TOP_KEYS = {"source": str, "model": str, "fps": float, "frames": int, "duration_s": float,
            "status": list, "reps": list, "summary": dict}  # fmt: skip


def check_schema(doc: dict) -> None:
    """Exactly the keys and types of the issue's schema (a number may be an int)."""

    def typed(value, kind):
        if kind is float:
            return isinstance(value, int | float) and not isinstance(value, bool)
        return isinstance(value, kind) and not (kind is int and isinstance(value, bool))

    assert set(doc) == set(TOP_KEYS)
    assert all(typed(doc[k], kind) for k, kind in TOP_KEYS.items())
    for period in doc["status"]:
        assert set(period) == {"start_s", "end_s", "status"}
        assert period["status"] in ("not_lying", "tracking_lost", "no_athlete")
        assert period["start_s"] <= period["end_s"]
    for rep in doc["reps"]:
        assert set(rep) == set(REP_KEYS)
        assert all(typed(rep[k], kind) for k, kind in REP_KEYS.items()), rep
        assert rep["leg"] in ("left", "right")
        assert set(rep["faults"]) <= set(FAULTS)
        assert rep["start_s"] <= rep["peak_s"] <= rep["end_s"]
    s = doc["summary"]
    assert set(s) == {"reps", "good_reps", "by_leg", "faults"}
    assert s["reps"] == len(doc["reps"]) == s["by_leg"]["left"] + s["by_leg"]["right"]
    assert s["good_reps"] == sum(not r["faults"] for r in doc["reps"])
    assert set(s["faults"]) <= set(FAULTS)


def check_manifest(name: str, doc: dict) -> None:
    """What ../shared/footage/MANIFEST.md says `hipflex analyze` must report."""
    reps = doc["reps"]
    if name == "supine_knee_raise_right":
        assert len(reps) == 1 and reps[0]["leg"] == "right"
        assert "knee_angle" in reps[0]["faults"]
    elif name == "supine_straight_leg_raise":
        assert len(reps) == 1
        assert {"short_range", "knee_angle"} <= set(reps[0]["faults"])
        assert abs(reps[0]["knee_flexion_at_peak_deg"]) < 30  # the knee stays straight
    elif name == "side_dish_and_tucks":
        assert 3 <= len(reps) <= 5
        assert all("chest_lift" in r["faults"] for r in reps)
    elif name == "glute_bridge":
        assert reps == []
    elif name == "walking_two_people":
        assert reps == []
        assert any(p["status"] == "not_lying" for p in doc["status"])


CLIPS = ["supine_knee_raise_right", "supine_straight_leg_raise", "side_dish_and_tucks",
         "glute_bridge", "walking_two_people"]  # fmt: skip


@pytest.mark.parametrize("name", CLIPS)
def test_reference_tracks_meet_the_manifest(name):
    """mediapipe's own BlazePose output on the clips: fast, and the same expectations."""
    path = REFERENCE / f"{name}.npz"
    if not path.exists():
        pytest.skip(f"{path} not present")
    doc = analyze_track(load_keypoints(path), source=str(path))
    check_schema(doc)
    check_manifest(name, doc)


@pytest.mark.footage
@pytest.mark.slow
@pytest.mark.parametrize("name", CLIPS)
def test_footage_through_the_default_model_meets_the_manifest(pose_track, name):
    doc = analyze_track(pose_track(f"{name}.mp4"), source=name)
    check_schema(doc)
    check_manifest(name, doc)


def stream_events(track):
    judge = StreamingJudge(track.fps)
    events = []
    for i in range(track.frames):
        lm = None if track.landmarks is None else track.landmarks[i]
        events += judge.update(i / track.fps, track.keypoints[i], lm)
    return events + list(judge.finish())


@pytest.mark.footage
@pytest.mark.slow
@pytest.mark.parametrize("name", ["supine_knee_raise_right", "side_dish_and_tucks"])
def test_live_equals_batch_on_real_footage(pose_track, name):
    track = pose_track(f"{name}.mp4")
    batch = judge_clip(track.keypoints, track.landmarks, track.fps).events
    assert any(e.type == "rep" for e in batch)
    assert [e.to_json() for e in stream_events(track)] == [e.to_json() for e in batch]


@pytest.mark.parametrize("name", CLIPS)
def test_live_equals_batch_on_reference_tracks(name):
    path = REFERENCE / f"{name}.npz"
    if not path.exists():
        pytest.skip(f"{path} not present")
    track = load_keypoints(path)
    batch = judge_clip(track.keypoints, track.landmarks, track.fps).events
    assert [e.to_json() for e in stream_events(track)] == [e.to_json() for e in batch]


def hipflex(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_cli_json_one_object_per_input(tmp_path):
    clip = make_clip(7)
    synthetic = tmp_path / "synthetic.npz"
    save_keypoints(synthetic, clip.track)
    reference = REFERENCE / "supine_knee_raise_right.npz"
    inputs = [str(synthetic)] + ([str(reference)] if reference.exists() else [])
    proc = hipflex("analyze", "--json", *inputs)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(inputs)
    docs = [json.loads(line) for line in lines]
    for doc, source in zip(docs, inputs, strict=True):
        check_schema(doc)
        assert doc["source"] == source
    assert [r["leg"] for r in docs[0]["reps"]] == [r.leg for r in clip.reps]
    assert docs[0]["frames"] == clip.track.frames and docs[0]["model"] == "synthetic"


@pytest.mark.footage
def test_cli_json_on_a_video():
    video = footage_path("glute_bridge.mp4")
    proc = hipflex("analyze", "--json", str(video))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    check_schema(doc)
    assert doc["model"] == "blazepose" and doc["frames"] == 91 and doc["reps"] == []


def test_cli_table(tmp_path):
    clip = make_clip(3)
    path = tmp_path / "clip.npz"
    save_keypoints(path, clip.track)
    proc = hipflex("analyze", str(path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "rep  set  leg" in out and "summary:" in out
    assert out.count("\n  ") >= len(clip.reps)
    assert out == render_table(analyze_track(clip.track, source=str(path))) + "\n"


def test_cli_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "notes.npz"
    bad.write_text("not a keypoints file")
    proc = hipflex("analyze", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "not a readable keypoints" in proc.stderr
