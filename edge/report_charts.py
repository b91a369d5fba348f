"""The report's charts, written as inline SVG by hand: every label is placed by this module,
so labels sit in lanes and gaps outside the plot areas (they never cover a curve) and are
laid out so no two collide. The text stays real text in the page, which the browser test
checks box by box.

Widths are in SVG units; the page scales each chart to its column, and draws a narrow
variant for phones, so type stays readable at 390 px.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.history import LEGS
from edge.kinematics import TILT_SLOPE, expected_tilt

LEG_COLOR = {"left": "#2563eb", "right": "#d9480f"}
GOOD, BAD, MUTED, INK, SOFT = "#2f9e44", "#e03131", "#adb5bd", "#212529", "#495057"
FONT = 11.0
LINE_H = 14.0
CHAR_W = 0.62  # a generous average glyph width, in ems, for placing labels


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * CHAR_W


def excess_tilt(rep: dict[str, Any]) -> float | None:
    """The rep's pelvic tilt beyond the normal tilt for its hip flexion, as the judge
    measured it: the stored peak has the excess removed, so it is solved back here."""
    tilt, peak = rep["pelvis_tilt_deg"], rep["peak_hip_flexion_deg"]
    if tilt is None or peak is None:
        return None
    excess = tilt - float(expected_tilt(peak))
    if excess > 0 and float(expected_tilt(peak)) > 0:
        excess /= 1.0 + TILT_SLOPE
    return excess


@dataclass
class Svg:
    """A list of SVG elements with a width and height; text is escaped on the way in."""

    width: float
    height: float
    parts: list[str]

    def text(self, x: float, y: float, s: str, anchor: str = "start", color: str = SOFT,
             size: float = FONT, bold: bool = False, cls: str = "lbl") -> None:  # fmt: skip
        weight = ' font-weight="700"' if bold else ""
        self.parts.append(
            f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
            f'font-size="{size:g}" fill="{color}"{weight}>{html.escape(s)}</text>'
        )

    def rect(self, x: float, y: float, w: float, h: float, fill: str, opacity: float = 1.0,
             cls: str = "") -> None:  # fmt: skip
        c = f' class="{cls}"' if cls else ""
        self.parts.append(
            f'<rect{c} x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{fill}" fill-opacity="{opacity:g}"/>'
        )

    def line(self, x0: float, y0: float, x1: float, y1: float, color: str, width: float = 1.0,
             dash: str = "") -> None:  # fmt: skip
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{color}" '
            f'stroke-width="{width:g}"{d}/>'
        )

    def path(self, points: Iterable[tuple[float, float]], color: str, width: float,
             cls: str, dash: str = "", opacity: float = 1.0) -> None:  # fmt: skip
        """A polyline; NaN points break it into pieces."""
        d, pen = [], "M"
        for x, y in points:
            if not (math.isfinite(x) and math.isfinite(y)):
                pen = "M"
                continue
            d.append(f"{pen}{x:.1f},{y:.1f}")
            pen = "L"
        if d:
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            self.parts.append(
                f'<path class="{cls}" d="{" ".join(d)}" fill="none" stroke="{color}" '
                f'stroke-width="{width:g}" stroke-opacity="{opacity:g}" '
                f'stroke-linejoin="round"{extra}/>'
            )

    def dot(self, x: float, y: float, color: str, r: float = 3.5, cls: str = "") -> None:
        c = f' class="{cls}"' if cls else ""
        self.parts.append(
            f'<circle{c} cx="{x:.1f}" cy="{y:.1f}" r="{r:g}" fill="{color}" '
            'stroke="#fff" stroke-width="1"/>'
        )

    def markup(self, cls: str, label: str) -> str:
        return (
            f'<svg class="{cls}" viewBox="0 0 {self.width:.0f} {self.height:.0f}" role="img" '
            f'aria-label="{html.escape(label)}" xmlns="http://www.w3.org/2000/svg" '
            'font-family="system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif">'
            f"{''.join(self.parts)}</svg>"
        )


@dataclass(frozen=True)
class Scale:
    """A linear map from data to SVG units."""

    d0: float
    d1: float
    p0: float
    p1: float

    def __call__(self, v: float) -> float:
        return self.p0 + (v - self.d0) * (self.p1 - self.p0) / (self.d1 - self.d0)


def nice_step(span: float, pixels: float, min_gap: float) -> float:
    """The smallest 1-2-5 step whose ticks are at least `min_gap` units apart."""
    for power in range(-1, 6):
        for m in (1, 2, 5):
            step = m * 10.0**power
            if pixels * step / span >= min_gap:
                return step
    return span


def _y_axis(svg: Svg, y: Scale, x0: float, x1: float, unit: str, min_gap: float = 22) -> None:
    step = nice_step(y.d1 - y.d0, abs(y.p0 - y.p1), min_gap)
    v = math.ceil(y.d0 / step) * step
    while v <= y.d1 + 1e-9:
        svg.line(x0, y(v), x1, y(v), "#f1f3f5" if v else "#ced4da")
        svg.text(x0 - 5, y(v) + 4, f"{v:g}{unit}", anchor="end", size=10)
        v += step


def _place(blocks: list[tuple[float, float, int]], left: float, right: float) -> list[int]:
    """Rows for label blocks (centre x, width, lines), lowest free rows first, so that no
    two blocks share a row over overlapping x. Returns each block's first row."""
    taken: list[list[tuple[float, float]]] = []
    rows = []
    for cx, w, n in blocks:
        a = min(max(cx - w / 2, left), right - w)
        b = a + w
        r = 0
        while any(
            r + k < len(taken) and any(a < q and p < b for p, q in taken[r + k]) for k in range(n)
        ):
            r += 1
        while len(taken) < r + n:
            taken.append([])
        for k in range(n):
            taken[r + k].append((a - 4, b + 4))
        rows.append(r)
    return rows


