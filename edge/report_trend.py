"""Two report sections that look beyond one set: how the box judged (the thresholds in
force, each fault's cue from the fault registry) and the athlete's trend across sessions
(range of motion and left/right difference, good-rep rate, lumbar rounding, lift and hold
time).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.config.exercise import ExerciseConfig
from edge.config.faults import REGISTRY
from edge.history import LEGS
from edge.report_charts import Panel, leg_legend, trend_chart

if TYPE_CHECKING:
    from edge.report import Targets

HOLD_BAND_DEG = 5.0  # "at the top": hip flexion within this of the rep's peak
UNITS = (("_deg", "°"), ("_torso", " torso lengths"), ("_s", " s"))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _value(name: str, value: Any) -> str:
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return f"{value:g}{unit}"
    return f"{value}"


def judged_section(cfg: ExerciseConfig, profile: str = "") -> str:
    """Per fault: what the box held the reps to (values changed by the profile or the
    config file marked with their default) and the one line a coach says to fix it."""
    rows = []
    for fault in REGISTRY:
        section = getattr(cfg.faults, fault.name)
        default = fault.config()
        if not section.enabled:
            rule = "off in the config: not judged"
        else:
            parts = []
            for name, info in type(section).model_fields.items():
                if name == "enabled":
                    continue
                value, was = getattr(section, name), getattr(default, name)
                text = f"{info.description}: <b>{_e(_value(name, value))}</b>"
                if value != was:
                    text += f" <i>(default {_e(_value(name, was))})</i>"
                parts.append(text)
            rule = "; ".join(parts)
        rows.append(
            f'<tr class="{"" if section.enabled else "off"}"><th>{_e(fault.label)}</th>'
            f'<td>{rule}</td><td class="cue">“{_e(fault.cue)}”</td></tr>'
        )
    return (
        f'<section class="judged"><h2>How it judged{_profile(profile)}</h2>'
        '<div class="scroll"><table>'
        "<thead><tr><th>fault</th><th>threshold in force</th><th>what to cue</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _profile(name: str) -> str:
    return f" <small>profile {_e(name)}</small>" if name else ""


def hold_times(reps: list[dict[str, Any]], series: np.ndarray) -> list[float | None]:
    """Seconds each rep's hip stayed within HOLD_BAND_DEG of its peak, from the angle
    series (None without one)."""
    out: list[float | None] = []
    for rep in reps:
        if not len(series):
            out.append(None)
            continue
        col = 1 if rep["leg"] == "left" else 2
        inside = series[(series[:, 0] >= rep["start_s"]) & (series[:, 0] <= rep["end_s"])]
        hip = inside[:, col]
        if len(inside) < 2 or not np.isfinite(hip).any():
            out.append(None)
            continue
        top = np.isfinite(hip) & (hip >= np.nanmax(hip) - HOLD_BAND_DEG)
        dt = float(np.median(np.diff(inside[:, 0])))
        out.append(float(top.sum()) * dt)
    return out


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None


def session_numbers(session: dict[str, Any], series: np.ndarray) -> dict[str, Any]:
    """One session's trend numbers: per leg, median peak hip, lift and hold, lumbar share;
    and the good-rep share of all reps."""
    reps = session["reps"]
    holds = dict(zip((id(r) for r in reps), hold_times(reps, series), strict=True))
    out: dict[str, Any] = {"reps": len(reps)}
    out["good"] = 100 * session["summary"]["good_reps"] / len(reps) if reps else None
    for leg in LEGS:
        mine = [r for r in reps if r["leg"] == leg]
        lumbar = sum(1 for r in mine if "lumbar_rounding" in r["faults"])
        out[leg] = {
            "n": len(mine),
            "peak": _median([r["peak_hip_flexion_deg"] for r in mine]),
            "lift": _median([r["lift_s"] for r in mine]),
            "hold": _median([holds[id(r)] for r in mine]),
            "lumbar": 100 * lumbar / len(mine) if mine else None,
        }
    left, right = out["left"]["peak"], out["right"]["peak"]
    out["diff"] = abs(left - right) if left is not None and right is not None else None
    return out


def _f(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def trend_section(session: dict[str, Any], trend: list[dict[str, Any]], targets: Targets,
                  series_of: Callable[[int], np.ndarray]) -> str:  # fmt: skip
    """The athlete's last sessions: a chart of small multiples (wide and narrow) and the
    numbers in a table, the current session in bold."""
    who = session["athlete"] or "untagged sessions"
    if len(trend) < 2:
        hint = (
            "" if session["athlete"] else " Tag sessions with --athlete NAME to follow one athlete."
        )
        return (
            f"<section><h2>Trend · {_e(who)}</h2><p class='empty'>The trend appears from the "
            f"second session on.{_e(hint)}</p></section>"
        )
    nums = [session_numbers(s, series_of(s["id"])) for s in trend]
    current = next(i for i, s in enumerate(trend) if s["id"] == session["id"])
    days = [datetime.fromisoformat(s["started_at"]).astimezone() for s in trend]
    ticks = [f"{d:%d %b}" for d in days]

    def per_leg(key: str) -> dict[str, list[float | None]]:
        return {leg: [n[leg][key] for n in nums] for leg in LEGS}

    peaks = [v for n in nums for leg in LEGS if (v := n[leg]["peak"]) is not None]
    lifts = [v for n in nums for leg in LEGS if (v := n[leg]["lift"]) is not None]
    panels = [
        Panel("good reps (% of all reps)", "%", {"all": [n["good"] for n in nums]}, -5, 105),
        Panel("lumbar rounding (% of each leg's reps)", "%", per_leg("lumbar"), -5, 105),
        Panel(
            "peak hip flexion (median)",
            "°",
            per_leg("peak"),
            min([targets.hip[0] - 10, *peaks]),
            max([targets.hip[1] + 5, *peaks]),
            band=targets.hip,
        ),
        Panel(
            "lift time (median)",
            " s",
            per_leg("lift"),
            0,
            max([2.0, *lifts]) * 1.1,
            band=(targets.lift, max([2.0, *lifts]) * 1.1),
        ),
    ]
    charts = "".join(
        trend_chart(panels, ticks, current, width).markup(f"chart {cls}", "Trend over sessions")
        for cls, width in (("wide", 760.0), ("narrow", 360.0))
    )
    rows = []
    for s, n, day in zip(trend, nums, days, strict=True):
        mark = ' class="now"' if s["id"] == session["id"] else ""
        cells = [
            f"{day:%d %b} <small>#{s['id']}</small>",
            f"{n['reps']}",
            _f(n["good"], ".0f") + ("%" if n["good"] is not None else ""),
        ]
        for key, fmt, unit in (("peak", ".0f", "°"), ("lumbar", ".0f", "%"), ("lift", ".2f", " s"),
                               ("hold", ".2f", " s")):  # fmt: skip
            cells.append(" / ".join(_f(n[leg][key], fmt) for leg in LEGS) + unit)
            if key == "peak":
                cells.append(_f(n["diff"], ".0f") + ("°" if n["diff"] is not None else ""))
        rows.append(f"<tr{mark}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "session",
            "reps",
            "good",
            "peak hip L / R",
            "L–R diff",
            "lumbar L / R",
            "lift L / R",
            "at top L / R",
        )
    )
    return (
        f"<section><h2>Trend · {_e(who)} <small>last {len(trend)} sessions</small></h2>"
        f'{charts}<p class="legend">{leg_legend()} <span class="key"><i style="background:'
        '#2f9e44"></i>good reps</span><br>Green bands: the targets in force. "At top" is the '
        f"time the hip stayed within {HOLD_BAND_DEG:g}° of the rep's peak (needs the angle "
        'trace). Medians per leg.</p><div class="scroll"><table class="trend"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )
