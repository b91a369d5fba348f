"""Feedback on mock pins: the whole history of every pin, for every cue.

The cues run on the media-time scheduler (as under `hipflex run --fast`), which the tests
advance by hand, so every pin change is asserted at its exact time and nothing can be late.
Two tests keep the live scheduler's worker thread, where the real-time path is the point:
a call never waits for its cue, and the thread never plays a cue early.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.config.feedback import FeedbackConfig
from edge.cues import Scheduler
from edge.events import Event
from edge.feedback import Feedback

GREEN, RED, AMBER, BUZZER = 17, 27, 22, 18
BAR = (5, 6, 13, 19, 26)
FAST = {
    "good_flash_s": 0.05,
    "fault_flash_s": 0.1,
    "beep_s": 0.03,
    "beep_gap_s": 0.04,
    "long_tone_s": 0.3,
    "slow_blink_hz": 5.0,
    "fast_blink_hz": 20.0,
}
LATER = 60.0  # media time by which every cue has long played out


def config(**sections: dict) -> FeedbackConfig:
    sections.setdefault("patterns", FAST)
    return FeedbackConfig.model_validate(sections)


class MediaPin(MockPWMPin):
    """A mock pin that stamps each change with the cue scheduler's media time."""

    clock: Callable[[], float]

    def clear_states(self) -> None:
        super().clear_states()
        self.changes = [(self.clock(), self._state)]

    def _change_state(self, value: float) -> bool:
        changed = super()._change_state(value)
        if changed:
            self.changes.append((self.clock(), value))
        return changed


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    media = Scheduler(media_time=True)
    yield media
    media.close()


@pytest.fixture
def factory(scheduler: Scheduler) -> MockFactory:
    pin = type("Pin", (MediaPin,), {"clock": staticmethod(scheduler.now)})
    return MockFactory(pin_class=pin)


@pytest.fixture
def make(factory: MockFactory, scheduler: Scheduler) -> Iterator[Callable[..., Feedback]]:
    made: list[Feedback] = []

    def build(**sections: dict) -> Feedback:
        fb = Feedback(config(**sections), pin_factory=factory, scheduler=scheduler)
        made.append(fb)
        return fb

    yield build
    for fb in made:
        fb.close()


def history(factory: MockFactory, bcm: int) -> list[tuple[float, float]]:
    """A pin's whole history since it was made: (media time to the µs, state)."""
    return [(round(t, 6), state) for t, state in factory.pin(bcm).changes]


def lit(*spans: tuple[float, float], start: float = 0.0) -> list[tuple[float, float]]:
    """The history of a pin made at `start`, off at first, on during each (on, off) span."""
    changes = [(t, v) for on, off in spans for t, v in ((on, 1.0), (off, 0.0))]
    return [(start, False), *[(round(t, 6), v) for t, v in changes]]


def states(factory: MockFactory, bcm: int) -> list[float]:
    return [s.state for s in factory.pin(bcm).states]


def rep(*faults: str) -> Event:
    return Event(0.0, "rep", {"index": 1, "leg": "right", "faults": list(faults)})


def live(fault: str) -> Event:
    return Event(0.0, "fault", {"fault": fault, "leg": "right", "rep": 1})


def status(name: str) -> Event:
    return Event(0.0, "status", {"status": name})


@pytest.mark.parametrize("n", [1, 2, 4])
def test_n_good_reps_give_n_green_flashes_and_n_short_beeps(make, factory, n):
    fb = make()
    for k in range(n):
        fb.advance(float(k))
        fb.on_event(rep())
    fb.advance(LATER)
    assert history(factory, GREEN) == lit(*[(k, k + 0.05) for k in range(n)])
    assert history(factory, BUZZER) == lit(*[(k, k + 0.03) for k in range(n)])
    assert history(factory, RED) == history(factory, AMBER) == lit()


def test_live_lumbar_rounding_lights_red_and_sounds_the_long_tone_at_once(make, factory):
    fb = make()
    fb.on_event(live("lumbar_rounding"))
    # Both are on before any rep event arrives.
    assert fb.devices["red"].is_active and fb.devices["buzzer"].is_active
    fb.advance(LATER)
    assert history(factory, RED) == lit((0, 0.1))
    assert history(factory, BUZZER) == lit((0, 0.3))  # the long tone, not a 0.03 s beep
    assert history(factory, GREEN) == lit()


