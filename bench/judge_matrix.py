"""The judge on issue 11's adversarial matrix: jitter tier x frame rate, N clips per cell.

Run: .venv/bin/python bench/judge_matrix.py [--clips 20] [--seed-base 0] [--workers 2]
     [--no-swaps] [--no-dropouts] [--still-start]  (ablations: which difficulty costs what)
Input: tests/adversarial.py clips (athletes, cameras, swaps, dropouts vary by seed), judged
through the public contract edge.analysis.analyze_track. Prints a markdown section for
bench/RESULTS.md. Marks per cell: rep count exact on >= 98% of clips, every fault's F1 >=
0.95, lumbar_rounding precision >= 0.98 in the two lower tiers.
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from adversarial import MATRIX_FPS, TIERS
from judge_score import CLIPS_PER_CELL, LUMBAR_TIERS, Tally, cell_problems, run_cell
from machine import machine_line
from synthetic import FAULTS

SHORT = {"lumbar_rounding": "lumbar", "chest_lift": "chest", "down_leg_bent": "down leg",
         "short_range": "short", "over_flexion": "over", "knee_angle": "knee",
         "band_unloaded": "band", "too_fast": "fast"}  # fmt: skip


def _cell(job: tuple[float, float, int, int, dict]) -> tuple[float, float, Tally, float]:
    tier, fps, clips, seed_base, ablate = job
    start = time.perf_counter()
    tally = run_cell(tier, fps, clips, seed_base, **ablate)
    return tier, fps, tally, time.perf_counter() - start


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def table(cells: list[tuple[float, float, Tally, float]]) -> list[str]:
    head = ["jitter", "fps", "exact", "min F1", "lumbar prec.", *(SHORT[f] for f in FAULTS), "pass"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for tier, fps, t, _ in cells:
        worst = t.min_f1()
        lumbar = _num(t.precision("lumbar_rounding"))
        rows.append("| " + " | ".join([
            f"{tier:g}%", f"{fps:g}", f"{t.exact}/{t.clips}",
            "–" if worst is None else f"{worst[1]:.2f} {SHORT[worst[0]]}",
            lumbar + ("" if tier in LUMBAR_TIERS else " (n/a)"),
            *(_num(t.f1(f)) for f in FAULTS),
            "yes" if not cell_problems(tier, t) else "no",
        ]) + " |")  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=CLIPS_PER_CELL, help="clips per cell")
    ap.add_argument("--seed-base", type=int, default=0, help="shifts every cell's seeds")
    ap.add_argument("--workers", type=int, default=2, help="processes (1: no pool)")
    ap.add_argument("--no-swaps", action="store_true", help="no left/right label swaps")
    ap.add_argument("--no-dropouts", action="store_true", help="no joints jumping away")
    ap.add_argument("--still-start", action="store_true", help="every clip starts at rest")
    args = ap.parse_args()
    ablate: dict = {"swaps": not args.no_swaps, "dropouts": not args.no_dropouts}
    if args.still_start:
        ablate["provisional"] = False
    flags = "".join(f" --{k.replace('_', '-')}" for k in ("no_swaps", "no_dropouts", "still_start")
                    if getattr(args, k))  # fmt: skip
    jobs = [(t, f, args.clips, args.seed_base, ablate) for t in TIERS for f in MATRIX_FPS]
    start = time.perf_counter()
    if args.workers > 1:
        with Pool(args.workers) as pool:
            cells = pool.map(_cell, jobs, chunksize=1)
    else:
        cells = [_cell(j) for j in jobs]
    wall = time.perf_counter() - start
    total = Tally()
    for *_, t, _ in cells:
        total.merge(t)
    passed = sum(not cell_problems(tier, t) for tier, _, t, _ in cells)
    print("## Judge on the adversarial matrix (issue 11)\n")
    print(f"Command: `.venv/bin/python bench/judge_matrix.py --clips {args.clips} "
          f"--seed-base {args.seed_base} --workers {args.workers}{flags}`  ")  # fmt: skip
    print(machine_line())
    busy = sum(c[3] for c in cells)
    print(f"Runtime: {wall:.1f} s wall for {total.clips} clips "
          f"({busy:.1f} s of cell time over {args.workers} workers)\n")  # fmt: skip
    print("\n".join(table(cells)))
    print(f"\nCells passing every mark: {passed}/{len(cells)}. Clips with the exact rep count: "
          f"{total.exact}/{total.clips}. F1 over all cells: "
          + ", ".join(f"{SHORT[f]} {_num(total.f1(f))}" for f in FAULTS) + ".")  # fmt: skip
    print("Marks: exact ≥ 98% of clips, every fault F1 ≥ 0.95, lumbar precision ≥ 0.98 at "
          f"{' and '.join(f'{t:g}%' for t in LUMBAR_TIERS)} jitter. F1 – : fault neither in "
          "the cell's truth nor reported.")  # fmt: skip


if __name__ == "__main__":
    main()
