"""hipflex report [SESSION|latest] --out report.html [--db PATH]"""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.commands import check_range
from edge.commands.history import add_db_argument
from edge.errors import HipflexError

HELP = "write a session's report: one self-contained HTML file a coach can open anywhere"
MAX_TREND = 1000  # sessions in the trend chart: about three years of daily sessions


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", nargs="?", default="latest", help="session id, or latest (default)")
    p.add_argument("--out", type=Path, default=Path("report.html"), metavar="FILE")
    p.add_argument(
        "--trend", type=int, default=10, metavar="N",
        help=f"sessions in the trend, 1-{MAX_TREND} (10)",
    )  # fmt: skip
    add_db_argument(p)
    p.add_argument(
        "--config", metavar="FILE",
        help="the box's config, for the target bands (default: the installed one)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from edge.config.load import load_config
    from edge.history import History, default_db_path
    from edge.paths import database_files, output_file
    from edge.report import build_report

    check_range("--trend", args.trend, 1, MAX_TREND)
    db = args.db or default_db_path()
    output_file(args.out, "--out", [("history database", f) for f in database_files(db)])
    with History(db, readonly=True) as history:
        if args.session == "latest":
            session_id = history.latest_id()
            if session_id is None:
                raise HipflexError(f"no sessions recorded in {history.path}")
        else:
            try:
                session_id = int(args.session)
            except ValueError:
                raise HipflexError(
                    f"session must be a number or latest, not {args.session[:30]!r}"
                ) from None
            if not 1 <= session_id < 2**63:  # SQLite's integers
                raise HipflexError(f"no session {args.session[:30]} in {history.path}")
        config = load_config(args.config)
        page = build_report(history, session_id, trend_limit=args.trend,
                            exercise=config.exercise, profile=config.profile,
                            recordings=Path(config.storage.record_dir),
                            link_from=args.out.resolve().parent)  # fmt: skip
    try:
        args.out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise HipflexError(f"cannot write {args.out}: {exc.strerror}") from None
    print(args.out.resolve())
    return 0
