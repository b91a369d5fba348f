"""The coach's session report: one self-contained HTML file (charts inlined as SVG data
URIs, system fonts, no script, nothing fetched), so it can be copied off the box and opened
anywhere, offline.

A coach should get the session at a glance: the headline numbers and a one-line read at the
top, then each set as a picture (the working leg's hip and knee angles, reps shaded good or
faulted, faults named at the peak), the numbers under each picture, faults by leg, and the
trend over the athlete's recent sessions.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from edge import __version__
from edge.config.exercise import ExerciseConfig
from edge.config.faults import REGISTRY
from edge.history import LEGS, History

FAULT_LABELS = {f.name: (f.label, f.sees) for f in REGISTRY}
STATUS_LABELS = {
    "not_lying": "not lying down",
    "tracking_lost": "tracking lost",
    "no_athlete": "no athlete in view",
}
LEG_COLOR = {"left": "#2563eb", "right": "#d9480f"}
GOOD, BAD, MUTED, INK = "#2f9e44", "#e03131", "#adb5bd", "#212529"


@dataclass(frozen=True)
class Targets:
    """The bands the judge held the reps to, from the config in force."""

    hip: tuple[float, float]
    knee: tuple[float, float]

    @classmethod
    def of(cls, cfg: ExerciseConfig) -> Targets:
        f = cfg.faults
        ka = f.knee_angle
        hip = (f.short_range.min_peak_deg, f.over_flexion.max_peak_deg)
        return cls(hip, (ka.target_deg - ka.tolerance_deg, ka.target_deg + ka.tolerance_deg))


def fault_label(name: str) -> str:
    return FAULT_LABELS.get(name, (name.replace("_", " "), ""))[0]


def build_report(history: History, session_id: int, trend_limit: int = 10,
                 exercise: ExerciseConfig | None = None) -> str:  # fmt: skip
    """The report for one session, as HTML text; target bands from `exercise` (the box's
    config), else the defaults."""
    session = history.session(session_id)
    series = history.series(session_id)
    trend = history.sessions(athlete=session["athlete"], last=trend_limit, until_id=session_id)
    return _page(session, series, trend, Targets.of(exercise or ExerciseConfig()))


def _page(session: dict[str, Any], series: np.ndarray, trend: list[dict[str, Any]],
          targets: Targets) -> str:  # fmt: skip
    athlete = session["athlete"] or "Untagged athlete"
    started = datetime.fromisoformat(session["started_at"]).astimezone()
    body = [
        '<header><div class="who">',
        f"<h1>{_e(athlete)}</h1>",
        f'<p class="when">{started:%A %d %B %Y, %H:%M} · {_duration(session)}</p>',
        "</div>",
        f'<p class="src">session {session["id"]} · {_e(session["source"] or "camera")} · '
        f"{_e(session['model'])}"
        + (f" · {session['fps']:.0f} fps" if session["fps"] else "")
        + "</p>",
        "</header>",
    ]
    if session["ended_at"] is None:
        body.append(
            '<p class="warn">This session did not end cleanly (power cut or crash). '
            "Every rep completed before it stopped is here.</p>"
        )
    body += [_tiles(session), f'<p class="read">{_e(_coach_read(session))}</p>']
    body.append(_status_line(session))
    sets = _sets(session)
    if not sets:
        body.append(
            '<section><p class="empty">No reps were recorded in this session.</p></section>'
        )
    for number, leg, reps in sets:
        body.append(_set_section(number, leg, reps, series, session["status"], targets))
    body.append(_fault_table(session))
    body.append(_trend_section(session, trend))
    body.append(
        f"<footer>hipflex {__version__} · report written "
        f"{datetime.now(UTC).astimezone():%d %b %Y %H:%M} · hip flexion is the thigh against "
        "the resting trunk line; 0° = leg long, 90° = thigh vertical</footer>"
    )
    title = f"{athlete} · {started:%d %b %Y} · hipflex"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _duration(session: dict[str, Any]) -> str:
    seconds = session["duration_s"]
    if seconds is None and session["reps"]:
        seconds = session["reps"][-1]["end_s"]
    if seconds is None:
        return "length unknown"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _leg_counts(reps: list[dict[str, Any]], fault: str | None = None) -> dict[str, int]:
    return {
        leg: sum(1 for r in reps if r["leg"] == leg and (fault is None or fault in r["faults"]))
        for leg in LEGS
    }


def _tiles(session: dict[str, Any]) -> str:
    reps, summary = session["reps"], session["summary"]
    by_leg = summary["by_leg"]
    rounding = _leg_counts(reps, "lumbar_rounding")
    good_class = "good" if summary["reps"] and summary["good_reps"] / summary["reps"] >= 0.8 else ""
    round_class = "bad" if sum(rounding.values()) else "good"
    top = [(n, c) for n, c in summary["faults"].items() if n != "lumbar_rounding"]
    other = f"{fault_label(top[0][0])} ×{top[0][1]}" if top else "none"
    tiles = [
        ("reps", str(summary["reps"]), f"left {by_leg['left']} · right {by_leg['right']}", ""),
        (
            "good reps",
            _pct(summary["good_reps"], summary["reps"]),
            f"{summary['good_reps']} of {summary['reps']} without a fault",
            good_class,
        ),
        (
            "lumbar rounding",
            str(sum(rounding.values())),
            f"left {rounding['left']} · right {rounding['right']}",
            round_class,
        ),
        ("most common other fault", other, "", "small"),
    ]
    cells = "".join(
        f'<div class="tile {cls}"><span class="k">{_e(k)}</span>'
        f'<span class="v">{_e(v)}</span><span class="s">{_e(s)}</span></div>'
        for k, v, s, cls in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _coach_read(session: dict[str, Any]) -> str:
    """One plain sentence on what matters most: lumbar rounding, per leg."""
    reps = session["reps"]
    if not reps:
        return "Nothing to judge yet."
    total = _leg_counts(reps)
    rounding = _leg_counts(reps, "lumbar_rounding")
    worst = max(LEGS, key=lambda leg: (rounding[leg] / total[leg]) if total[leg] else 0.0)
    if not rounding[worst]:
        good = session["summary"]["good_reps"]
        return (
            f"No lumbar rounding on any of {len(reps)} reps; {good} reps were clean of every fault."
        )
    other = "right" if worst == "left" else "left"
    text = (
        f"Lumbar rounding on {rounding[worst]} of {total[worst]} {worst}-leg reps "
        f"({_pct(rounding[worst], total[worst])})"
    )
    if total[other]:
        text += f", against {rounding[other]} of {total[other]} on the {other} leg"
    return text + "."


def _status_line(session: dict[str, Any]) -> str:
    spent: dict[str, float] = {}
    for p in session["status"]:
        end = p["end_s"] if p["end_s"] is not None else p["start_s"]
        spent[p["status"]] = spent.get(p["status"], 0.0) + max(0.0, end - p["start_s"])
    if not spent:
        return ""
    parts = ", ".join(f"{STATUS_LABELS.get(k, k)} {v:.0f} s" for k, v in spent.items())
    return f'<p class="status">Not judged: {_e(parts)}.</p>'


def _sets(session: dict[str, Any]) -> list[tuple[int, str, list[dict[str, Any]]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for rep in session["reps"]:
        grouped.setdefault(rep["set"], []).append(rep)
    return [(n, reps[0]["leg"], reps) for n, reps in sorted(grouped.items())]


def _set_section(
    number: int,
    leg: str,
    reps: list[dict[str, Any]],
    series: np.ndarray,
    status: list[dict[str, Any]],
    targets: Targets,
) -> str:
    good = sum(1 for r in reps if not r["faults"])
    chart = _svg_uri(_set_figure(leg, reps, series, status, targets))
    alt = f"Set {number}: {leg} hip and knee flexion over time, {len(reps)} reps"
    rows = "".join(_rep_row(r, targets) for r in reps)
    return (
        f'<section class="set"><h2><span class="dot" style="background:{LEG_COLOR[leg]}">'
        f"</span>Set {number} · {leg} leg <small>{len(reps)} reps · {good} good</small></h2>"
        f'<img class="chart" src="{chart}" alt="{_e(alt)}">'
        '<table class="reps"><thead><tr><th>rep</th><th>peak hip</th><th>knee at top</th>'
        "<th>pelvis tilt</th><th>lift</th><th>faults</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _rep_row(rep: dict[str, Any], targets: Targets) -> str:
    hip, knee = rep["peak_hip_flexion_deg"], rep["knee_flexion_at_peak_deg"]
    pelvis = rep["pelvis_tilt_deg"]
    hip_cls = "" if targets.hip[0] <= hip <= targets.hip[1] else "off"
    knee_cls = "" if knee is None or targets.knee[0] <= knee <= targets.knee[1] else "off"
    pelvis_cls = "off" if "lumbar_rounding" in rep["faults"] else ""
    lift_cls = "off" if "too_fast" in rep["faults"] else ""
    chips = (
        " ".join(
            f'<span class="chip{" key" if f == "lumbar_rounding" else ""}" '
            f'title="{_e(FAULT_LABELS.get(f, ("", ""))[1])}">{_e(fault_label(f))}</span>'
            for f in rep["faults"]
        )
        or '<span class="ok">✓ good</span>'
    )
    return (
        f"<tr><td>{rep['index']}</td><td class='{hip_cls}'>{hip:.0f}°</td>"
        f"<td class='{knee_cls}'>{_deg(knee, 0)}</td><td class='{pelvis_cls}'>"
        f"{_deg(pelvis, 1)}</td><td class='{lift_cls}'>{rep['lift_s']:.2f} s</td>"
        f"<td>{chips}</td></tr>"
    )


def _deg(value: float | None, digits: int) -> str:
    """An angle for the table; the judge reports None when the joint was not seen."""
    return "–" if value is None else f"{value:.{digits}f}°"


def _fault_table(session: dict[str, Any]) -> str:
    reps = session["reps"]
    total = _leg_counts(reps)
    names = list(FAULT_LABELS) + sorted(set(session["summary"]["faults"]) - set(FAULT_LABELS))
    rows = []
    for name in names:
        counts = _leg_counts(reps, name)
        cells = []
        for leg in LEGS:
            n = counts[leg]
            width = 100 * n / total[leg] if total[leg] else 0
            cells.append(
                f'<td class="{"zero" if n == 0 else ""}"><span class="bar" style="width:'
                f'{width:.0f}%;background:{LEG_COLOR[leg]}"></span><b>{n}</b> '
                f"<i>{_pct(n, total[leg]) if n else ''}</i></td>"
            )
        label, what = FAULT_LABELS.get(name, (fault_label(name), ""))
        rows.append(
            f'<tr class="{"key" if name == "lumbar_rounding" else ""}"><th>{_e(label)}'
            f"<small>{_e(what)}</small></th>{''.join(cells)}</tr>"
        )
    return (
        '<section><h2>Faults by leg</h2><table class="faults"><thead><tr><th></th>'
        f"<th>left leg · {total['left']} reps</th><th>right leg · {total['right']} reps</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _trend_section(session: dict[str, Any], trend: list[dict[str, Any]]) -> str:
    who = session["athlete"] or "untagged sessions"
    if len(trend) < 2:
        hint = (
            "" if session["athlete"] else " Tag sessions with --athlete NAME to follow one athlete."
        )
        return (
            f"<section><h2>Trend · {_e(who)}</h2><p class='empty'>The trend appears from the "
            f"second session on.{_e(hint)}</p></section>"
        )
    chart = _svg_uri(_trend_figure(trend, session["id"]))
    return (
        f"<section><h2>Trend · {_e(who)} <small>last {len(trend)} sessions</small></h2>"
        f'<img class="chart" src="{chart}" alt="Good reps and lumbar rounding per session">'
        "</section>"
    )


# ----------------------------------------------------------------------- charts


def _figure(width_in: float, height_in: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    return fig


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#ced4da")
    ax.tick_params(colors="#495057", labelsize=9)
    ax.grid(axis="y", color="#f1f3f5", linewidth=0.8)
    ax.set_axisbelow(True)


def _set_figure(
    leg: str,
    reps: list[dict[str, Any]],
    series: np.ndarray,
    status: list[dict[str, Any]],
    targets: Targets,
):
    """Working-leg hip (solid) and knee (dashed) flexion; each rep shaded green or red, its
    faults written over its peak; the other leg's hip thin and grey (it should stay down)."""
    t0 = reps[0]["start_s"] - 2.0
    t1 = reps[-1]["end_s"] + 2.0
    fig = _figure(9.6, 3.4)
    ax = fig.add_subplot()
    _style(ax)
    ax.axhspan(*targets.hip, color=GOOD, alpha=0.06, linewidth=0)
    ax.text(t1, targets.hip[1], " hip target ", ha="right", va="bottom", fontsize=8, color=GOOD)
    for p in status:
        end = p["end_s"] if p["end_s"] is not None else t1
        if end > t0 and p["start_s"] < t1:
            ax.axvspan(max(p["start_s"], t0), min(end, t1), facecolor="#e9ecef", hatch="///",
                       edgecolor="#ced4da", linewidth=0)  # fmt: skip
    for rep in reps:
        ax.axvspan(rep["start_s"], rep["end_s"], color=BAD if rep["faults"] else GOOD,
                   alpha=0.13, linewidth=0)  # fmt: skip
    col = 1 if leg == "left" else 2
    inside = series[(series[:, 0] >= t0) & (series[:, 0] <= t1)]
    top = 125.0
    if len(inside):
        t = inside[:, 0]
        other = 2 if col == 1 else 1
        ax.plot(t, inside[:, other], color=MUTED, linewidth=1.0, label="other leg hip")
        ax.plot(t, inside[:, col + 2], color=LEG_COLOR[leg], linewidth=1.6, linestyle=(0, (4, 2)),
                alpha=0.75, label=f"{leg} knee")  # fmt: skip
        ax.plot(t, inside[:, col], color=LEG_COLOR[leg], linewidth=2.2, label=f"{leg} hip")
        finite = inside[:, 1:][np.isfinite(inside[:, 1:])]
        if finite.size:
            top = max(top, float(finite.max()) + 20)
    else:
        ax.text(0.5, 0.5, "angle trace not recorded: peaks only", transform=ax.transAxes,
                ha="center", color="#868e96", fontsize=10)  # fmt: skip
    peaks_t = [r["peak_s"] for r in reps]
    peaks = [r["peak_hip_flexion_deg"] for r in reps]
    colors = [BAD if r["faults"] else GOOD for r in reps]
    ax.scatter(peaks_t, peaks, s=28, c=colors, zorder=5, edgecolors="white", linewidths=0.8)
    for rep in reps:
        ax.text(rep["peak_s"], rep["peak_hip_flexion_deg"] + 4, str(rep["index"]), ha="center",
                va="bottom", fontsize=8, color="#495057")  # fmt: skip
        if rep["faults"]:
            label = "\n".join(fault_label(f) for f in rep["faults"])
            ax.annotate(label, (rep["peak_s"], rep["peak_hip_flexion_deg"]), xytext=(0, 16),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7,
                        color=BAD, fontweight="bold")  # fmt: skip
    rows = max((len(r["faults"]) for r in reps), default=0)
    ax.set_xlim(t0, t1)
    ax.set_ylim(-5, top + 10 * rows)
    ax.set_ylabel("flexion (°)", fontsize=9, color="#495057")
    ax.set_xlabel("session time (s)", fontsize=9, color="#495057")
    if len(inside):
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=3)
    return fig


