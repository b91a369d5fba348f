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
    bad: list[str] = []
    for key, spec in specs.items():
        path = models.locate(spec)
        if args.action == "list":
            where = str(path) if path else "missing"
            print(f"{key:20} {spec.file:32} {spec.size:>9}  {where}\n{'':20} {spec.source}")
            continue
        # verify: check every model, so one run names every file to fix
        try:
            if path is None:
                raise ModelError(f"model {spec.file} not found; run `hipflex models fetch`")
            models.check(spec, path)
        except ModelError as exc:
            bad.append(str(exc))
            print(f"{key:20} BAD {exc}")
        else:
            print(f"{key:20} ok  {path}")
    if len(bad) == 1:
        raise ModelError(bad[0])
    if bad:
        raise ModelError(f"{len(bad)} of {len(specs)} models failed: " + "; ".join(bad))
    return 0
