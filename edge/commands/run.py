"""hipflex run: the box's live loop."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import CameraError, ConfigError, HipflexError

if TYPE_CHECKING:
    from edge.config.schema import Config

from edge.commands import add_config_option, add_feedback_option, athlete_arg

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
    p.add_argument(
        "--athlete", type=athlete_arg, metavar="NAME",
        help="tag this session with an athlete's name (at most 64 printable characters)",
    )  # fmt: skip
    add_feedback_option(p)
    p.add_argument("--socket", type=Path, metavar="PATH", help="live view socket for hipflex watch")
    p.add_argument("--no-live-view", action="store_true", help="open no live view socket")
    p.add_argument(
        "--hold-on-error",
        action="store_true",
        help="on an invalid config or a Pi camera that cannot be opened, keep the status light "
        "solid and wait for a fix (SIGHUP retries) instead of exiting: what the systemd unit uses",
    )


def run(args: argparse.Namespace) -> int:
    from edge.config.load import load_config
    from edge.cues import Scheduler
    from edge.dbfile import HistoryUnusable
    from edge.feedback import Feedback
    from edge.fleet.publisher import start_publisher
    from edge.livefeed import default_socket_path
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
    _check_paths(args, config)
    if args.log_level is None:
        logging.getLogger().setLevel(config.logging.level)
    # A --fast file run keeps its cues in the clip's time, so each lasts as long relative
    # to the athlete as it would live, and the pin history is the same on every run.
    scheduler = Scheduler(media_time=args.fast)
    factory = pin_factory(args.feedback, config.feedback, clock=scheduler.now)
    feedback = Feedback(config.feedback, factory, scheduler)
    # On a terminal: a line per rep, status and cues, a summary at the end (edge.console)
    from edge import console

    feedback = console.attach(
        feedback, keep_info=args.log_level is not None, fast_file=args.source if args.fast else None
    )
    # Fleet reporting runs in its own thread off the history database (edge.fleet).
    publisher = start_publisher(
        config.fleet,
        args.db or Path(config.storage.db_path),
        config.model.backend,
        live_socket=None if args.no_live_view else args.socket or default_socket_path(),
    )
    try:
        while True:
            box = Box(options, config, feedback)
            box.install_signal_handlers()
            try:
                return box.run()
            except CameraError as exc:
                # picamera2 broken or no camera: restarting would loop, exiting goes dark.
                if not args.hold_on_error:
                    raise
                log.error("camera unavailable, not starting: %s", exc)
                feedback.error()
                if not _Hold().wait(f"camera unavailable: {exc}"):
                    return 0
                log.info("retrying the camera")
            except HistoryUnusable as exc:
                # Running without history would lose every rep; so would a restart loop.
                if not args.hold_on_error:
                    raise
                log.error("history database unusable, not starting: %s", exc)
                feedback.error()
                if not _Hold().wait(f"history database unusable: {exc}"):
                    return 0
                log.info("retrying the history database")
    except BaseException:
        feedback.error()
        raise
    finally:
        if publisher is not None:
            publisher.stop()
        if isinstance(feedback, console.Tee):
            feedback.console.close()
        feedback.close()
        scheduler.close()


def _check_paths(args: argparse.Namespace, config: Config) -> None:
    """Files named on the command line, checked before anything starts: a source file is a
    regular file, and no output (events, socket) is an input or the history database."""
    from edge import paths

    db = args.db or Path(config.storage.db_path)
    keep = [("history database", f) for f in paths.database_files(db)]
    source = args.source or config.camera.source
    if source != "camera" and not source.startswith("webcam:"):
        if os.path.lexists(source):  # a missing file is the source's own one-line error
            paths.input_file(source, "--source")
        keep.append(("--source file", source))
    if args.config is not None:
        keep.append(("config file", args.config))
    for name, path in keep[len(paths.database_files(db)) :]:
        if paths.same_file(db, Path(path)):
            raise HipflexError(f"--db {db} is the {name}; refusing to use it as the database")
    if args.events is not None:
        paths.output_file(args.events, "--events", keep, makes_parent=True)
        keep.append(("--events file", args.events))
    if args.socket is not None and not args.no_live_view:
        paths.not_an_input(paths.socket_file(args.socket), "--socket", keep)


def _hold_until_valid(exc: ConfigError, args: argparse.Namespace) -> Config | None:
    """Show solid amber and wait: a service that exits on a bad config would go dark, and
    one that restarts would loop. SIGHUP retries the file; SIGTERM ends the wait."""
    from edge.config.feedback import FeedbackConfig
    from edge.config.load import load_config
    from edge.feedback import Feedback
    from edge.outputs import pin_factory

    for line in exc.errors:
        log.error("invalid config, not starting: %s", line)
    # Before READY=1: from then on systemd may send the reload's SIGHUP, whose default
    # action would kill us.
    hold = _Hold()
    defaults = FeedbackConfig()
    feedback = Feedback(defaults, pin_factory(args.feedback, defaults))
    feedback.error()
    try:
        status = f"invalid config: {exc.errors[0]}"
        while hold.wait(status):
            try:
                config = load_config(args.config)
            except ConfigError as again:
                for line in again.errors:
                    log.error("config still invalid: %s", line)
                continue
            log.info("config is valid now: starting")
            return config
        return None
    finally:
        feedback.close()


class _Hold:
    """Up but held: READY=1 with a status line for `systemctl status`, the watchdog fed,
    SIGHUP (`systemctl reload`) to try again, SIGTERM or SIGINT to stop."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = False
        signal.signal(signal.SIGHUP, self._on_hup)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)

    def _on_hup(self, signum: int, frame: object) -> None:
        self._wake.set()

    def _on_term(self, signum: int, frame: object) -> None:
        self._stop = True
        self._wake.set()

    def wait(self, status: str) -> bool:
        """Wait for SIGHUP (True: try again) or SIGTERM/SIGINT (False: stop)."""
        from edge import sdnotify

        sdnotify.ready()
        sdnotify.status(status)
        interval = sdnotify.watchdog_interval()
        while True:
            self._wake.wait(interval / 2 if interval else None)
            sdnotify.watchdog()
            if self._stop:
                return False
            if self._wake.is_set():
                self._wake.clear()
                return True