def _trend_figure(trend: list[dict[str, Any]], current_id: int):
    """Per session: lumbar rounding as a share of each leg's reps (bars, counts on top) and
    good reps as a share of all reps (line)."""
    fig = _figure(9.6, 3.0)
    ax = fig.add_subplot()
    _style(ax)
    x = np.arange(len(trend))
    width = 0.36
    for k, leg in enumerate(LEGS):
        counts, rates = [], []
        for s in trend:
            n = _leg_counts(s["reps"], "lumbar_rounding")[leg]
            total = _leg_counts(s["reps"])[leg]
            counts.append(n)
            rates.append(100 * n / total if total else 0.0)
        xs = x + (k - 0.5) * width
        ax.bar(xs, rates, width, color=LEG_COLOR[leg], alpha=0.85,
               label=f"lumbar rounding, {leg} leg (% of its reps)")  # fmt: skip
        for xi, rate, n in zip(xs, rates, counts, strict=True):
            if n:
                ax.text(xi, rate + 1.5, str(n), ha="center", fontsize=7, color="#495057")
    good = [100 * s["summary"]["good_reps"] / s["summary"]["reps"] if s["summary"]["reps"]
            else np.nan for s in trend]  # fmt: skip
    ax.plot(x, good, color=GOOD, marker="o", linewidth=2, label="good reps (%)")
    labels = []
    for s in trend:
        day = datetime.fromisoformat(s["started_at"]).astimezone()
        labels.append(f"{day:%d %b}\n#{s['id']}")
    ax.set_xticks(x, labels)
    for tick, s in zip(ax.get_xticklabels(), trend, strict=True):
        if s["id"] == current_id:
            tick.set_fontweight("bold")
            tick.set_color(INK)
    ax.set_ylim(0, 112)
    ax.set_ylabel("% of reps", fontsize=9, color="#495057")
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=3, bbox_to_anchor=(0, 1.18))
    return fig


