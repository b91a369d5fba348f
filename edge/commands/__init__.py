"""One module per `hipflex` subcommand, plus the options several of them share."""

from __future__ import annotations

import argparse
from pathlib import Path

FEEDBACK_BACKENDS = ("gpio", "mock", "timeline")


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
        choices=FEEDBACK_BACKENDS,
        default="gpio",
        help="gpio: real pins (or $GPIOZERO_PIN_FACTORY); mock: silent mock pins; "
        "timeline: mock pins that print every LED and buzzer change",
    )
