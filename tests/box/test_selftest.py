"""`hipflex selftest` end to end, as a coach runs it: mock pins that narrate (--feedback
timeline), a real video file standing in for the camera, the real default model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, footage_path

CLIP = "supine_knee_raise_right.mp4"
PATTERNS = """
[feedback.patterns]
good_flash_s = 0.05
beep_s = 0.03
beep_gap_s = 0.04
long_tone_s = 0.2
"""
TIMELINE = re.compile(r"^ *\d+\.\d\ds  (\w+) (ON|OFF)(?: (\d+) Hz)?$")


def selftest(*args: str) -> tuple[int, list[tuple[str, str, str]], list[tuple[str, ...]], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "selftest", "--feedback", "timeline", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    checks, timeline = [], []
    for line in proc.stdout.splitlines():
        if m := TIMELINE.match(line):
            timeline.append(m.groups())
        elif line.startswith(("PASS", "FAIL")):
            verdict, rest = line[:4], line[6:]
            name, detail = rest[:12].rstrip(), rest[13:]
            checks.append((verdict, name, detail))
    return proc.returncode, checks, timeline, proc.stdout


def test_every_part_passes_on_a_good_box(tmp_path: Path):
    clip = footage_path(CLIP)
    config = tmp_path / "config.toml"
    config.write_text(
        PATTERNS + '[feedback.pins]\nbar_graph = [5, 6, 13]\n[feedback.buzzer]\nkind = "tonal"\n'
    )
    code, checks, timeline, out = selftest("--config", str(config), "--source", str(clip))
    assert code == 0, out
    assert [(v, n) for v, n, _ in checks] == [
        ("PASS", "config"),
        ("PASS", "green LED"),
        ("PASS", "red LED"),
        ("PASS", "amber LED"),
        ("PASS", "bar graph"),
        ("PASS", "buzzer"),
        ("PASS", "camera"),
        ("PASS", "model"),
    ]
    details = {n: d for _, n, d in checks}
    assert details["config"] == str(config)
    assert details["green LED"].startswith("GPIO17 (pin 11) blinked 3 times")
    assert details["camera"].startswith(f"{clip}: 640x352 frame")
    assert re.match(
        r"blazepose: loaded in [\d.]+ s, [\d.]+ ms per frame \(median of 5", details["model"]
    )
    assert out.rstrip().endswith("8/8 checks passed")
    # What the pins did: three blinks and the read-back for each LED ...
    for led in ("green", "red", "amber"):
        assert [s for name, s, _ in timeline if name == led] == ["ON", "OFF"] * 4
    # ... the bar filled segment by segment and emptied ...
    assert [(n, s) for n, s, _ in timeline if n.startswith("bar")][:3] == [
        ("bar1", "ON"),
        ("bar2", "ON"),
        ("bar3", "ON"),
    ]
    # ... and the tonal buzzer played the beep pitch, then the long tone's.
    assert [(s, hz) for n, s, hz in timeline if n == "buzzer"] == [
        ("ON", "2000"),
        ("OFF", None),
        ("ON", "500"),
        ("OFF", None),
    ]


def test_failures_are_reported_and_the_rest_still_runs(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text("[feedback.pins]\ngreen = 99\n")
    missing = tmp_path / "no_such_clip.mp4"
    code, checks, _, out = selftest("--config", str(config), "--source", str(missing))
    assert code == 1
    verdicts = {n: v for v, n, _ in checks}
    assert verdicts == {
        "config": "FAIL",
        "green LED": "PASS",  # checked with the default wiring
        "red LED": "PASS",
        "amber LED": "PASS",
        "buzzer": "PASS",
        "camera": "FAIL",
        "model": "PASS",  # timed on a blank frame
    }
    details = {n: d for _, n, d in checks}
    assert "feedback.pins.green = 99: must be between 2 and 27" in details["config"]
    assert str(missing) in details["camera"]
    assert out.rstrip().endswith("5/7 checks passed; failed: config, camera")


def test_the_camera_source_is_named_once(tmp_path: Path):
    """A source's own error often starts with its name; the check line says it once."""
    missing = tmp_path / "no_such_clip.mp4"
    for source in ("camera", str(missing)):
        _, checks, _, _ = selftest("--source", source)
        detail = {n: d for _, n, d in checks}["camera"]
        assert detail.startswith(f"{source}: ")
        assert detail.count(f"{source}:") == 1, detail
