"""The coach's session report: one self-contained HTML file (charts as inline SVG, system
fonts, no script, nothing fetched), so it can be copied off the box and opened anywhere,
offline.

A coach should get the session at a glance: the headline numbers and a one-line read at the
top, then each set as a picture (the working leg's hip and knee angles, reps shaded good or
faulted, faults named over the peak, and the pelvis tilt against the lumbar limit under it),
the numbers under each picture, faults by leg, how the box judged (thresholds and cues), and
the trend over the athlete's recent sessions. A session with no reps says why. When the box
recorded the session (`storage.record`), each set also shows its clip and each rep its still
at the peak (edge/report_media.py); those are linked, not embedded.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge import __version__
from edge.config.exercise import ExerciseConfig
from edge.config.faults import REGISTRY
from edge.history import LEGS, History
from edge.report_charts import BAD, GOOD, LEG_COLOR, excess_tilt, leg_legend, set_chart
from edge.report_css import CSS
from edge.report_media import Media, find_media, set_media
from edge.report_trend import judged_section, trend_section

FAULT_LABELS = {f.name: (f.label, f.sees) for f in REGISTRY}
STATUS_LABELS = {
    "not_lying": "not lying down",
    "tracking_lost": "tracking lost",
    "no_athlete": "no athlete in view",
}


@dataclass(frozen=True)
class Targets:
    """The bands the judge held the reps to, from the config in force."""

    hip: tuple[float, float]
    knee: tuple[float, float]
    lumbar: float  # pelvic tilt allowed beyond normal, degrees
    lift: float  # the shortest lift that is not rushed, seconds
    config: ExerciseConfig

    @classmethod
    def of(cls, cfg: ExerciseConfig) -> Targets:
        f = cfg.faults
        ka = f.knee_angle
        hip = (f.short_range.min_peak_deg, f.over_flexion.max_peak_deg)
        knee = (ka.target_deg - ka.tolerance_deg, ka.target_deg + ka.tolerance_deg)
        return cls(hip, knee, f.lumbar_rounding.max_excess_tilt_deg, f.too_fast.min_lift_s, cfg)


def fault_label(name: str) -> str:
    return FAULT_LABELS.get(name, (name.replace("_", " "), ""))[0]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def build_report(history: History, session_id: int, trend_limit: int = 10,
                 exercise: ExerciseConfig | None = None, profile: str = "", *,
                 recordings: Path | None = None, link_from: Path | None = None) -> str:  # fmt: skip
    """The report for one session, as HTML text; target bands and thresholds from
    `exercise` (the box's config, its `profile` named), else the defaults. Clips and stills
    come from `recordings` (default: `clips` beside the history database, the box's layout),
    linked relative to `link_from` (the report's folder) if given, else as file:// URLs."""
    session = history.session(session_id)
    series = history.series(session_id)
    trend = history.sessions(athlete=session["athlete"], last=trend_limit, until_id=session_id)
    if recordings is None:
        recordings = Path(history.path).parent / "clips"
    media = find_media(recordings, session["started_at"], link_from)
    return _page(session, series, trend, Targets.of(exercise or ExerciseConfig()),
                 lambda sid: series if sid == session_id else history.series(sid),
                 profile, media)  # fmt: skip


def _page(session: dict[str, Any], series: np.ndarray, trend: list[dict[str, Any]],
          targets: Targets, series_of: Callable[[int], np.ndarray],
          profile: str = "", media: Media | None = None) -> str:  # fmt: skip
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
    sets = _sets(session)
    if sets:
        body.append(_status_line(session))
    else:
        body.append(f'<section class="nothing"><p>{_e(nothing_judged(session))}</p></section>')
    for number, leg, reps in sets:
        body.append(_set_section(number, leg, reps, series, session["status"], targets,
                                 media or Media()))  # fmt: skip
    if sets:
        body.append(_fault_table(session))
    body.append(judged_section(targets.config, profile))
    body.append(trend_section(session, trend, targets, series_of))
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
    top.sort(key=lambda nc: (-nc[1], nc[0]))  # most common first, whatever the summary's order
    other = f"{fault_label(top[0][0])} ×{top[0][1]}" if top else "none"
    if not reps:
        round_class, other = "", "–"
    tiles = [
        ("reps", str(summary["reps"]), f"left {by_leg['left']} · right {by_leg['right']}", ""),
        (
            "good reps",
            _pct(summary["good_reps"], summary["reps"]),
            f"{summary['good_reps']} of {plural(summary['reps'], 'rep')} without a fault"
            if reps
            else "nothing judged",
            good_class,
        ),
        (
            "lumbar rounding",
            str(sum(rounding.values())) if reps else "–",
            f"left {rounding['left']} · right {rounding['right']}" if reps else "nothing judged",
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
        return "No reps were judged in this session."
    total = _leg_counts(reps)
    rounding = _leg_counts(reps, "lumbar_rounding")
    worst = max(LEGS, key=lambda leg: (rounding[leg] / total[leg]) if total[leg] else 0.0)
    if not rounding[worst]:
        good = session["summary"]["good_reps"]
        return (
            f"No lumbar rounding on any of {plural(len(reps), 'rep')}; "
            f"{good} {'was' if good == 1 else 'were'} clean of every fault."
        )
    other = "right" if worst == "left" else "left"
    text = (
        f"Lumbar rounding on {rounding[worst]} of {plural(total[worst], worst + '-leg rep')} "
        f"({_pct(rounding[worst], total[worst])})"
    )
    if total[other]:
        text += f", against {rounding[other]} of {total[other]} on the {other} leg"
    return text + "."


def _status_time(session: dict[str, Any]) -> dict[str, float]:
    """Seconds spent in each not-judged status; an open period runs to the session's end."""
    spent: dict[str, float] = {}
    for p in session["status"]:
        end = p["end_s"] if p["end_s"] is not None else (session["duration_s"] or p["start_s"])
        spent[p["status"]] = spent.get(p["status"], 0.0) + max(0.0, end - p["start_s"])
    return spent


def _status_line(session: dict[str, Any]) -> str:
    spent = _status_time(session)
    if not spent:
        return ""
    parts = ", ".join(f"{STATUS_LABELS.get(k, k)} {v:.0f} s" for k, v in spent.items())
    return f'<p class="status">Not judged: {_e(parts)}.</p>'


def nothing_judged(session: dict[str, Any]) -> str:
    """Why a session has no reps, from its status periods: what the box saw instead."""
    spent = {k: v for k, v in _status_time(session).items() if v >= 0.5}
    length = session["duration_s"]
    seen = f" in {length:.0f} s" if length else ""
    if not spent:
        return (
            f"Nothing was judged: the athlete was in view and lying down, but no lift of "
            f"either leg was seen{seen}."
        )
    ranked = sorted(spent.items(), key=lambda kv: -kv[1])
    parts = [f"{STATUS_LABELS.get(k, k.replace('_', ' '))} for {v:.0f} s" for k, v in ranked]
    return f"Nothing was judged{seen}: {', '.join(parts)}, and no lift was seen otherwise."


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
    media: Media,
) -> str:
    """A set: its chart twice (wide for desktops, narrow for phones; CSS shows one), the
    key to it, the reps' numbers, and its clip and stills if it was recorded."""
    good = sum(1 for r in reps if not r["faults"])
    charts = []
    for cls, width, max_rows in (("wide", 760.0, 6), ("narrow", 360.0, 5)):
        svg = None
        for labels in ("full", "numbers"):
            svg = set_chart(leg, reps, series, status, targets.hip, targets.lumbar, width,
                            labels, fault_label)  # fmt: skip
            if svg.height < 360 + max_rows * 14:
                break
        assert svg is not None
        alt = (
            f"Set {number}: {leg} hip and knee flexion and pelvis tilt, {plural(len(reps), 'rep')}"
        )
        charts.append(svg.markup(f"chart {cls}", alt))
    rows = "".join(_rep_row(r, targets) for r in reps)
    return (
        f'<section class="set"><h2><span class="dot" style="background:{LEG_COLOR[leg]}">'
        f"</span>Set {number} · {leg} leg <small>{plural(len(reps), 'rep')} · {good} good"
        f"</small></h2>{''.join(charts)}"
        f'<p class="legend">{leg_legend()} <span class="key"><i style="background:{GOOD}">'
        f'</i>good rep</span> <span class="key"><i style="background:{BAD}"></i>faulted rep'
        '</span> <span class="key"><i style="background:#ced4da"></i>not judged</span><br>'
        f"Hip solid, knee dashed, other hip grey; green band: hip target "
        f"{targets.hip[0]:g}–{targets.hip[1]:g}°. Pelvis tilt is stored once per rep, at its "
        "top (not frame by frame): each point is that rep's tilt beyond the normal tilt for "
        f"its hip flexion, against the lumbar limit of {targets.lumbar:g}°; big red points are "
        "reps judged lumbar rounding.</p>"
        '<div class="scroll"><table class="reps"><thead><tr><th>rep</th><th>peak hip</th>'
        "<th>knee at top</th>"
        "<th>pelvis beyond normal</th><th>lift</th><th>faults</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
        f"{set_media(media, number, reps, _still_caption)}</section>"
    )


def _still_caption(rep: dict[str, Any]) -> str:
    faults = ", ".join(fault_label(f) for f in rep["faults"]) or "good"
    return _e(f"Rep {rep['index']} · {rep['peak_hip_flexion_deg']:.0f}° · {faults}")


def _rep_row(rep: dict[str, Any], targets: Targets) -> str:
    hip, knee = rep["peak_hip_flexion_deg"], rep["knee_flexion_at_peak_deg"]
    pelvis = excess_tilt(rep)
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
        f"{_deg(pelvis, 1, sign=True)}</td><td class='{lift_cls}'>{rep['lift_s']:.2f} s</td>"
        f"<td>{chips}</td></tr>"
    )


def _deg(value: float | None, digits: int, sign: bool = False) -> str:
    """An angle for the table; the judge reports None when the joint was not seen."""
    return "–" if value is None else f"{value:{'+' if sign else ''}.{digits}f}°"


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
        '<section><h2>Faults by leg</h2><div class="scroll"><table class="faults"><thead>'
        "<tr><th></th>"
        f"<th>left leg · {plural(total['left'], 'rep')}</th>"
        f"<th>right leg · {plural(total['right'], 'rep')}</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )
