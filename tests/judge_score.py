"""Scoring the judge against adversarial ground truth (issue 11's measurement harness).

Only the public contract is used: `analyze_track(track)["reps"]`, each with "leg", "peak_s"
and "faults". Reps pair with the truth by leg and peak time (synthetic.match_reps); a fault
on a found rep that has no true rep is a false positive, a fault on a missed rep a false
negative, so miscounting costs fault scores too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from adversarial import MATRIX_FPS, TIERS, make_adversarial_clip
from synthetic import FAULTS, TruthRep, match_reps

CLIPS_PER_CELL = 20  # about ten rounded reps per cell: one miss moves F1 by 0.05 at 10
# Pass marks per cell (issue 11).
EXACT_MIN, F1_MIN, LUMBAR_PRECISION_MIN = 0.98, 0.95, 0.98
LUMBAR_TIERS = TIERS[:2]  # lumbar_rounding precision is required in the two lower tiers


@dataclass
class Tally:
    """Counts over any number of clips; the rates are computed from the totals."""

    clips: int = 0
    exact: int = 0
    tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULTS, 0))
    fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULTS, 0))
    fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULTS, 0))
    failures: list[str] = field(default_factory=list)  # "<clip>: truth LLRR found LLR"

    def add(self, truth: Sequence[TruthRep], found: Sequence[dict], label: str = "") -> None:
        """Score one clip: exact count, then fault hits per matched / missed / extra rep."""
        self.clips += 1
        want, got = [t.leg for t in truth], [r["leg"] for r in found]
        if want == got:
            self.exact += 1
        else:
            self.failures.append(f"{label}: truth {_legs(want)} found {_legs(got)}")
        pairs, missed, extra = match_reps(list(truth), list(found))
        for t, rep in pairs:
            for f in FAULTS:
                hit, said = f in t.faults, f in rep["faults"]
                self.tp[f] += hit and said
                self.fp[f] += said and not hit
                self.fn[f] += hit and not said
        for t in missed:
            for f in t.faults:
                self.fn[f] += 1
        for rep in extra:
            for f in rep["faults"]:
                self.fp[f] += 1

    def merge(self, other: Tally) -> None:
        self.clips += other.clips
        self.exact += other.exact
        for f in FAULTS:
            self.tp[f] += other.tp[f]
            self.fp[f] += other.fp[f]
            self.fn[f] += other.fn[f]
        self.failures += other.failures

    @property
    def exact_rate(self) -> float:
        return self.exact / self.clips if self.clips else 1.0

    def f1(self, fault: str) -> float | None:
        """None when the fault is neither in the truth nor predicted: nothing to score."""
        tp, fp, fn = self.tp[fault], self.fp[fault], self.fn[fault]
        return None if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)

    def precision(self, fault: str) -> float | None:
        said = self.tp[fault] + self.fp[fault]
        return self.tp[fault] / said if said else None

    def recall(self, fault: str) -> float | None:
        true = self.tp[fault] + self.fn[fault]
        return self.tp[fault] / true if true else None

    def min_f1(self) -> tuple[str, float] | None:
        scored = [(f, v) for f in FAULTS if (v := self.f1(f)) is not None]
        return min(scored, key=lambda fv: fv[1]) if scored else None

    def truth_counts(self) -> dict[str, int]:
        return {f: self.tp[f] + self.fn[f] for f in FAULTS}


def _legs(legs: Iterable[str]) -> str:
    return "".join(leg[0].upper() for leg in legs) or "-"


def cell_seeds(tier: float, fps: float, n: int = CLIPS_PER_CELL, seed_base: int = 0) -> list[int]:
    """Distinct, reproducible seeds per cell; consecutive seeds rotate the fault cycle, so
    any 10 of them cover every fault several times."""
    cell = TIERS.index(tier) * len(MATRIX_FPS) + MATRIX_FPS.index(fps)
    return [seed_base + 1000 * cell + i for i in range(n)]


def run_cell(tier: float, fps: float, n: int = CLIPS_PER_CELL, seed_base: int = 0,
             analyze: Callable[..., dict] | None = None, **ablate) -> Tally:  # fmt: skip
    """Generate and judge one matrix cell's clips (with analyze_track unless told);
    `ablate` goes to make_adversarial_clip (swaps=False, provisional=False, ...)."""
    if analyze is None:  # imported here: the generator's own tests must not need the judge
        from edge.analysis import analyze_track as analyze
    tally = Tally()
    for seed in cell_seeds(tier, fps, n, seed_base):
        clip = make_adversarial_clip(seed, tier, fps, **ablate)
        label = f"make_adversarial_clip({seed}, {tier}, {fps:g})"  # how to reproduce it
        tally.add(clip.reps, analyze(clip.track)["reps"], label)
    return tally


def cell_problems(tier: float, tally: Tally) -> list[str]:
    """What keeps a cell from passing issue 11's marks; empty when it passes."""
    out = []
    if tally.exact_rate < EXACT_MIN:
        out.append(f"rep count exact on {tally.exact}/{tally.clips}: {tally.failures[:3]}")
    for f in FAULTS:
        v = tally.f1(f)
        if v is not None and v < F1_MIN:
            out.append(f"{f} F1 {v:.2f} (tp {tally.tp[f]} fp {tally.fp[f]} fn {tally.fn[f]})")
    p = tally.precision("lumbar_rounding")
    if tier in LUMBAR_TIERS and p is not None and p < LUMBAR_PRECISION_MIN:
        out.append(f"lumbar_rounding precision {p:.2f}")
    return out
