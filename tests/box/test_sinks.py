"""The loop's sinks (edge.sinks): one guard for every output, the adapters, and the run's exit
code when the history cannot keep everything.

A sink that raises is named in one error line and switched off for the rest of the run; the
cues and the other sinks go on. Only the history's failure fails the run (exit 1); reps it
still holds in its spool at the end exit EX_TEMPFAIL, reps it lost exit 1.
"""

from __future__ import annotations

import json
import logging
import math
import signal
from pathlib import Path

import numpy as np
import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPWMPin
from synthetic import make_clip

from edge.cli import main
from edge.events import Event
from edge.judge import LiveState
from edge.judge.reps import Rep
from edge.keypoints import save_keypoints
from edge.pose import Pose
from edge.sinks import (
    EX_TEMPFAIL,
    HISTORY_POLL_S,
    HistorySink,
    LiveViewSink,
    RecorderSink,
    Sinks,
)

GREEN, BUZZER = 17, 18
OFF = "is off for the rest of this run"
POSE = Pose(keypoints=np.zeros((17, 3), np.float32))


class FakeSink:
    def __init__(self, name: str, essential: bool = False, fail_on: str | None = None,
                 code: int = 0):  # fmt: skip
        self.name, self.essential, self.fail_on, self.code = name, essential, fail_on, code
        self.events: list[Event] = []
        self.frames: list[float] = []
        self.closed = False

    def _maybe_fail(self, what: str) -> None:
        if self.fail_on == what:
            raise RuntimeError(f"{self.name} broke")

    def on_event(self, event: Event) -> None:
        self._maybe_fail("event")
        self.events.append(event)

    def on_frame(self, t, image, pose, live) -> None:
        self._maybe_fail("frame")
        self.frames.append(t)

    def close(self) -> int:
        self._maybe_fail("close")
        self.closed = True
        return self.code


def filled(*sinks: FakeSink) -> Sinks:
    out = Sinks()
    for sink in sinks:
        out.add(sink)
    return out


def off_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if OFF in r.getMessage()]


# ------------------------------------------------------------------ the guard


@pytest.mark.parametrize("fail_on", ["event", "frame"])
def test_a_failing_sink_is_reported_once_and_disabled_and_the_others_go_on(caplog, fail_on):
    before, bad, after = FakeSink("before"), FakeSink("bad", fail_on=fail_on), FakeSink("after")
    sinks = filled(before, bad, after)
    live = LiveState()
    with caplog.at_level(logging.ERROR, logger="hipflex.run"):
        for i in range(4):
            sinks.on_event(Event(float(i), "status", {"status": "ok"}))
            sinks.on_frame(float(i), None, POSE, live)
        code = sinks.close()
    assert off_lines(caplog) == [f"bad: RuntimeError: bad broke; bad {OFF}"]
    assert sinks.names == [] and code == 0  # not essential: the run is still a success
    for good in (before, after):
        assert len(good.events) == 4 and good.frames == [0.0, 1.0, 2.0, 3.0] and good.closed
    assert not bad.closed  # a broken sink is dropped, not closed (its close would fail too)


def test_an_essential_sink_failing_makes_the_run_exit_1(caplog):
    history, other = FakeSink("history", essential=True, fail_on="event"), FakeSink("other")
    sinks = filled(history, other)
    with caplog.at_level(logging.ERROR, logger="hipflex.run"):
        sinks.on_event(Event(0.0, "set", {"set": 1, "leg": "left"}))
        sinks.on_event(Event(1.0, "set", {"set": 2, "leg": "left"}))
    assert sinks.exit_code == 1 and sinks.names == ["other"]
    assert len(other.events) == 2 and len(off_lines(caplog)) == 1
    assert sinks.close() == 1


def test_an_essential_sink_failing_to_close_makes_the_run_exit_1(caplog):
    sinks = filled(FakeSink("history", essential=True, fail_on="close"), FakeSink("other"))
    with caplog.at_level(logging.ERROR, logger="hipflex.run"):
        assert sinks.close() == 1
    assert off_lines(caplog) == [f"history: RuntimeError: history broke; history {OFF}"]


@pytest.mark.parametrize("codes", [(EX_TEMPFAIL, 1), (1, EX_TEMPFAIL), (0, EX_TEMPFAIL)])
def test_a_lost_record_outweighs_a_spooled_one_at_close(codes):
    sinks = filled(*(FakeSink(f"s{i}", code=c) for i, c in enumerate(codes)))
    assert sinks.close() == (1 if 1 in codes else EX_TEMPFAIL)


