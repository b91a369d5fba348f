"""ai-edge-litert against tflite-runtime on the same frames, one run each, same machine.

    .venv/bin/python bench/runtime_compare.py [--frames N] [--threads N]

Creates .venv-tflite (tflite-runtime with numpy<2) through bench/setup_tflite_venv.sh if
needed, runs `hipflex bench --json` in both venvs, alternating for --rounds rounds so a
burst of load on the machine hits both alike, keeps the median of each number over the
rounds, and prints a Markdown section for bench/RESULTS.md: machine, commands, per-stage
medians and the tflite/litert ratio, and the overhead check (all but inference <= 10%).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENVS = {"ai_edge_litert": REPO / ".venv", "tflite_runtime": REPO / ".venv-tflite"}
STAGES = ("decode", "preprocess", "inference", "postprocess")


def machine() -> str:
    info = {}
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return (
        f"{info.get('Model name', platform.processor())}, {os.cpu_count()} cores available "
        f"({info.get('Architecture', platform.machine())}), Python {platform.python_version()}"
    )


def bench(runtime: str, args: argparse.Namespace) -> tuple[str, dict]:
    cmd = [
        str(VENVS[runtime] / "bin" / "hipflex"), "--log-level", "WARNING", "bench",
        "--runtime", runtime, "--frames", str(args.frames), "--json",
    ]  # fmt: skip
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    shown = " ".join(cmd).replace(str(REPO) + "/", "")
    return shown, json.loads(out.stdout)


def median_report(reports: list[dict]) -> dict:
    """The first report with every number replaced by its median over all reports."""
    merged = reports[0]
    for i, row in enumerate(merged["rows"]):
        for stage in STAGES:
            for key in ("median_ms", "p95_ms"):
                row[stage][key] = statistics.median(r["rows"][i][stage][key] for r in reports)
        row["fps"] = statistics.median(r["rows"][i]["fps"] for r in reports)
    merged["rounds"] = len(reports)
    return merged


def section(results: dict[str, tuple[str, dict]]) -> str:
    first = next(iter(results.values()))[1]
    lines = [
        f"### Run of {date.today().isoformat()}",
        "",
        f"- Machine: {machine()}",
        f"- Input: `{Path(first['input']).name}`, first {first['frames']} frames resized to "
        f"{first['size']}, {first['threads']} interpreter thread(s); median of "
        f"{first['rounds']} alternating rounds",
        "- Commands (`.venv/bin/python bench/runtime_compare.py` runs both):",
    ]
    lines += [f"  - `{cmd}`" for cmd, _ in results.values()]
    rows = {(r["model"], r["runtime"]): r for _, rep in results.values() for r in rep["rows"]}
    versions = {r["runtime"]: r["version"] for r in rows.values()}
    lit, tfl = "ai_edge_litert", "tflite_runtime"
    lines += [
        "",
        f"Median ms per frame (p95 in brackets); ai-edge-litert {versions.get(lit)}, "
        f"tflite-runtime {versions.get(tfl)}.",
        "",
        "| model | stage | ai-edge-litert | tflite-runtime | tflite-runtime / litert |",
        "|---|---|---:|---:|---:|",
    ]
    models = sorted({m for m, _ in rows})
    for model in models:
        a, b = rows[(model, lit)], rows[(model, tfl)]
        for stage in STAGES:
            sa, sb = a[stage], b[stage]
            lines.append(
                f"| {model} | {stage} | {sa['median_ms']:.2f} ({sa['p95_ms']:.2f}) | "
                f"{sb['median_ms']:.2f} ({sb['p95_ms']:.2f}) | "
                f"{sb['median_ms'] / sa['median_ms']:.2f} |"
            )
        lines.append(
            f"| {model} | frames/s (model only) | {a['fps']:.1f} | {b['fps']:.1f} | "
            f"{b['fps'] / a['fps']:.2f} |"
        )
    lines += [
        "",
        "Overhead: everything except inference, as a share of inference (medians).",
        "",
        "| model | runtime | (preprocess + postprocess) / inference "
        "| (decode + preprocess + postprocess) / inference |",
        "|---|---|---:|---:|",
    ]
    for (model, runtime), r in sorted(rows.items()):
        inf = r["inference"]["median_ms"]
        pp = r["preprocess"]["median_ms"] + r["postprocess"]["median_ms"]
        with_decode = pp + r["decode"]["median_ms"]
        lines.append(f"| {model} | {runtime} | {pp / inf:.1%} | {with_decode / inf:.1%} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if not (VENVS["tflite_runtime"] / "bin" / "hipflex").exists():
        subprocess.run([str(REPO / "bench" / "setup_tflite_venv.sh")], check=True)
    runs: dict[str, list[tuple[str, dict]]] = {rt: [] for rt in VENVS}
    for _ in range(max(args.rounds, 1)):
        for rt in VENVS:
            runs[rt].append(bench(rt, args))
    results = {rt: (r[0][0], median_report([rep for _, rep in r])) for rt, r in runs.items()}
    print(section(results))


if __name__ == "__main__":
    main()