def set_chart(leg: str, reps: list[dict[str, Any]], series: np.ndarray,
              status: list[dict[str, Any]], hip_band: tuple[float, float],
              lumbar_limit: float, width: float, labels: str, fault_label) -> Svg:  # fmt: skip
    """One set: a label lane (rep numbers, faults named over each peak), the working leg's
    hip (solid) and knee (dashed) flexion with the other hip grey, and under it each rep's
    pelvis tilt beyond normal against the lumbar limit. `labels` is "full" or "numbers"."""
    left, right = 44.0, width - 10.0
    t0, t1 = reps[0]["start_s"] - 2.0, reps[-1]["end_s"] + 2.0
    x = Scale(t0, t1, left, right)
    blocks, texts = [], []
    for rep in reps:
        lines = [f"{rep['index']}"]
        if labels == "full":
            lines += [fault_label(f) for f in rep["faults"]]
        w = max(text_width(s) for s in lines) + 4
        blocks.append((x(rep["peak_s"]), w, len(lines)))
        texts.append(lines)
    rows = _place(blocks, left, right)
    lane_rows = max(r + len(t) for r, t in zip(rows, texts, strict=True))
    lane = lane_rows * LINE_H + 8
    head = 18.0  # panel title row
    a_top = head + lane
    a_h = 170.0 if width > 500 else 150.0
    gap = 26.0
    p_top = a_top + a_h + gap
    p_h = 76.0
    height = p_top + p_h + 28
    svg = Svg(width, height, [])
    svg.text(left, 12, "hip and knee flexion", size=10, color=INK, bold=True)

    col = 1 if leg == "left" else 2
    inside = series[(series[:, 0] >= t0) & (series[:, 0] <= t1)] if len(series) else series
    finite = inside[:, 1:][np.isfinite(inside[:, 1:])] if len(inside) else np.empty(0)
    top = max(120.0, float(finite.max()) + 5 if finite.size else 0.0)
    bottom = min(-10.0, float(finite.min()) - 2 if finite.size else 0.0)
    y = Scale(bottom, top, a_top + a_h, a_top)
    for p in status:  # not judged: shaded grey in both panels
        end = p["end_s"] if p["end_s"] is not None else t1
        if end > t0 and p["start_s"] < t1:
            a, b = x(max(p["start_s"], t0)), x(min(end, t1))
            svg.rect(a, a_top, b - a, a_h, "#868e96", 0.12)
            svg.rect(a, p_top, b - a, p_h, "#868e96", 0.12)
    for rep in reps:
        a, b = x(rep["start_s"]), x(rep["end_s"])
        color = BAD if rep["faults"] else GOOD
        svg.rect(a, a_top, b - a, a_h, color, 0.12)
        svg.rect(a, p_top, b - a, p_h, color, 0.12)
    svg.rect(left, y(hip_band[1]), right - left, y(hip_band[0]) - y(hip_band[1]), GOOD, 0.07)
    _y_axis(svg, y, left, right, "°")
    if len(inside):
        t = inside[:, 0]
        other = 2 if col == 1 else 1
        svg.path(zip(x_of(x, t), y_of(y, inside[:, other]), strict=True), MUTED, 1.2, "curve")
        svg.path(zip(x_of(x, t), y_of(y, inside[:, col + 2]), strict=True), LEG_COLOR[leg],
                 1.6, "curve", dash="5 3", opacity=0.8)  # fmt: skip
        svg.path(zip(x_of(x, t), y_of(y, inside[:, col]), strict=True), LEG_COLOR[leg], 2.2,
                 "curve")  # fmt: skip
    else:
        svg.text((left + right) / 2, a_top + 20, "angle trace not recorded: peaks only",
                 anchor="middle", size=11, color="#868e96")  # fmt: skip
    for rep, row, lines in zip(reps, rows, texts, strict=True):
        cx, w, n = blocks[reps.index(rep)]
        a = min(max(cx - w / 2, left), right - w)
        base = a_top - 6 - (row + n - 1) * LINE_H  # the block's top line baseline
        color = BAD if rep["faults"] else SOFT
        px, py = x(rep["peak_s"]), y(rep["peak_hip_flexion_deg"])
        svg.line(px, a_top - 4 - row * LINE_H, px, py, color, 0.7, dash="2 2")
        for k, s in enumerate(lines):
            svg.text(a + w / 2, base + k * LINE_H, s, anchor="middle", color=color,
                     bold=k > 0, size=FONT if k else 10)  # fmt: skip
        svg.dot(px, py, BAD if rep["faults"] else GOOD)

    # pelvis panel
    values = [excess_tilt(r) for r in reps]
    known = [v for v in values if v is not None]
    p_lo = min(-2.0, min(known, default=0.0) - 1)
    p_hi = max(lumbar_limit * 1.6, max(known, default=0.0) + 2)
    py_ = Scale(p_lo, p_hi, p_top + p_h, p_top)
    svg.text(left, p_top - 8, "pelvis tilt beyond normal", size=10, color=INK, bold=True)
    limit = f"lumbar limit {lumbar_limit:g}°"
    svg.text(right, p_top - 8, limit, anchor="end", size=10, color=BAD)
    svg.rect(left, py_(p_hi), right - left, py_(lumbar_limit) - py_(p_hi), BAD, 0.06)
    _y_axis(svg, py_, left, right, "°", min_gap=18)
    svg.line(left, py_(lumbar_limit), right, py_(lumbar_limit), BAD, 1.2, dash="6 3")
    pts = [(x(r["peak_s"]), py_(v) if v is not None else math.nan)
           for r, v in zip(reps, values, strict=True)]  # fmt: skip
    svg.path(pts, LEG_COLOR[leg], 1.4, "pelvis", opacity=0.7)
    for rep, (px, py) in zip(reps, pts, strict=True):
        if math.isfinite(py):
            lumbar = "lumbar_rounding" in rep["faults"]
            svg.dot(px, py, BAD if lumbar else LEG_COLOR[leg], r=5 if lumbar else 3.5,
                    cls="lumbar" if lumbar else "")  # fmt: skip

    # time axis
    step = nice_step(t1 - t0, right - left, 48)
    v = math.ceil(t0 / step) * step
    while v <= t1:
        svg.line(x(v), p_top + p_h, x(v), p_top + p_h + 4, "#ced4da")
        svg.text(x(v), p_top + p_h + 19, f"{v:g} s", anchor="middle", size=10)
        v += step
    return svg


