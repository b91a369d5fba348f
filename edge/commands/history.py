"""hipflex history [--last N] [--athlete NAME] [--json] [--db PATH]"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.commands import athlete_arg

HELP = "list recorded sessions: reps per leg, good reps and faults"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--last", type=positive_int, default=10, metavar="N", help="newest N (10)")
    p.add_argument("--all", action="store_true", help="every session, not only the newest N")
    p.add_argument(
        "--athlete", type=athlete_arg, metavar="NAME", help="only this athlete's sessions"
    )
    p.add_argument(
        "--json", action="store_true", help="one JSON object per session (the analyze schema)"
    )
    add_db_argument(p)


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="history database ($HIPFLEX_DB, else /var/lib/hipflex/hipflex.db)",
    )


MAX_LAST = 1_000_000  # sessions: centuries of daily training, and within SQLite's integers


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LAST:
        raise argparse.ArgumentTypeError(
            f"{text[:30]!r} is not a positive whole number (at most {MAX_LAST:,})"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from edge.history import History

    with History(args.db, readonly=True) as history:
        sessions = history.sessions(last=None if args.all else args.last, athlete=args.athlete)
    if args.json:
        for session in sessions:
            print(json.dumps(session))
        return 0
    if not sessions:
        who = f" for athlete {args.athlete!r}" if args.athlete is not None else ""
        print(f"no sessions recorded{who}")
        return 0
    print_table(sessions)
    return 0


def local_time(utc: str) -> str:
    return datetime.fromisoformat(utc).astimezone().strftime("%a %d %b %Y %H:%M")


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def session_length(session: dict[str, Any]) -> float | None:
    """The recorded length; for a session cut off by a crash, up to its last rep."""
    if session["duration_s"] is not None:
        return session["duration_s"]
    return session["reps"][-1]["end_s"] if session["reps"] else None


def print_table(sessions: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from edge.config.validators import printable

    table = Table(title="hipflex sessions", title_justify="left", header_style="bold")
    table.add_column("id", justify="right")
    table.add_column("started")
    table.add_column("athlete")
    table.add_column("length", justify="right")
    table.add_column("reps L/R", justify="right")
    table.add_column("good", justify="right")
    table.add_column("faults")
    for s in sessions:
        summary = s["summary"]
        faults = ", ".join(f"{name} {n}" for name, n in summary["faults"].items()) or "-"
        good = f"{100 * summary['good_reps'] / summary['reps']:.0f}%" if summary["reps"] else "-"
        started = local_time(s["started_at"]) + ("" if s["ended_at"] else " (interrupted)")
        table.add_row(
            str(s["id"]),
            started,
            Text(printable(s["athlete"])) if s["athlete"] else "-",
            minutes(session_length(s)),
            f"{summary['by_leg']['left']}/{summary['by_leg']['right']}",
            good,
            faults,
        )
    Console().print(table)
