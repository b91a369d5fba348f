"""The frame loop's timings with fleet reporting off, and on with the broker down.

    .venv/bin/python bench/fleet_loop.py [--runs 5] [--clip FILE]

`hipflex run --fast` on a footage clip (real model), alternating three configs run by run:
fleet off; fleet on with nothing listening on the broker's port (connection refused, the
publisher retries with back-off); fleet on with a port that accepts TCP and never answers
(the slowest failure: every attempt blocks the publisher thread up to its 10 s timeout).
Reported per config: the median over runs of the loop's own per-stage medians and p95s
(its last "timings" journal line) and of the whole run's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "footage" / "supine_knee_raise_right.mp4"
STAGE = re.compile(r"(\w+) ([\d.]+)/([\d.]+) ms")


def fleet_toml(port: int, root: Path) -> str:
    (root / "password").write_text("x\n")
    if not (root / "certs" / "ca.crt").exists():  # a real CA, so TLS set-up succeeds
        script = REPO / "fleet" / "mosquitto" / "make-certs.sh"
        subprocess.run(["sh", str(script), str(root / "certs"), "127.0.0.1"], check=True)
    fleet = {
        "enabled": True, "broker_host": "127.0.0.1", "broker_port": port,
        "ca_file": str(root / "certs" / "ca.crt"), "username": "mat-1",
        "password_file": str(root / "password"), "gym": "northside", "box": "mat-1",
    }  # fmt: skip
    return "[fleet]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fleet.items())


def one_run(root: Path, clip: Path, config: Path) -> tuple[dict[str, tuple[float, float]], float]:
    env = {**os.environ, "HIPFLEX_LOCK": str(root / "lock"), "HIPFLEX_SOCKET": str(root / "s")}
    db = root / "h.db"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--source", str(clip), "--fast", "--feedback",
         "mock", "--no-live-view", "--config", str(config), "--db", str(db)],
        capture_output=True, text=True, cwd=REPO, env=env, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    line = [x for x in done.stderr.splitlines() if "timings (median/p95)" in x][-1]
    return {m[1]: (float(m[2]), float(m[3])) for m in STAGE.finditer(line)}, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clip", type=Path, default=CLIP)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
        configs = {
            "fleet off": "",
            "broker refused": fleet_toml(closed.getsockname()[1], root),
            "broker silent": fleet_toml(silent.getsockname()[1], root),
        }
        paths = {}
        for i, (name, text) in enumerate(configs.items()):
            paths[name] = root / f"c{i}.toml"
            paths[name].write_text(text)
            paths[name].chmod(0o644)
        results: dict[str, list] = {name: [] for name in configs}
        for _ in range(args.runs):
            for name, path in paths.items():
                results[name].append(one_run(root, args.clip, path))
        print(f"{args.clip.name}, {args.runs} runs each, {os.cpu_count()} cores")
        for name, runs in results.items():
            stages = runs[0][0].keys()
            parts = [
                f"{s} {statistics.median(r[0][s][0] for r in runs):.2f}/"
                f"{statistics.median(r[0][s][1] for r in runs):.2f}"
                for s in stages
            ]
            wall = statistics.median(r[1] for r in runs)
            print(f"{name:15s} wall {wall:5.2f} s; " + ", ".join(parts) + " ms")


if __name__ == "__main__":
    main()
