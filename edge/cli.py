"""`hipflex`: one entry point, one module per subcommand under edge/commands/.

Each command module defines `HELP`, `add_arguments(parser)` and `run(args) -> int`, and
keeps heavy imports (numpy, OpenCV, pydantic, the interpreter) inside `run` so `hipflex --help`
stays fast. A command line that names its command imports that command's module alone.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from edge import __version__
from edge.errors import ConfigError, HipflexError
from edge.log import setup_logging

# Command name -> module under edge.commands. Order is the order of `hipflex --help`.
COMMANDS = {
    "run": "run",
    "models": "models",
    "pose": "pose",
    "analyze": "analyze",
    "bench": "bench",
    "check-config": "check_config",
    "config": "config",
    "history": "history",
    "export": "export",
    "report": "report",
    "watch": "watch",
    "selftest": "selftest",
    "aim": "aim",
    "fleet": "fleet",
}


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line naming the problem (`hipflex run --help` has the rest),
    like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; with `command`, that subcommand alone (`hipflex run` need not import
    thirteen other modules), else every subcommand with its one-line help."""
    parser = OneLineParser(prog="hipflex", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hipflex {__version__}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="overrides logging.level of the config (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if command is not None and name != command:
            continue
        module = importlib.import_module(f"edge.commands.{module_name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The command `argv` names when only --log-level comes before it. Anything else there
    (--help, --version, an abbreviation) gets the whole parser, which handles it as before."""
    i = 0
    while i < len(argv):
        if argv[i] == "--log-level":
            i += 2
        elif argv[i].startswith("--log-level="):
            i += 1
        else:
            return argv[i] if argv[i] in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(named_command(argv)).parse_args(argv)
    setup_logging(args.log_level or "INFO")
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # here, not at exit: `hipflex history > /dev/full` is an error
        return code
    except BrokenPipeError:
        # `hipflex history --json | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as exc:
        for line in exc.errors:
            print(f"hipflex: config error: {line}", file=sys.stderr)
        return exc.exit_code
    except HipflexError as exc:
        text = " ".join(str(exc).split("\n"))  # one line, whatever a library put in it
        print(f"hipflex: error: {text}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        # What the commands do not check themselves (they name their paths) is still one
        # line. An error without a file name is the output stream's (a full disk behind a
        # redirect): /dev/null takes its place, so the flush at exit does not fail again.
        if exc.filename is None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            print(f"hipflex: error: cannot write the output: {exc.strerror}", file=sys.stderr)
        else:
            print(f"hipflex: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
