"""hipflex check-config [FILE]"""

from __future__ import annotations

import argparse
import sys

HELP = "validate a config file: print ok, or every error one per line (exit 1)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", nargs="?", help="default: $HIPFLEX_CONFIG, else /etc/hipflex/config.toml"
    )


def run(args: argparse.Namespace) -> int:
    from edge.config.load import config_sources, resolve_path
    from edge.errors import ConfigError

    try:
        sources = config_sources(args.file)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return exc.exit_code
    if sources.path is None:
        print(f"ok: {resolve_path(args.file)[0]} not found; the built-in defaults apply")
    else:
        print(f"ok: {sources.path} (profile {sources.config.profile})")
    from edge.config.feedback import pin_warnings

    for line in pin_warnings(sources.config.feedback.pins):
        print(f"warning: {sources.path or 'defaults'}: {line}", file=sys.stderr)
    return 0
