"""hipflex selftest: check a freshly built box part by part, one PASS/FAIL line each.

An output pin cannot tell whether an LED is really wired to it, so each light and sound is
played slowly enough for the person at the box to see and hear it, and the check itself
confirms what software can: the pin could be claimed and follows what it is told. Stop the
service first (`sudo systemctl stop hipflex`): it holds the pins and the camera.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from typing import Any

from edge.commands import add_config_option, add_feedback_option, check_range

HELP = "blink each LED, beep, grab a camera frame and time the model; PASS/FAIL per check"

CAMERA_TIMEOUT_S = 15.0
MAX_RUNS = 1000
BLINKS = 3


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        help='"camera", "webcam:N" or a video file (default: camera.source from the config)',
    )
    add_config_option(p)
    add_feedback_option(p)
    p.add_argument("--runs", type=int, default=5, help="model runs to time (default 5)")


def run(args: argparse.Namespace) -> int:
    check_range("--runs", args.runs, 1, MAX_RUNS)
    checks: list[Check] = []

    def report(check: Check) -> None:
        checks.append(check)
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name:<12} {check.detail}", flush=True)

    config = _config(args, report)
    _outputs(config.feedback, args.feedback, report)
    frame = _camera(args.source or config.camera.source, config, report)
    _model(config, frame, args.runs, report)
    failed = [c.name for c in checks if not c.ok]
    print(
        f"{len(checks) - len(failed)}/{len(checks)} checks passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def _config(args: argparse.Namespace, report: Any) -> Any:
    """The effective config; on errors report them and go on with the defaults, so the
    hardware can still be checked."""
    from edge.config.load import config_sources
    from edge.config.schema import Config
    from edge.errors import ConfigError

    try:
        sources = config_sources(args.config)
    except ConfigError as exc:
        report(Check("config", False, f"{exc.errors[0]} (checking with the defaults)"))
        return Config()
    where = sources.path or "built-in defaults (no config file)"
    report(Check("config", True, str(where)))
    return sources.config


def _outputs(feedback_config: Any, backend: str, report: Any) -> None:
    from edge.feedback import Feedback
    from edge.outputs import pin_factory

    try:
        feedback = Feedback(feedback_config, pin_factory(backend, feedback_config))
    except Exception as exc:  # gpiozero raises many kinds: no gpiochip, pin busy, bad factory
        report(Check("gpio", False, f"cannot claim the pins: {exc}"))
        return
    try:
        patterns = feedback_config.patterns
        for name in ("green", "red", "amber"):
            report(_led(name, feedback.devices[name], patterns.good_flash_s))
        if "bar_graph" in feedback.devices:
            report(_bar(feedback.devices["bar_graph"], patterns.good_flash_s))
        if "buzzer" in feedback.devices:
            report(_buzzer(feedback.devices["buzzer"], feedback_config))
    finally:
        feedback.close()


def _where(device: Any) -> str:
    pin = device.pwm_device.pin if hasattr(device, "pwm_device") else device.pin  # TonalBuzzer
    info = pin.info
    return f"{info.name} (pin {info.number})"


def _led(name: str, led: Any, seconds: float) -> Check:
    led.blink(on_time=seconds, off_time=seconds, n=BLINKS, background=False)
    led.on()
    lit = led.is_active
    led.off()
    ok = lit and not led.is_active
    text = f"blinked {BLINKS} times: did you see it?" if ok else "the pin did not follow"
    return Check(f"{name} LED", ok, f"{_where(led)} {text}")


def _bar(bar: Any, seconds: float) -> Check:
    n = len(bar)
    for lit in [*range(n + 1), *range(n - 1, -1, -1)]:
        bar.value = lit / n
        time.sleep(seconds / 2)
    bar.value = 1
    full = bar.value == 1
    bar.off()
    ok = full and bar.value == 0
    pins = ", ".join(led.pin.info.name for led in bar)
    text = "filled and emptied: did every segment light?" if ok else "the pins did not follow"
    return Check("bar graph", ok, f"{pins} {text}")


def _buzzer(buzzer: Any, config: Any) -> Check:
    """A short beep, then the long lumbar-rounding tone, played in the foreground."""
    patterns, sound = config.patterns, config.buzzer
    if sound.kind == "tonal":
        from gpiozero.tones import Tone

        steps = [(sound.beep_hz, patterns.beep_s), (sound.long_tone_hz, patterns.long_tone_s)]
        sounding = []
        for hz, seconds in steps:
            buzzer.play(Tone.from_frequency(hz))
            sounding.append(buzzer.is_active)
            time.sleep(seconds)
            buzzer.stop()
            time.sleep(patterns.beep_gap_s)
        ok = all(sounding) and not buzzer.is_active
    else:
        buzzer.beep(on_time=patterns.beep_s, off_time=patterns.beep_gap_s, n=1, background=False)
        buzzer.on()
        sounding = [buzzer.is_active]
        time.sleep(patterns.long_tone_s)
        buzzer.off()
        ok = all(sounding) and not buzzer.is_active
    text = "beep, then the long tone: did you hear both?" if ok else "the pin did not follow"
    return Check("buzzer", ok, f"{_where(buzzer)} {sound.kind}: {text}")


def _camera(spec: str, config: Any, report: Any) -> Any:
    """One frame from the source, or None. A camera that never delivers must not hang the
    test, so the read runs on a thread with a deadline."""
    import numpy as np

    from edge.sources import open_source

    result: dict[str, Any] = {}

    def read() -> None:
        try:
            cam = config.camera
            with open_source(
                spec, width=cam.width, height=cam.height, fps=cam.fps, zoom=cam.zoom
            ) as source:
                for _, frame in source.frames():
                    result["frame"] = frame.copy() if isinstance(frame, np.ndarray) else frame
                    break
        except Exception as exc:  # every source error is reported, none is fatal here
            result["error"] = exc

    started = time.perf_counter()
    reader = threading.Thread(target=read, name="selftest-camera", daemon=True)
    reader.start()
    reader.join(CAMERA_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    frame = result.get("frame")
    if reader.is_alive():
        report(Check("camera", False, f"{spec}: no frame within {CAMERA_TIMEOUT_S:.0f} s"))
    elif "error" in result:
        # source errors often name the source already ("camera: picamera2 is not ...")
        text = str(result["error"]).removeprefix(f"{spec}: ")
        report(Check("camera", False, f"{spec}: {text}"))
    elif frame is None:
        report(Check("camera", False, f"{spec}: the source ended without a frame"))
    elif not isinstance(frame, np.ndarray):
        report(Check("camera", False, f"{spec}: gives keypoints, not images; use a camera"))
        frame = None
    else:
        h, w = frame.shape[:2]
        detail = f"{spec}: {w}x{h} frame in {elapsed:.1f} s, mean brightness {frame.mean():.0f}/255"
        report(Check("camera", True, detail))
        return frame
    return None


def _model(config: Any, frame: Any, runs: int, report: Any) -> None:
    """Load the configured model and time it on the camera's frame (or a blank frame of the
    configured size when the camera failed, so the model is still checked)."""
    import numpy as np

    from edge.pose import create

    name = config.model.backend
    if frame is None:
        frame = np.zeros((config.camera.height, config.camera.width, 3), np.uint8)
    try:
        started = time.perf_counter()
        estimator = create(name, config.model.num_threads or None)
        load_s = time.perf_counter() - started
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            estimator(frame)
            times.append(time.perf_counter() - started)
    except Exception as exc:  # a missing or corrupt model, a runtime that will not load
        report(Check("model", False, f"{name}: {exc}"))
        return
    import statistics  # here: `hipflex --help` imports every command module

    median = statistics.median(times)
    report(
        Check(
            "model",
            True,
            f"{name}: loaded in {load_s:.2f} s, {median * 1000:.1f} ms per frame "
            f"(median of {runs}, {1 / median:.0f} fps)",
        )
    )