def test_rep_whose_only_fault_was_cued_live_does_not_beep_again(make, factory):
    fb = make()
    fb.on_event(live("lumbar_rounding"))
    fb.on_event(live("lumbar_rounding"))  # the judge may repeat it: still one tone
    fb.advance(0.05)
    fb.on_event(rep("lumbar_rounding"))  # the red flash restarts; no beep
    fb.advance(1.0)
    assert history(factory, RED) == lit((0, 0.15))
    assert history(factory, BUZZER) == lit((0, 0.3))
    assert history(factory, GREEN) == lit()
    # The next rep with the same fault starts afresh: the live set was spent on this rep.
    fb.on_event(rep("lumbar_rounding"))
    fb.advance(LATER)
    assert history(factory, BUZZER) == lit((0, 0.3), (1, 1.03), (1.07, 1.1))


def test_other_faults_of_a_live_cued_rep_beep_twice_after_the_tone(make, factory):
    fb = make()
    fb.on_event(live("lumbar_rounding"))
    fb.on_event(rep("lumbar_rounding", "chest_lift"))
    fb.advance(LATER)
    # Queued after the tone, not cutting it: a gap, a beep, a gap, a beep.
    assert history(factory, BUZZER) == lit((0, 0.3), (0.34, 0.37), (0.41, 0.44))


def test_faulty_rep_lights_red_and_beeps_twice(make, factory):
    fb = make()
    fb.on_event(rep("chest_lift", "too_fast"))
    fb.advance(LATER)
    assert history(factory, RED) == lit((0, 0.1))
    assert history(factory, BUZZER) == lit((0, 0.03), (0.07, 0.1))
    assert history(factory, GREEN) == lit()


def test_live_fault_without_a_sound_of_its_own_only_lights_red(make, factory):
    fb = make()
    fb.on_event(live("chest_lift"))
    fb.advance(1.0)
    assert history(factory, RED) == lit((0, 0.1))
    assert history(factory, BUZZER) == lit()
    fb.on_event(rep("chest_lift"))
    fb.advance(LATER)
    assert history(factory, RED) == lit((0, 0.1), (1, 1.1))
    assert history(factory, BUZZER) == lit((1, 1.03), (1.07, 1.1))


def test_long_tone_interrupts_a_beep_and_off_cuts_the_tone(make, factory):
    fb = make(patterns={**FAST, "long_tone_s": 5.0})
    fb.on_event(rep())
    fb.advance(0.01)
    fb.on_event(live("lumbar_rounding"))  # the beep (due off at 0.03) becomes the tone
    fb.advance(0.02)
    fb.off()
    fb.advance(LATER)
    assert history(factory, BUZZER) == lit((0, 0.02))
    assert history(factory, GREEN) == lit((0, 0.02))
    assert history(factory, RED) == lit((0.01, 0.02))


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_a_live_cue_never_makes_the_caller_wait_and_the_worker_thread_plays_it_out():
    """The real-time path: the live scheduler's own thread, on the wall clock."""
    factory = MockFactory(pin_class=MockPWMPin)
    fb = Feedback(config(patterns={**FAST, "long_tone_s": 5.0}), pin_factory=factory)
    try:
        started = time.monotonic()
        fb.on_event(rep())
        fb.on_event(live("lumbar_rounding"))
        assert time.monotonic() - started < 1.0  # a 5 s tone is due: nothing waited for it
        assert states(factory, BUZZER)[-1] == 1.0
        wait_for(lambda: states(factory, GREEN) == [False, 1.0, 0.0])
        assert factory.pin(GREEN).states[2].timestamp >= FAST["good_flash_s"]  # never early
        fb.off()
        assert states(factory, BUZZER)[-1] == 0.0
        time.sleep(0.1)  # nothing on the worker thread turns it on again
        assert states(factory, BUZZER)[-1] == 0.0
    finally:
        fb.close()