def _svg_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


CSS = """
:root{--ink:#212529;--muted:#868e96;--line:#e9ecef;--good:#2f9e44;--bad:#e03131;
--left:#2563eb;--right:#d9480f}
*{box-sizing:border-box}
body{margin:0;background:#f8f9fa;color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1000px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;
border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:18px;flex-wrap:wrap}
h1{font-size:34px;margin:0;letter-spacing:-.5px}
.when{margin:2px 0 0;color:#495057;font-size:16px}
.src{margin:0;color:var(--muted);font-size:13px}
.warn{background:#fff4e6;border-left:4px solid #f08c00;padding:10px 14px;border-radius:4px}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:0 0 14px}
.tile{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px #0000000f;
border-top:4px solid #dee2e6;display:flex;flex-direction:column}
.tile.good{border-top-color:var(--good)}.tile.bad{border-top-color:var(--bad)}
.tile .k{text-transform:uppercase;font-size:11px;letter-spacing:.8px;color:var(--muted)}
.tile .v{font-size:34px;font-weight:700;line-height:1.15}
.tile.small .v{font-size:20px;padding-top:8px}
.tile.bad .v{color:var(--bad)}.tile.good .v{color:var(--good)}
.tile .s{font-size:13px;color:#495057}
.read{font-size:18px;margin:4px 0 6px;font-weight:600}
.status{color:var(--muted);margin:0 0 8px;font-size:13px}
section{background:#fff;border-radius:10px;padding:16px 18px;margin:16px 0;
box-shadow:0 1px 2px #0000000f}
h2{font-size:19px;margin:0 0 8px;display:flex;align-items:center;gap:8px}
h2 small{font-weight:400;color:var(--muted);font-size:14px}
.dot{display:inline-block;width:12px;height:12px;border-radius:50%}
.chart{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line)}
thead th{font-size:11px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);
font-weight:600}
.reps td.off{color:var(--bad);font-weight:700}
.chip{display:inline-block;background:#fff5f5;color:#c92a2a;border:1px solid #ffc9c9;
border-radius:999px;padding:0 8px;margin:1px 4px 1px 0;font-size:12px;white-space:nowrap}
.chip.key{background:var(--bad);color:#fff;border-color:var(--bad)}
.ok{color:var(--good);font-weight:600;font-size:13px}
.faults th small{display:block;font-weight:400;color:var(--muted);font-size:12px}
.faults td{position:relative;width:30%}
.faults td .bar{position:absolute;left:0;top:6px;bottom:6px;opacity:.18;border-radius:0 4px 4px 0}
.faults td b{position:relative;font-size:17px;margin:0 8px}
.faults td i{position:relative;color:var(--muted);font-style:normal;font-size:13px}
.faults td.zero{color:#ced4da}
.faults tr.key th{color:var(--bad)}
.empty{color:var(--muted)}
footer{color:var(--muted);font-size:12px;margin-top:24px;text-align:center}
@media (max-width:720px){.tiles{grid-template-columns:repeat(2,1fr)}}
@media print{body{background:#fff}section,.tile{box-shadow:none;border:1px solid var(--line)}
section{break-inside:avoid}}
"""