def test_history_goes_first_whenever_it_is_added():
    sinks = filled(FakeSink("journal"), FakeSink("events file"))
    sinks.add(None)  # a sink that could not open (the live view, the recorder) is left out
    sinks.add(FakeSink("history"), first=True)
    assert sinks.names == ["history", "journal", "events file"]


# ------------------------------------------------------------------ the adapters


class FakeHistory:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.spooled_reps = self.lost_reps = 0
        self.spool_path = Path("/var/lib/hipflex/hipflex.db.spool")

    def record(self, event):
        self.calls.append(("record", event.type))

    def sample(self, *args):
        self.calls.append(("sample", *args))

    def poll(self):
        self.calls.append(("poll",))

    def end_session(self, duration_s):
        self.calls.append(("end_session", duration_s))

    def close(self):
        self.calls.append(("close",))


def test_history_sink_samples_each_frame_polls_each_second_and_ends_at_the_last_frame():
    now = [100.0]
    history = FakeHistory()
    sink = HistorySink(history, clock=lambda: now[0])
    live = LiveState(hip_flexion_deg=[10.0, 80.0], knee_flexion_deg=[5.0, 90.0])
    for i in range(5):
        sink.on_frame(i * 0.4, None, POSE, live)
        now[0] += 0.4
    assert history.calls.count(("poll",)) == 2  # at 100.0 and 101.2: once per HISTORY_POLL_S
    assert HISTORY_POLL_S == 1.0
    assert ("sample", 0.8, 10.0, 80.0, 5.0, 90.0) in history.calls
    assert sink.close() == 0
    assert history.calls[-2:] == [("end_session", 1.6), ("close",)]


@pytest.mark.parametrize(("spooled", "lost", "code"),
                         [(3, 0, EX_TEMPFAIL), (0, 2, 1), (3, 2, 1), (0, 0, 0)])  # fmt: skip
def test_history_sink_close_says_spooled_or_lost(caplog, spooled, lost, code):
    history = FakeHistory()
    sink = HistorySink(history)
    history.spooled_reps, history.lost_reps = spooled, lost
    with caplog.at_level(logging.ERROR, logger="hipflex.run"):
        assert sink.close() == code
    said = [r.getMessage() for r in caplog.records if "reps are spooled in" in r.getMessage()]
    assert said == ([f"history: 3 reps are spooled in {history.spool_path}, not yet in the "
                     "database; they are written when hipflex next starts with space free"]
                    if spooled else [])  # fmt: skip


def rep(index: int, leg: str, faults: list[str]) -> Rep:
    return Rep(index, leg, 1, 0.0, 1.0, 2.0, 90.0, 90.0, None, 1.0, faults)


def test_live_view_sink_publishes_the_judges_counts_and_faults():
    class Feed:
        def __init__(self):
            self.published: list[dict] = []

        def due(self):
            return True

        def publish(self, state):
            self.published.append(state)

        def close(self):
            pass

    live = LiveState(status="ok", working_leg="left", set=1)
    live.hip_flexion_deg[0] = 88.04
    live.count(3.0, rep(1, "left", []))
    live.count(6.0, rep(2, "left", ["short_range", "too_fast"]))
    now = [0.0]
    feed = Feed()
    sink = LiveViewSink(feed, "mia", clock=lambda: now[0])
    for t in (0.0, 0.1, 0.2):
        now[0] = t
        sink.on_frame(t, None, POSE, live)
    state = feed.published[-1]
    assert state["athlete"] == "mia" and state["status"] == "ok" and state["fps"] == 10.0
    assert state["legs"]["left"] == {"hip_flexion_deg": 88.0, "knee_flexion_deg": None,
                                     "reps": 2, "good_reps": 1}  # fmt: skip
    assert state["last_faults"] == [
        {"t": 6.0, "leg": "left", "fault": "short_range", "rep": 2},
        {"t": 6.0, "leg": "left", "fault": "too_fast", "rep": 2},
    ]
    assert json.loads(json.dumps(state)) == state


def test_live_state_keeps_the_five_latest_faults_and_counts_good_reps_per_leg():
    live = LiveState()
    for i in range(1, 5):
        live.count(float(i), rep(i, "right", ["short_range", "knee_angle"]))
    live.count(5.0, rep(5, "left", []))
    assert live.reps == {"left": 1, "right": 4} and live.good_reps == {"left": 1, "right": 0}
    assert [f["rep"] for f in live.recent_faults] == [2, 3, 3, 4, 4]
    assert live.last_faults == []  # the last rep's own faults