def wall_clock_blink(status_name: str) -> list[float]:
    """The first on/off durations of the amber blink for one status, on the live scheduler."""
    factory = MockFactory(pin_class=MockPWMPin)
    fb = Feedback(config(), pin_factory=factory)
    try:
        for _ in range(51):  # the same status every frame must not restart the blink
            fb.on_event(status(status_name))
        wait_for(lambda: len(factory.pin(AMBER).states) >= 8)
        fb.on_event(status("ok"))
        history = states(factory, AMBER)
        assert history == [False] + [1.0, 0.0] * ((len(history) - 1) // 2)
        return [s.timestamp for s in factory.pin(AMBER).states[2:8]]
    finally:
        fb.close()


def test_the_worker_thread_never_blinks_early():
    """The real-time path: blink halves on the wall clock are never shorter than set."""
    slow = wall_clock_blink("no_athlete")
    fast = wall_clock_blink("tracking_lost")
    assert min(slow) >= 0.5 / FAST["slow_blink_hz"] * 0.99
    assert min(fast) >= 0.5 / FAST["fast_blink_hz"] * 0.99
    assert statistics.median(slow) > statistics.median(fast)


@pytest.mark.parametrize(("name", "half"), [("no_athlete", 0.1), ("tracking_lost", 0.025)])
def test_waiting_blinks_slowly_lost_tracking_blinks_fast(make, factory, name, half):
    fb = make()
    for frame in range(40):  # the same status every frame must not restart the blink
        fb.advance(frame * half / 10)
        fb.on_event(status(name))
    fb.advance(4.5 * half)
    fb.on_event(status("ok"))
    fb.advance(LATER)
    assert history(factory, AMBER) == lit((0, half), (2 * half, 3 * half), (4 * half, 4.5 * half))


@pytest.mark.parametrize("name", ["not_lying", "misaligned", "no_athlete"])
def test_every_waiting_status_blinks_amber(make, factory, name):
    fb = make()
    fb.on_event(status(name))
    fb.advance(0.25)
    fb.on_event(status("ok"))
    fb.advance(LATER)
    assert history(factory, AMBER) == lit((0, 0.1), (0.2, 0.25))


def test_error_is_solid_amber_until_ok(make, factory):
    fb = make()
    fb.on_event(status("error"))
    fb.advance(1.0)
    fb.error()
    fb.advance(2.0)
    assert history(factory, AMBER) == [(0, False), (0, 1.0)]
    fb.on_event(status("ok"))
    fb.advance(LATER)
    assert history(factory, AMBER) == lit((0, 2))


def test_active_low_parts_are_driven_inverted(make, factory):
    low = {"green": False, "red": False, "amber": False, "buzzer": False}
    fb = make(active_high=low)
    # Construction drives every pin high: that is "off" for an active-low part.
    for pin in (GREEN, RED, AMBER, BUZZER):
        assert history(factory, pin) == [(0, False), (0, 1.0)]
    fb.advance(1.0)
    fb.on_event(rep())
    fb.advance(2.0)
    fb.on_event(rep("chest_lift"))
    fb.advance(3.0)
    fb.error()
    fb.advance(LATER)
    high = [(0, False), (0, 1.0)]
    assert history(factory, GREEN) == [*high, (1, 0.0), (1.05, 1.0)]
    assert history(factory, RED) == [*high, (2, 0.0), (2.1, 1.0)]
    beeps = [(1, 0.0), (1.03, 1.0), (2, 0.0), (2.03, 1.0), (2.07, 0.0), (2.1, 1.0)]
    assert history(factory, BUZZER) == [*high, *beeps]
    assert history(factory, AMBER) == [*high, (3, 0.0)]


def test_buzzer_disabled_leaves_its_pin_alone(make, factory):
    fb = make(buzzer={"enabled": False})
    assert "buzzer" not in fb.devices
    assert history(factory, BUZZER) == lit()  # the pin, made here, is nobody's
    fb.on_event(rep())
    fb.on_event(live("lumbar_rounding"))
    fb.advance(LATER)
    assert history(factory, GREEN) == lit((0, 0.05))
    assert history(factory, RED) == lit((0, 0.1))
    assert history(factory, BUZZER) == lit()


def bar_levels(factory: MockFactory) -> int:
    lit = [states(factory, pin)[-1] == 1.0 for pin in BAR]
    n = sum(lit)
    assert lit == [True] * n + [False] * (len(BAR) - n), f"segments lit out of order: {lit}"
    return n


def test_bar_graph_lights_segments_toward_full_scale(make, factory):
    fb = make(pins={"bar_graph": list(BAR)}, bar_graph={"full_scale_deg": 90.0})
    seen = []
    for deg in (0.0, 17.9, 18.0, 36.0, 71.9, 72.0, 90.0, 135.0, math.nan, -20.0, math.inf):
        fb.show_range(deg)
        seen.append(bar_levels(factory))
    assert seen == [0, 0, 1, 2, 3, 4, 5, 5, 0, 0, 5]
    # Segment 1 went on at 18 and off at NaN; back on at inf.
    assert states(factory, BAR[0]) == [False, 1.0, 0.0, 1.0]
    assert states(factory, BAR[4]) == [False, 1.0, 0.0, 1.0]


class CountingPin(MockPWMPin):
    """Counts every write, including ones that leave the level unchanged."""

    def _set_state(self, value: float) -> None:
        self.writes = getattr(self, "writes", 0) + 1
        super()._set_state(value)


def test_show_range_every_frame_writes_pins_only_when_the_level_changes():
    factory = MockFactory(pin_class=CountingPin)
    fb = Feedback(config(pins={"bar_graph": list(BAR)}), pin_factory=factory)
    try:
        fb.show_range(40.0)
        before = [factory.pin(p).writes for p in BAR]
        for deg in [41.0, 44.0, 53.9, 36.0] * 100:  # all two segments
            fb.show_range(deg)
        assert [factory.pin(p).writes for p in BAR] == before
        fb.show_range(54.0)
        assert [factory.pin(p).writes for p in BAR] != before
    finally:
        fb.close()


@settings(max_examples=200, deadline=None)
@given(
    deg=st.floats(allow_nan=True, allow_infinity=True),
    segments=st.integers(2, 12),
    scale=st.floats(30.0, 150.0),
)
def test_bar_graph_level_is_the_floor_of_the_fraction_of_full_scale(deg, segments, scale):
    pins = list(range(2, 2 + segments))
    factory = MockFactory(pin_class=MockPWMPin)
    fb = Feedback(
        config(
            pins={"green": 23, "red": 24, "amber": 25, "buzzer": 16, "bar_graph": pins},
            bar_graph={"full_scale_deg": scale},
        ),
        pin_factory=factory,
    )
    try:
        fb.show_range(deg)
        lit = [states(factory, p)[-1] == 1.0 for p in pins]
        if math.isnan(deg) or deg <= 0:
            want = 0
        elif deg >= scale:
            want = segments
        else:
            want = min(segments, math.floor(deg * segments / scale))
        assert lit == [True] * want + [False] * (segments - want)
    finally:
        fb.close()


def test_off_leaves_everything_off_and_quiet(make, factory):
    fb = make(pins={"bar_graph": list(BAR)}, patterns={**FAST, "long_tone_s": 5.0})
    fb.on_event(status("tracking_lost"))
    fb.on_event(rep())
    fb.on_event(live("lumbar_rounding"))
    fb.show_range(80.0)
    fb.advance(0.01)
    assert fb.devices["buzzer"].is_active and fb.devices["red"].is_active
    fb.off()
    frozen = {pin: history(factory, pin) for pin in (GREEN, RED, AMBER, BUZZER, *BAR)}
    assert all(changes[-1][1] == 0.0 for changes in frozen.values()), frozen
    fb.advance(LATER)  # no cue left waiting on the scheduler
    assert {pin: history(factory, pin) for pin in frozen} == frozen
    # The bar graph starts again from dark.
    fb.show_range(20.0)
    assert bar_levels(factory) == 1


def test_close_releases_the_pins_for_a_reloaded_feedback(factory, scheduler):
    first = Feedback(config(), pin_factory=factory, scheduler=scheduler)
    first.close()
    first.close()  # idempotent
    second = Feedback(config(), pin_factory=factory, scheduler=scheduler)
    try:
        second.on_event(rep())
        second.advance(LATER)
        assert history(factory, GREEN) == lit((0, 0.05))
    finally:
        second.close()


def test_set_events_and_unknown_statuses_do_not_crash_the_loop(make, factory):
    fb = make()
    fb.on_event(Event(0.0, "set", {"set": 2, "leg": "left"}))
    fb.on_event(status("calibrating"))  # unknown: shown as waiting
    fb.advance(0.25)
    fb.on_event(status("ok"))
    fb.advance(LATER)
    assert history(factory, AMBER) == lit((0, 0.1), (0.2, 0.25))


def test_reconfigure_moves_pins_and_keeps_the_status_light(make, factory):
    from gpiozero import LED

    fb = make()
    fb.error()
    fb.advance(1.0)
    moved = config(pins={"green": 23, "amber": 24}, active_high={"red": False})
    assert fb.reconfigure(moved)
    # The old amber pin went dark and was released; the new one is solid at once.
    fb.advance(2.0)
    assert history(factory, AMBER) == lit((0, 1))
    assert history(factory, 24) == [(1, False), (1, 1.0)]
    assert history(factory, RED) == [(0, False), (1, 1.0)]
    LED(AMBER, pin_factory=factory).close()  # free again
    fb.on_event(rep())
    fb.advance(LATER)
    assert history(factory, 23) == lit((2, 2.05), start=1)
    assert history(factory, GREEN) == lit()


def test_reconfigure_onto_a_busy_pin_keeps_the_old_wiring(make, factory):
    from gpiozero import LED

    fb = make()
    squatter = LED(23, pin_factory=factory)
    try:
        assert not fb.reconfigure(config(pins={"green": 23}))
        fb.on_event(rep())
        fb.advance(LATER)
        assert history(factory, GREEN) == lit((0, 0.05))
        assert fb.config.pins.green == GREEN
    finally:
        squatter.close()
