"""Whole-clip analysis: a KeypointTrack in, the `analyze --json` schema out (a contract),
plus what is derived from that schema alone: the summary (one, for analyze and the history),
the events a live run would have emitted (for importing a result into the history), and the
readable table `hipflex analyze` prints without --json."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from edge.config.faults import FAULTS
from edge.errors import HipflexError
from edge.events import Event

if TYPE_CHECKING:
    from edge.config.exercise import ExerciseConfig
    from edge.keypoints import KeypointTrack

LEGS = ("left", "right")


def analyze_track(
    track: KeypointTrack,
    config: ExerciseConfig | None = None,
    source: str = "",
    trace_path: str | None = None,
) -> dict:
    """Judge a whole clip with the live judge; `trace_path` also writes its per-frame CSV."""
    # Imported here: the history reads summarize() from this module, and listing sessions
    # must not load the judge.
    from edge.config.exercise import ExerciseConfig
    from edge.judge import judge_clip
    from edge.judge.trace import Trace

    config = config or ExerciseConfig()
    if trace_path is None:
        result = judge_clip(track.keypoints, track.landmarks, track.fps, config)
    else:
        try:
            with open(trace_path, "w", encoding="utf-8") as out:
                trace = Trace(out, config.pelvis.radius_torso)
                result = judge_clip(track.keypoints, track.landmarks, track.fps, config, trace)
        except OSError as exc:
            raise HipflexError(f"cannot write the trace {trace_path}: {exc.strerror}") from exc
    duration = round(track.frames / track.fps, 3)
    reps = result.reps
    status = []
    changes = [e for e in result.events if e.type == "status"]
    for k, e in enumerate(changes):
        if e.data["status"] == "ok":
            continue
        end = changes[k + 1].t if k + 1 < len(changes) else duration
        status.append(
            {"start_s": round(e.t, 3), "end_s": round(end, 3), "status": e.data["status"]}
        )
    return {
        "source": source,
        "model": track.model,
        "fps": float(track.fps),
        "frames": track.frames,
        "duration_s": duration,
        "status": status,
        "reps": reps,
        "summary": summarize(reps),
    }


def summarize(reps: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `summary` object of the analyze schema, from the reps: how many, how many had no
    fault, how many per leg, and how many had each fault. One function for `analyze` and
    for every session read from the history, so the two can never disagree.

    Faults are counted in the registry's order (edge.config.faults), the order they are
    listed everywhere. A name the registry does not know (a session stored by another
    hipflex version) is still counted, after the known ones, by name."""
    reps = list(reps)
    counts = Counter(name for rep in reps for name in rep["faults"])
    unknown = sorted(set(counts) - set(FAULTS))
    return {
        "reps": len(reps),
        "good_reps": sum(1 for rep in reps if not rep["faults"]),
        "by_leg": {leg: sum(1 for rep in reps if rep["leg"] == leg) for leg in LEGS},
        "faults": {name: counts[name] for name in (*FAULTS, *unknown) if counts[name]},
    }


def _fmt(x: float | None, unit: str = "") -> str:
    return "-" if x is None else f"{x:.0f}{unit}"


def render_table(result: dict) -> str:
    """Per-rep table and a summary, for a coach reading a terminal."""
    lines = [
        f"{result['source'] or 'input'}: {result['frames']} frames, "
        f"{result['duration_s']:.1f} s at {result['fps']:.1f} fps, model {result['model']}"
    ]
    if result["reps"]:
        lines.append(
            f"{'rep':>3}  {'set':>3}  {'leg':5}  {'time s':>7}  {'hip°':>5}  "
            f"{'knee°':>5}  {'pelvis°':>7}  {'lift s':>6}  faults"
        )
        for rep in result["reps"]:
            hip, knee = _fmt(rep["peak_hip_flexion_deg"]), _fmt(rep["knee_flexion_at_peak_deg"])
            lines.append(
                f"{rep['index']:>3}  {rep['set']:>3}  {rep['leg']:5}  {rep['peak_s']:>7.1f}  "
                f"{hip:>5}  {knee:>5}  "
                f"{_fmt(rep['pelvis_tilt_deg']):>7}  {rep['lift_s']:>6.2f}  "
                f"{', '.join(rep['faults']) or 'good'}"
            )
    for period in result["status"]:
        if period["end_s"] is not None and period["end_s"] - period["start_s"] < 0.05:
            continue  # a blink between two frames: "from 0.0 s to 0.0 s" tells a coach nothing
        lines.append(
            f"status {period['status']} from {period['start_s']:.1f} s to {period['end_s']:.1f} s"
        )
    s = result["summary"]
    faults = ", ".join(f"{name} {n}" for name, n in s["faults"].items()) or "none"
    lines.append(
        f"summary: {s['reps']} rep{'' if s['reps'] == 1 else 's'} "
        f"({s['by_leg']['left']} left, {s['by_leg']['right']} right), "
        f"{s['good_reps']} good; faults: {faults}"
    )
    if not result["reps"]:
        lines.append("no reps: " + _why_none(result))
    return "\n".join(lines)


def _why_none(result: dict) -> str:
    if any(p["status"] == "not_lying" for p in result["status"]):
        return "the athlete was not lying down"
    if any(p["status"] in ("no_athlete", "tracking_lost") for p in result["status"]):
        return "the athlete was not seen well enough"
    return "no lift of one leg from a resting pose with both legs long on the floor"


def analysis_events(analysis: Mapping[str, Any]) -> list[Event]:
    """The events a live run would have emitted for an `analyze` result, in time order:
    a "set" event when each set starts, a "rep" event when each rep ends, and a "status"
    event at each status change."""
    events: list[Event] = []
    seen_sets: set[int] = set()
    for rep in analysis["reps"]:
        if rep["set"] not in seen_sets:
            seen_sets.add(rep["set"])
            events.append(Event(rep["start_s"], "set", {"set": rep["set"], "leg": rep["leg"]}))
        events.append(Event(rep["end_s"], "rep", dict(rep)))
    periods = sorted(analysis["status"], key=lambda p: p["start_s"])
    for i, period in enumerate(periods):
        events.append(Event(period["start_s"], "status", {"status": period["status"]}))
        following = periods[i + 1]["start_s"] if i + 1 < len(periods) else None
        if following is None or following > period["end_s"]:
            events.append(Event(period["end_s"], "status", {"status": "ok"}))
    order = {"status": 0, "set": 1, "rep": 2}
    return sorted(events, key=lambda e: (e.t, order[e.type]))