def x_of(x: Scale, values: np.ndarray) -> list[float]:
    return [x(float(v)) for v in values]


def y_of(y: Scale, values: np.ndarray) -> list[float]:
    return [y(float(v)) if np.isfinite(v) else math.nan for v in values]


@dataclass(frozen=True)
class Panel:
    """One row of the trend chart: per session and leg (or one value for both legs)."""

    title: str
    unit: str
    values: dict[str, Sequence[float | None]]  # leg or "all" -> one value per session
    lo: float
    hi: float
    band: tuple[float, float] | None = None


def trend_chart(panels: list[Panel], ticks: list[str], current: int, width: float) -> Svg:
    """Small multiples over the sessions, sharing one session axis: values as dots joined
    by lines, a value of 0 still drawn as a dot (never lost on the axis), a missing one
    left out."""
    left, right = 44.0, width - 10.0
    n = len(ticks)
    slot = (right - left) / n
    xs = [left + slot * (i + 0.5) for i in range(n)]
    ph, gap = 84.0, 30.0
    svg = Svg(width, len(panels) * (ph + gap) + 34, [])
    for k, panel in enumerate(panels):
        top = k * (ph + gap) + gap
        svg.text(left, top - 10, panel.title, size=10, color=INK, bold=True)
        y = Scale(panel.lo, panel.hi, top + ph, top + 6)
        if panel.band:
            svg.rect(left, y(panel.band[1]), right - left, y(panel.band[0]) - y(panel.band[1]),
                     GOOD, 0.07)  # fmt: skip
        _y_axis(svg, y, left, right, panel.unit, min_gap=20)
        svg.rect(xs[current] - slot / 2, top, slot, ph, "#868e96", 0.08)
        for key, vals in panel.values.items():
            color = LEG_COLOR.get(key, GOOD)
            pts = [
                (xi, y(v) if v is not None else math.nan) for xi, v in zip(xs, vals, strict=True)
            ]
            svg.path(pts, color, 2.0, "trend")
            for px, py in pts:
                if math.isfinite(py):
                    svg.dot(px, py, color, r=4)
    every = max(1, math.ceil((text_width("00 Mmm", 10) + 8) / slot))
    base = len(panels) * (ph + gap) + 16
    for i, label in enumerate(ticks):
        if (n - 1 - i) % every == 0:
            svg.text(xs[i], base, label, anchor="middle", size=10, bold=i == current,
                     color=INK if i == current else SOFT)  # fmt: skip
    return svg


def leg_legend() -> str:
    """The key to the leg colours, as page text under a chart."""
    return " ".join(
        f'<span class="key"><i style="background:{LEG_COLOR[leg]}"></i>{leg} leg</span>'
        for leg in LEGS
    )
