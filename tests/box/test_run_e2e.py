"""`hipflex run --source keypoints.npz --fast` as the box would run it, on mock pins.

The pin histories are compared whole. A --fast run keeps its cues in the clip's time
(edge.cues), so the histories are the same on every run and the timeline's stamps are the
clip's seconds, which the tests line up with the events file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin
from synthetic import make_clip

from edge.cli import main
from edge.config.feedback import FeedbackConfig
from edge.keypoints import KeypointTrack, save_keypoints

GREEN, RED, AMBER, BUZZER = 17, 27, 22, 18
PATTERNS = FeedbackConfig().patterns
TIMELINE = re.compile(r"^ *(\d+\.\d\d)s  (\w+) (ON|OFF)")


@pytest.fixture
def mock_pins():
    factory = MockFactory(pin_class=MockPWMPin)
    previous = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    Device.pin_factory = previous


def states(factory: MockFactory, pin: int) -> list[float]:
    return [float(s.state) for s in factory.pin(pin).states]


def run_box(npz: Path, tmp_path: Path, *extra: str) -> list[dict]:
    events = tmp_path / "events.jsonl"
    code = main(
        ["run", "--source", str(npz), "--fast", "--no-live-view",
         "--db", str(tmp_path / "h.db"), "--events", str(events), *extra]
    )  # fmt: skip
    assert code == 0
    return [json.loads(line) for line in events.read_text().splitlines()]


def clip_file(tmp_path: Path, seed: int, fault_rate: float, tail_gone_s: float = 0.0):
    clip = make_clip(seed, fault_rate=fault_rate)
    track = clip.track
    if tail_gone_s:
        n = int(tail_gone_s * track.fps)
        gone = np.zeros((n, 17, 3), np.float32)
        landmarks = track.landmarks
        if landmarks is not None:
            landmarks = np.concatenate([landmarks, np.zeros((n, 33, 4), np.float32)])
        track = KeypointTrack(
            np.concatenate([track.keypoints, gone]),
            track.fps, track.width, track.height, track.model, landmarks,
        )  # fmt: skip
    path = tmp_path / f"seed{seed}.npz"
    save_keypoints(path, track)
    return path, clip


def test_n_good_reps_give_n_green_flashes_and_n_beeps(tmp_path, mock_pins):
    npz, clip = clip_file(tmp_path, seed=3, fault_rate=0.0)
    assert len(clip.reps) == 6 and not any(r.faults for r in clip.reps)
    events = run_box(npz, tmp_path)
    reps = [e for e in events if e["type"] == "rep"]
    assert [r["faults"] for r in reps] == [[]] * 6
    assert states(mock_pins, GREEN) == [0.0] + [1.0, 0.0] * 6
    assert states(mock_pins, BUZZER) == [0.0] + [1.0, 0.0] * 6
    assert states(mock_pins, RED) == [0.0]
    # Waiting at start (slow blink), then "ok" turns it off; off again after close.
    amber = states(mock_pins, AMBER)
    assert amber[:2] == [0.0, 1.0] and amber[-1] == 0.0


def test_lumbar_rounding_lights_red_and_sounds_the_long_tone_before_the_rep_ends(
    tmp_path, mock_pins
):
    npz, clip = clip_file(tmp_path, seed=15, fault_rate=0.45)
    assert [sorted(r.faults) for r in clip.reps] == [[], ["lumbar_rounding"], []]
    events = run_box(npz, tmp_path)
    live = [e for e in events if e["type"] == "fault"]
    reps = [e for e in events if e["type"] == "rep"]
    assert [r["faults"] for r in reps] == [[], ["lumbar_rounding"], []]
    assert [(f["fault"], f["rep"]) for f in live] == [("lumbar_rounding", 2)]
    assert reps[1]["start_s"] < live[0]["t"] < reps[1]["end_s"]
    # Green for the good reps; red once during the lift (the live cue) and once at the rep's
    # end; the buzzer: beep, the long tone (no double beep: its only fault was cued live), beep.
    assert states(mock_pins, GREEN) == [0.0, 1.0, 0.0, 1.0, 0.0]
    # Red from the live cue; the rep's end, within the 1.5 s fault flash here, keeps it lit.
    assert reps[1]["end_s"] - live[0]["t"] < PATTERNS.fault_flash_s
    assert states(mock_pins, RED) == [0.0, 1.0, 0.0]
    assert states(mock_pins, BUZZER) == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def timeline(npz: Path, tmp_path: Path) -> tuple[list[tuple[float, str, str]], list[dict]]:
    events = tmp_path / "events.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(npz), "--fast",
         "--feedback", "timeline", "--no-live-view", "--db", str(tmp_path / "t.db"),
         "--events", str(events)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    lines = [TIMELINE.match(line) for line in out.stdout.splitlines()]
    assert all(lines), out.stdout
    cues = [(float(m[1]), m[2], m[3]) for m in lines]
    return cues, [json.loads(line) for line in events.read_text().splitlines()]


def test_long_tone_plays_during_the_lift_in_clip_time(tmp_path):
    npz, _ = clip_file(tmp_path, seed=15, fault_rate=0.45)
    cues, events = timeline(npz, tmp_path)
    fault = next(e for e in events if e["type"] == "fault")
    rep = next(e for e in events if e["type"] == "rep" and e["index"] == fault["rep"])
    buzzer = [(t, s) for t, name, s in cues if name == "buzzer"]
    red = [(t, s) for t, name, s in cues if name == "red"]
    on = next(i for i, (t, s) in enumerate(buzzer) if s == "ON" and abs(t - fault["t"]) <= 0.01)
    assert buzzer[on + 1][1] == "OFF"
    assert buzzer[on + 1][0] - buzzer[on][0] == pytest.approx(PATTERNS.long_tone_s, abs=0.02)
    assert (round(fault["t"], 2), "ON") in [(round(t, 2), s) for t, s in red]
    assert buzzer[on][0] < rep["end_s"]


def test_status_light_blinks_when_the_athlete_leaves_the_frame(tmp_path):
    npz, _ = clip_file(tmp_path, seed=3, fault_rate=0.0, tail_gone_s=4.0)
    cues, events = timeline(npz, tmp_path)
    statuses = [(e["t"], e["status"]) for e in events if e["type"] == "status"]
    left_at, gone = statuses[-1]
    assert gone == "no_athlete"
    amber = [(t, s) for t, name, s in cues if name == "amber" and t >= left_at - 0.01]
    # Blinking, on the slow period, from the moment the athlete is gone to the end.
    half = 0.5 / PATTERNS.slow_blink_hz
    assert [s for _, s in amber[:4]] == ["ON", "OFF", "ON", "OFF"]
    assert np.diff([t for t, _ in amber[:4]]) == pytest.approx([half] * 3, abs=0.02)


def test_logging_level_comes_from_the_config_unless_the_command_line_sets_it(tmp_path):
    npz, _ = clip_file(tmp_path, seed=0, fault_rate=0.0)
    config = tmp_path / "config.toml"
    config.write_text('[logging]\nlevel = "WARNING"\n')
    base = [sys.executable, "-m", "edge"]
    run = ["run", "--source", str(npz), "--fast", "--feedback", "mock", "--no-live-view",
           "--db", str(tmp_path / "h.db"), "--config", str(config)]  # fmt: skip
    quiet = subprocess.run(base + run, capture_output=True, text=True, timeout=120, check=True)
    assert "running on" not in quiet.stderr and '"type": "rep"' not in quiet.stderr
    loud = subprocess.run(
        [*base, "--log-level", "info", *run],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "running on" in loud.stderr and '"type": "rep"' in loud.stderr
