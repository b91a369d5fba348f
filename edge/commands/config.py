"""hipflex config show [--config FILE] [--json]"""

from __future__ import annotations

import argparse
import json

HELP = "show the effective config and where each value came from: default, profile or file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("show",))
    p.add_argument(
        "--config", metavar="FILE", help="default: $HIPFLEX_CONFIG, else /etc/hipflex/config.toml"
    )
    p.add_argument("--json", action="store_true", help="one JSON object: values and origins")


def run(args: argparse.Namespace) -> int:
    from edge.config.load import DEFAULT_PATH, config_sources
    from edge.config.toml_out import dump

    sources = config_sources(args.config)
    config = sources.config
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(sources.path) if sources.path else None,
                    "profile": config.profile,
                    "config": config.model_dump(mode="json"),
                    "origins": dict(sources.origins),
                }
            )
        )
        return 0
    notes = {
        key: f"profile {config.profile}" if origin == "profile" else origin
        for key, origin in sources.origins.items()
    }
    read = sources.path or f"none ({DEFAULT_PATH} not found)"
    print(f"# hipflex effective config; file read: {read}")
    print("# each value is marked with where it came from: default, profile or file")
    print("# this output is itself a valid config file")
    print()
    print(dump(config, notes), end="")
    return 0
