"""One module per `hipflex` subcommand, plus the options several of them share."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.backends import PIN_BACKENDS

# Interpreter threads, as the config's model.num_threads: 0 (or unset) is every core.
MAX_THREADS = 16


def check_range(option: str, value: float | None, low: float, high: float) -> None:
    """Refuse a numeric option outside [low, high] in one line, worded like a config key's:
    "--threads 100000: must be between 0 and 16". None (the option's "unset") passes."""
    from edge.config.validators import number_text, range_text
    from edge.errors import HipflexError

    if value is not None and not low <= value <= high:  # NaN fails too
        raise HipflexError(f"{option} {number_text(value)}: must be {range_text(ge=low, le=high)}")


def athlete_arg(text: str) -> str:
    """argparse type for --athlete: the config's name rule (edge.config.validators)."""
    from edge.config.validators import athlete_name, printable

    try:
        return athlete_name(text)
    except ValueError as exc:
        shown = printable(text[:40]) + ("..." if len(text) > 40 else "")
        raise argparse.ArgumentTypeError(f"'{shown}': an athlete name {exc}") from None


def add_config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="config file (default: $HIPFLEX_CONFIG, else /etc/hipflex/config.toml)",
    )


def add_feedback_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--feedback",
        choices=PIN_BACKENDS,
        default="gpio",
        help="gpio: real pins (or $GPIOZERO_PIN_FACTORY); mock: silent mock pins; "
        "timeline: mock pins that print every LED and buzzer change",
    )
