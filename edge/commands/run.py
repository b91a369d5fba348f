"""hipflex run: the box's live loop."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import ConfigError

if TYPE_CHECKING:
    from edge.config.schema import Config

from edge.commands import add_config_option, add_feedback_option

HELP = "run the box: camera, pose, reps and faults, LEDs and buzzer"
EX_CONFIG = 78  # sysexits' "configuration error"; the unit does not restart on it

log = logging.getLogger("hipflex.run")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        help='"camera" (Pi camera), "webcam:N", a video file or a keypoints .npz '
        "(default: camera.source from the config)",
    )
    p.add_argument(
        "--fast", action="store_true", help="process a file as fast as possible, every frame"
    )
    p.add_argument("--events", type=Path, metavar="FILE", help="append every event as JSON Lines")
    add_config_option(p)
    p.add_argument(
        "--db", type=Path, metavar="PATH", help="history database (default storage.db_path)"
    )
    p.add_argument("--athlete", metavar="NAME", help="tag this session with an athlete's name")
    add_feedback_option(p)
    p.add_argument("--socket", type=Path, metavar="PATH", help="live view socket for hipflex watch")
    p.add_argument("--no-live-view", action="store_true", help="open no live view socket")
    p.add_argument(
        "--hold-on-error",
        action="store_true",
        help="on an invalid config, keep the status light solid and wait for a fixed config "
        "(SIGHUP) instead of exiting: what the systemd unit uses",
    )


def run(args: argparse.Namespace) -> int:
    from edge.config.load import load_config
    from edge.cues import Scheduler
    from edge.feedback import Feedback
    from edge.loop import Box, RunOptions
    from edge.outputs import pin_factory

    options = RunOptions(
        source=args.source,
        fast=args.fast,
        events_path=args.events,
        config_path=args.config,
        db_path=args.db,
        athlete=args.athlete,
        socket_path=args.socket,
        live_view=not args.no_live_view,
        log_level=args.log_level,
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        if not args.hold_on_error:
            for line in exc.errors:
                print(f"hipflex: config error: {line}", file=sys.stderr)
            return EX_CONFIG
        config = _hold_until_valid(exc, args)
        if config is None:
            return 0
    if args.log_level is None:
        logging.getLogger().setLevel(config.logging.level)
    # A --fast file run keeps its cues in the clip's time, so each lasts as long relative
    # to the athlete as it would live, and the pin history is the same on every run.
    scheduler = Scheduler(media_time=args.fast)
    factory = pin_factory(args.feedback, config.feedback, clock=scheduler.now)
    feedback = Feedback(config.feedback, factory, scheduler)
    box = Box(options, config, feedback)
    box.install_signal_handlers()
    try:
        return box.run()
    except BaseException:
        feedback.error()
        raise
    finally:
        feedback.close()
        scheduler.close()


def _hold_until_valid(exc: ConfigError, args: argparse.Namespace) -> Config | None:
    """Show solid amber and wait: a service that exits on a bad config would go dark, and
    one that restarts would loop. SIGHUP retries the file; SIGTERM ends the wait."""
    import threading

    from edge import sdnotify
    from edge.config.feedback import FeedbackConfig
    from edge.config.load import load_config
    from edge.feedback import Feedback
    from edge.outputs import pin_factory

    for line in exc.errors:
        log.error("invalid config, not starting: %s", line)
    wake = threading.Event()
    state = {"stop": False}

    def on_hup(signum, frame):
        wake.set()

    def on_term(signum, frame):
        state["stop"] = True
        wake.set()

    # Before READY=1: from then on systemd may send the reload's SIGHUP, whose default
    # action would kill us.
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    defaults = FeedbackConfig()
    feedback = Feedback(defaults, pin_factory(args.feedback, defaults))
    feedback.error()
    sdnotify.ready()
    sdnotify.status(f"invalid config: {exc.errors[0]}")
    interval = sdnotify.watchdog_interval()
    try:
        while True:
            wake.wait(interval / 2 if interval else None)
            sdnotify.watchdog()
            if state["stop"]:
                return None
            if not wake.is_set():
                continue
            wake.clear()
            try:
                config = load_config(args.config)
            except ConfigError as again:
                for line in again.errors:
                    log.error("config still invalid: %s", line)
                continue
            log.info("config is valid now: starting")
            return config
    finally:
        feedback.close()
