"""hipflex export --format csv|json [--since DATE] [--out FILE] [--db PATH]"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from edge.commands.history import add_db_argument

HELP = "export every rep (CSV, one row per rep) or every session (JSON) for a spreadsheet"

# A CSV row is one rep: these columns of its session, then the rep's own fields
# (edge.history.REP_FIELDS, read in write(): edge.history is too heavy for the parser).
SESSION_COLUMNS = ("session", "started_at", "athlete", "source", "model")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument(
        "--since",
        type=since_date,
        metavar="DATE",
        help="only sessions started on or after DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM, local time)",
    )
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    add_db_argument(p)


def since_date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()  # naive means local time


def local_text(stored: str | None) -> str | None:
    """A stored UTC time as local time with its offset, the same clock `--since` reads, so
    a time printed here can be pasted back into `--since`."""
    if stored is None:
        return None
    return datetime.fromisoformat(stored).astimezone().isoformat(timespec="seconds")


def run(args: argparse.Namespace) -> int:
    from edge.errors import HipflexError
    from edge.history import History, default_db_path
    from edge.paths import database_files, output_file

    db = args.db or default_db_path()
    if args.out:
        output_file(args.out, "--out", [("history database", f) for f in database_files(db)])
    with History(db, readonly=True) as history:
        sessions = history.sessions(since=args.since)
    if args.out:
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as out:
                write(sessions, args.format, out)
        except OSError as exc:
            raise HipflexError(f"cannot write {args.out}: {exc.strerror}") from None
        print(f"{args.out}: {len(sessions)} sessions", file=sys.stderr)
    else:
        write(sessions, args.format, sys.stdout)
    return 0


def write(sessions: list[dict[str, Any]], fmt: str, out: TextIO) -> None:
    from edge.config.validators import printable
    from edge.history import REP_FIELDS

    if fmt == "json":
        document = {
            "exported_at": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
            "sessions": [
                {**s, "started_at": local_text(s["started_at"]),
                 "ended_at": local_text(s["ended_at"])}
                for s in sessions
            ],
        }  # fmt: skip
        json.dump(document, out, indent=1)
        out.write("\n")
        return
    # the rep's fields as stored, its set first; `good` is derived, and joins the faults
    as_is = ("set", *(k for k in REP_FIELDS if k not in ("set", "faults")))
    columns = (*SESSION_COLUMNS, *as_is, "good", "faults")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for s in sessions:
        for rep in s["reps"]:
            writer.writerow(
                {
                    "session": s["id"],
                    "started_at": local_text(s["started_at"]),
                    "athlete": printable(s["athlete"]),
                    "source": s["source"],
                    "model": s["model"],
                    **{k: rep[k] for k in as_is},
                    "good": int(not rep["faults"]),
                    "faults": ";".join(rep["faults"]),
                }
            )