def test_recorder_sink_draws_the_live_angles_and_skips_frames_without_an_image():
    class Recorder:
        def __init__(self):
            self.frames: list = []

        def frame(self, t, rgb, pose, angles):
            self.frames.append((t, rgb.shape, angles))

    live = LiveState(hip_flexion_deg=[1.0, 2.0], knee_flexion_deg=[3.0, math.nan])
    sink = RecorderSink(Recorder())
    sink.on_frame(0.5, None, POSE, live)
    sink.on_frame(1.0, np.zeros((4, 6, 3), np.uint8), POSE, live)
    assert sink.recorder.frames == [(1.0, (4, 6, 3), (live.hip_flexion_deg,
                                                      live.knee_flexion_deg))]  # fmt: skip


# ------------------------------------------------------------------ through `hipflex run`


@pytest.fixture
def mock_pins():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    factory = MockFactory(pin_class=MockPWMPin)
    previous = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    Device.pin_factory = previous
    for s, handler in saved.items():
        signal.signal(s, handler)


def run_box(tmp_path: Path, *extra: str, code: int = 0) -> list[dict]:
    """`hipflex run --fast` over 6 good reps, expecting exit `code`; the events written."""
    npz, events = tmp_path / "clip.npz", tmp_path / "events.jsonl"
    save_keypoints(npz, make_clip(3, fault_rate=0.0).track)
    got = main(["run", "--source", str(npz), "--fast", "--db", str(tmp_path / "h.db"),
                "--events", str(events), *extra])  # fmt: skip
    assert got == code
    return [json.loads(line) for line in events.read_text().splitlines()]


def cues(pins: MockFactory) -> tuple[int, int]:
    """(green flashes, beeps) so far."""
    return tuple(sum(s.state == 1.0 for s in pins.pin(p).states) for p in (GREEN, BUZZER))


def test_a_live_view_that_breaks_mid_run_is_one_line_and_the_cues_and_history_go_on(
    tmp_path, mock_pins, monkeypatch, capfd
):
    frames = {"n": 0}
    real = LiveViewSink.on_frame

    def on_frame(self, *args):
        frames["n"] += 1
        if frames["n"] > 50:
            raise OSError(28, "No space left on device")
        real(self, *args)

    monkeypatch.setattr(LiveViewSink, "on_frame", on_frame)
    events = run_box(tmp_path, "--socket", str(tmp_path / "live.sock"))
    reps = [e for e in events if e["type"] == "rep"]
    assert len(reps) == 6 and cues(mock_pins) == (6, 6)
    assert frames["n"] == 51  # never called again after it broke
    said = [line for line in capfd.readouterr().err.splitlines() if OFF in line]
    assert len(said) == 1
    assert said[0].endswith(
        f"live view: OSError: [Errno 28] No space left on device; live view {OFF}"
    )


def test_history_failing_mid_run_exits_1_with_every_cue(tmp_path, mock_pins, monkeypatch, capfd):
    from edge.history import History

    calls = {"n": 0}
    real = History.sample

    def sample(self, *args):
        calls["n"] += 1
        if calls["n"] == 100:
            raise ValueError("a sample the store cannot take")
        real(self, *args)

    monkeypatch.setattr(History, "sample", sample)
    events = run_box(tmp_path, "--no-live-view", code=1)
    assert len([e for e in events if e["type"] == "rep"]) == 6 and cues(mock_pins) == (6, 6)
    err = capfd.readouterr().err
    assert sum(f"history {OFF}" in line for line in err.splitlines()) == 1
    assert "history: ValueError: a sample the store cannot take" in err


@pytest.mark.parametrize(("spooled", "lost", "code"), [(2, 0, EX_TEMPFAIL), (2, 1, 1)])
def test_reps_left_spooled_exit_75_and_reps_lost_exit_1(
    tmp_path, mock_pins, monkeypatch, spooled, lost, code
):
    from edge.history import History

    real = History.close

    def close(self):
        real(self)
        self.spooled_reps, self.lost_reps = spooled, lost

    monkeypatch.setattr(History, "close", close)
    events = run_box(tmp_path, "--no-live-view", code=code)
    assert len([e for e in events if e["type"] == "rep"]) == 6 and cues(mock_pins) == (6, 6)
