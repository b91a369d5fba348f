"""Feedback on mock pins: the full state history of every pin, for every cue.

Patterns are shortened so each test takes a fraction of a second; only lower bounds of
durations are asserted (a thread can be late, never early).
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


def config(**sections: dict) -> FeedbackConfig:
    sections.setdefault("patterns", FAST)
    return FeedbackConfig.model_validate(sections)


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory(pin_class=MockPWMPin)


@pytest.fixture
def make(factory: MockFactory) -> Iterator[Callable[..., Feedback]]:
    made: list[Feedback] = []

    def build(**sections: dict) -> Feedback:
        fb = Feedback(config(**sections), pin_factory=factory)
        made.append(fb)
        return fb

    yield build
    for fb in made:
        fb.close()


def states(factory: MockFactory, bcm: int) -> list[float]:
    return [s.state for s in factory.pin(bcm).states]


def durations(factory: MockFactory, bcm: int) -> list[float]:
    """How long each state after the initial one lasted, in order, up to the current one.
    A recorded change's timestamp is the time since the previous change."""
    return [s.timestamp for s in factory.pin(bcm).states[2:]]


def settle(factory: MockFactory, expected: dict[int, list[float]], timeout: float = 5.0) -> None:
    """Wait until every pin's whole history equals `expected`, then check nothing follows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(states(factory, pin) == want for pin, want in expected.items()):
            break
        time.sleep(0.005)
    time.sleep(0.15)
    assert {pin: states(factory, pin) for pin in expected} == expected


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def rep(*faults: str) -> Event:
    return Event(0.0, "rep", {"index": 1, "leg": "right", "faults": list(faults)})


def live(fault: str) -> Event:
    return Event(0.0, "fault", {"fault": fault, "leg": "right", "rep": 1})


def status(name: str) -> Event:
    return Event(0.0, "status", {"status": name})


@pytest.mark.parametrize("n", [1, 2, 4])
def test_n_good_reps_give_n_green_flashes_and_n_short_beeps(make, factory, n):
    fb = make()
    for _ in range(n):
        fb.on_event(rep())
        wait_for(lambda: not fb.devices["green"].is_active and not fb.devices["buzzer"].is_active)
        time.sleep(0.01)
    flashes = [False] + [1.0, 0.0] * n
    settle(factory, {GREEN: flashes, BUZZER: flashes, RED: [False], AMBER: [False]})
    assert all(d >= FAST["good_flash_s"] for d in durations(factory, GREEN)[0::2])
    assert all(d >= FAST["beep_s"] for d in durations(factory, BUZZER)[0::2])


def test_live_lumbar_rounding_lights_red_and_sounds_the_long_tone_at_once(make, factory):
    fb = make()
    fb.on_event(live("lumbar_rounding"))
    # Both are on before any rep event arrives.
    wait_for(lambda: fb.devices["red"].is_active and fb.devices["buzzer"].is_active)
    settle(factory, {RED: [False, 1.0, 0.0], BUZZER: [False, 1.0, 0.0], GREEN: [False]})
    assert durations(factory, BUZZER)[0] >= FAST["long_tone_s"]
    assert durations(factory, BUZZER)[0] > 3 * FAST["beep_s"]


def test_rep_whose_only_fault_was_cued_live_does_not_beep_again(make, factory):
    fb = make()
    fb.on_event(live("lumbar_rounding"))
    fb.on_event(live("lumbar_rounding"))  # the judge may repeat it: still one tone
    wait_for(lambda: fb.devices["buzzer"].is_active)
    fb.on_event(rep("lumbar_rounding"))
    settle(factory, {RED: [False, 1.0, 0.0], BUZZER: [False, 1.0, 0.0], GREEN: [False]})
    # The next rep with the same fault starts afresh: the live set was spent on this rep.
    fb.on_event(rep("lumbar_rounding"))
    settle(factory, {BUZZER: [False, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})


def test_other_faults_of_a_live_cued_rep_beep_twice_after_the_tone(make, factory):
    fb = make()
    fb.on_event(live("lumbar_rounding"))
    wait_for(lambda: fb.devices["buzzer"].is_active)
    fb.on_event(rep("lumbar_rounding", "chest_lift"))
    settle(factory, {BUZZER: [False, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    tone, gap, beep1, gap2, beep2 = durations(factory, BUZZER)[:5]
    assert tone >= FAST["long_tone_s"]  # queued after the tone, not cutting it
    assert gap >= FAST["beep_gap_s"] and gap2 >= FAST["beep_gap_s"]
    assert beep1 >= FAST["beep_s"] and beep2 >= FAST["beep_s"]


def test_faulty_rep_lights_red_and_beeps_twice(make, factory):
    fb = make()
    fb.on_event(rep("chest_lift", "too_fast"))
    settle(
        factory,
        {RED: [False, 1.0, 0.0], BUZZER: [False, 1.0, 0.0, 1.0, 0.0], GREEN: [False]},
    )
    assert durations(factory, RED)[0] >= FAST["fault_flash_s"]


def test_live_fault_without_a_sound_of_its_own_only_lights_red(make, factory):
    fb = make()
    fb.on_event(live("chest_lift"))
    settle(factory, {RED: [False, 1.0, 0.0], BUZZER: [False]})
    fb.on_event(rep("chest_lift"))
    settle(factory, {RED: [False, 1.0, 0.0, 1.0, 0.0], BUZZER: [False, 1.0, 0.0, 1.0, 0.0]})


def test_long_tone_interrupts_a_beep_and_the_call_never_waits(make, factory):
    fb = make(patterns={**FAST, "long_tone_s": 5.0})
    fb.on_event(rep())
    fb.on_event(live("lumbar_rounding"))
    # Returned while a 5 s tone is due: nothing waited for it.
    wait_for(lambda: fb.devices["buzzer"].is_active)
    assert states(factory, BUZZER)[-1] == 1.0
    fb.off()
    assert states(factory, BUZZER)[-1] in (0.0, 1.0)
    settle(factory, {GREEN: [False, 1.0, 0.0]})
    assert states(factory, BUZZER)[-1] == 0.0
    assert sum(durations(factory, BUZZER)) < 5.0


def blink_halves(status_name: str) -> list[float]:
    """The first on/off durations of the amber blink for one status, on fresh pins."""
    factory = MockFactory(pin_class=MockPWMPin)
    fb = Feedback(config(), pin_factory=factory)
    try:
        fb.on_event(status(status_name))
        for _ in range(50):  # the same status every frame must not restart the blink
            fb.on_event(status(status_name))
        wait_for(lambda: len(factory.pin(AMBER).states) >= 8)
        fb.on_event(status("ok"))
        time.sleep(0.15)
        history = states(factory, AMBER)
        assert history == [False] + [1.0, 0.0] * ((len(history) - 1) // 2)
        return durations(factory, AMBER)[:6]
    finally:
        fb.close()


def test_status_waiting_blinks_slowly_lost_tracking_blinks_fast():
    slow = blink_halves("no_athlete")
    fast = blink_halves("tracking_lost")
    assert min(slow) >= 0.5 / FAST["slow_blink_hz"] * 0.99
    assert min(fast) >= 0.5 / FAST["fast_blink_hz"] * 0.99
    assert statistics.median(slow) > statistics.median(fast)


@pytest.mark.parametrize("name", ["not_lying", "misaligned", "no_athlete"])
def test_every_waiting_status_blinks_amber(make, factory, name):
    fb = make()
    fb.on_event(status(name))
    wait_for(lambda: len(factory.pin(AMBER).states) >= 4)
    fb.on_event(status("ok"))
    time.sleep(0.15)
    history = states(factory, AMBER)
    assert history == [False] + [1.0, 0.0] * ((len(history) - 1) // 2)


def test_error_is_solid_amber_until_ok(make, factory):
    fb = make()
    fb.on_event(status("error"))
    settle(factory, {AMBER: [False, 1.0]})
    fb.error()
    settle(factory, {AMBER: [False, 1.0]})
    fb.on_event(status("ok"))
    settle(factory, {AMBER: [False, 1.0, 0.0]})


def test_active_low_parts_are_driven_inverted(make, factory):
    low = {"green": False, "red": False, "amber": False, "buzzer": False}
    fb = make(active_high=low)
    # Construction drives every pin high: that is "off" for an active-low part.
    settle(factory, {GREEN: [False, 1.0], RED: [False, 1.0], BUZZER: [False, 1.0]})
    fb.on_event(rep())
    settle(factory, {GREEN: [False, 1.0, 0.0, 1.0], BUZZER: [False, 1.0, 0.0, 1.0]})
    fb.on_event(rep("chest_lift"))
    settle(
        factory, {RED: [False, 1.0, 0.0, 1.0], BUZZER: [False, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]}
    )
    fb.error()
    settle(factory, {AMBER: [False, 1.0, 0.0]})


def test_buzzer_disabled_leaves_its_pin_alone(make, factory):
    fb = make(buzzer={"enabled": False})
    assert "buzzer" not in fb.devices
    fb.on_event(rep())
    fb.on_event(live("lumbar_rounding"))
    settle(factory, {GREEN: [False, 1.0, 0.0], RED: [False, 1.0, 0.0], BUZZER: [False]})


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
    wait_for(lambda: fb.devices["buzzer"].is_active and fb.devices["red"].is_active)
    fb.off()
    time.sleep(0.1)
    frozen = {pin: states(factory, pin) for pin in (GREEN, RED, AMBER, BUZZER, *BAR)}
    assert all(history[-1] == 0.0 for history in frozen.values()), frozen
    time.sleep(0.3)  # no background thread wakes up again
    assert {pin: states(factory, pin) for pin in frozen} == frozen
    # The bar graph starts again from dark.
    fb.show_range(20.0)
    assert bar_levels(factory) == 1


def test_close_releases_the_pins_for_a_reloaded_feedback(factory):
    first = Feedback(config(), pin_factory=factory)
    first.close()
    first.close()  # idempotent
    second = Feedback(config(), pin_factory=factory)
    try:
        second.on_event(rep())
        settle(factory, {GREEN: [False, 1.0, 0.0]})
    finally:
        second.close()


def test_set_events_and_unknown_statuses_do_not_crash_the_loop(make, factory):
    fb = make()
    fb.on_event(Event(0.0, "set", {"set": 2, "leg": "left"}))
    fb.on_event(status("calibrating"))  # unknown: shown as waiting
    wait_for(lambda: len(factory.pin(AMBER).states) >= 3)
    fb.on_event(status("ok"))
    time.sleep(0.15)
    assert states(factory, AMBER)[-1] == 0.0


def test_reconfigure_moves_pins_and_keeps_the_status_light(make, factory):
    from gpiozero import LED

    fb = make()
    fb.error()
    settle(factory, {AMBER: [False, 1.0]})
    moved = config(pins={"green": 23, "amber": 24}, active_high={"red": False})
    assert fb.reconfigure(moved)
    # The old amber pin went dark and was released; the new one is solid at once.
    settle(factory, {AMBER: [False, 1.0, 0.0], 24: [False, 1.0], RED: [False, 1.0]})
    LED(AMBER, pin_factory=factory).close()  # free again
    fb.on_event(rep())
    settle(factory, {23: [False, 1.0, 0.0], GREEN: [False]})


def test_reconfigure_onto_a_busy_pin_keeps_the_old_wiring(make, factory):
    from gpiozero import LED

    fb = make()
    squatter = LED(23, pin_factory=factory)
    try:
        assert not fb.reconfigure(config(pins={"green": 23}))
        fb.on_event(rep())
        settle(factory, {GREEN: [False, 1.0, 0.0]})
        assert fb.config.pins.green == GREEN
    finally:
        squatter.close()
