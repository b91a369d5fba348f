"""hipflex models list | verify | fetch"""

from __future__ import annotations

import argparse

from edge.errors import ModelError

HELP = "list, verify or fetch the pose model files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("list", "verify", "fetch"))


def run(args: argparse.Namespace) -> int:
    from edge import models

    specs = models.manifest()
    if args.action == "fetch":
        for key, path in models.fetch().items():
            print(f"{key:20} ok  {path}")
        return 0
    for key, spec in specs.items():
        path = models.locate(spec)
        if args.action == "list":
            where = str(path) if path else "missing"
            print(f"{key:20} {spec.file:32} {spec.size:>9}  {where}\n{'':20} {spec.source}")
            continue
        if path is None:
            raise ModelError(f"model {spec.file} not found; run `hipflex models fetch`")
        models.check(spec, path)
        print(f"{key:20} ok  {path}")
    return 0
