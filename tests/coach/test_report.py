"""The HTML report's content: self-contained, one chart and one table per set, the numbers
a coach reads, escaping, and the odd sessions (interrupted, no angle trace, no reps)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from history_data import make_analysis, make_series

from edge.config.exercise import ExerciseConfig
from edge.events import Event
from edge.history import History
from edge.report import build_report

REPO = Path(__file__).resolve().parents[2]
HIPFLEX = REPO / ".venv" / "bin" / "hipflex"
LIMIT = ExerciseConfig().faults.lumbar_rounding.max_excess_tilt_deg


class Page(HTMLParser):
    """Collects what the tests look at: images, inline charts (class and markup), table rows
    per table class, text."""

    def __init__(self, text: str):
        super().__init__()
        self.images: list[str] = []
        self.charts: list[tuple[str, str]] = []
        self._svg: list[str] | None = None
        self.rows: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._table: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._svg is not None:
            self._svg.append(self.get_starttag_text() or "")
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag == "svg":
            self._svg = [attrs.get("class", "")]
        elif tag == "table":
            self._table.append(attrs.get("class", ""))
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "svg" and self._svg is not None:
            self.charts.append((self._svg[0], "".join(self._svg[1:])))
            self._svg = None
        elif self._svg is not None:
            self._svg.append(f"</{tag}>")
        if tag == "table":
            self._table.pop()
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._table[-1], []).append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._svg is not None:
            self._svg.append(data)
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def db(tmp_path):
    """Three sessions of one athlete, the last with lumbar rounding mostly on the left."""
    path = tmp_path / "h.db"
    day0 = datetime(2026, 2, 2, 17, 0, tzinfo=UTC)
    with History(path) as h:
        for i in range(3):
            a = make_analysis(seed=50 + i)
            h.import_analysis(
                a, athlete="Mia", started_at=day0 + timedelta(days=2 * i), series=make_series(a)
            )
    return path


def test_report_content_matches_the_session(db):
    with History(db, readonly=True) as h:
        session = h.session(3)
        page = Page(build_report(h, 3))
    reps = session["reps"]
    # One chart per set plus the trend, each drawn wide and narrow, inline SVG; no images.
    assert not page.images
    assert [c for c, _ in page.charts] == ["chart wide", "chart narrow"] * 3
    # Per set a pelvis-tilt line, one point per rep, lumbar reps marked.
    sets = [r for r in ({r["set"] for r in reps})]
    for k, number in enumerate(sorted(sets)):
        mine = [r for r in reps if r["set"] == number]
        for _, svg in page.charts[2 * k : 2 * k + 2]:
            assert svg.count('class="pelvis"') == 1
            lumbar = sum(1 for r in mine if "lumbar_rounding" in r["faults"])
            assert svg.count('class="lumbar"') == lumbar
            assert f"lumbar limit {LIMIT:g}°" in svg
    # Every rep in a rep table, with its faults, in order.
    rows = [r for r in page.rows["reps"] if r[0] != "rep"]
    assert [int(r[0]) for r in rows] == [r["index"] for r in reps]
    for row, rep in zip(rows, reps, strict=True):
        assert row[1] == f"{rep['peak_hip_flexion_deg']:.0f}°"
        assert row[4] == f"{rep['lift_s']:.2f} s"
        labels = [f.replace("_", " ") for f in rep["faults"]]
        assert row[5] == (" ".join(labels) if labels else "✓ good")
    # Fault counts by leg: all eight faults listed, counts per leg from the reps.
    faults = {r[0]: r[1:] for r in page.rows["faults"][1:]}
    assert len(faults) == 8
    for name in ("lumbar_rounding", "knee_angle", "too_fast", "chest_lift"):
        row = next(v for k, v in faults.items() if k.startswith(name.replace("_", " ")))
        for cell, leg in zip(row, ("left", "right"), strict=True):
            n = sum(1 for r in reps if r["leg"] == leg and name in r["faults"])
            assert cell.split()[0] == str(n)
    text = " ".join(page.text)
    left = [r for r in reps if r["leg"] == "left"]
    rounding = sum(1 for r in left if "lumbar_rounding" in r["faults"])
    assert rounding > 0
    assert f"Lumbar rounding on {rounding} of {len(left)} left-leg reps" in text
    assert "Trend · Mia" in text and "last 3 sessions" in text


def test_report_is_self_contained(db):
    with History(db, readonly=True) as h:
        text = build_report(h, 3)
    assert not re.search(r"""(src|href)\s*=\s*["']""", text)
    assert "url(" not in text and "@import" not in text and "<script" not in text
    assert "<link" not in text and "<img" not in text


def test_user_text_is_escaped(tmp_path):
    with History(tmp_path / "h.db") as h:
        a = make_analysis(seed=7)
        a["source"] = '<img src=x onerror="alert(1)">.mp4'
        sid = h.import_analysis(a, athlete="<script>alert('x')</script>")
        text = build_report(h, sid)
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text


def test_interrupted_session_without_trace(tmp_path):
    """A session cut off by a crash, recorded without angle samples: the report says so
    and still shows every rep."""
    h = History(tmp_path / "h.db")
    h.start_session(athlete="", source="camera", model="movenet", fps=30.0)
    a = make_analysis(seed=8, sets=(("left", 3),))
    for rep in a["reps"]:
        h.record(Event(rep["end_s"], "rep", rep))
    h.record(Event(a["reps"][-1]["end_s"] + 1, "status", {"status": "tracking_lost"}))
    page = Page(build_report(h, h.session_id))
    text = " ".join(page.text)
    assert "did not end cleanly" in text
    assert len([r for r in page.rows["reps"] if r[0] != "rep"]) == 3
    assert len(page.charts) == 2  # the set chart, wide and narrow; no trend from one session
    assert "Untagged athlete" in text and "Tag sessions with --athlete" in text
    for _, svg in page.charts:
        assert "angle trace not recorded: peaks only" in svg
        assert 'class="curve"' not in svg and 'class="pelvis"' in svg


def test_session_without_reps(tmp_path):
    with History(tmp_path / "h.db") as h:
        h.start_session(athlete="Ola")
        h.record(Event(1.0, "status", {"status": "no_athlete"}))
        h.end_session(duration_s=30.0)
        page = Page(build_report(h, h.session_id))
    text = " ".join(" ".join(page.text).split())
    # It says why nothing was judged, and shows no zero as a green "all clear".
    assert "Nothing was judged in 30 s: no athlete in view for 29 s" in text
    assert "lumbar rounding – nothing judged" in text and "0 of 0" not in text
    assert "Faults by leg" not in text and not page.charts
    assert 'class="tile good"' not in build_report_text(tmp_path)


def build_report_text(tmp_path) -> str:
    with History(tmp_path / "h.db", readonly=True) as h:
        return build_report(h, 1)


def test_session_without_reps_or_status_says_no_lift_was_seen(tmp_path):
    with History(tmp_path / "h.db") as h:
        h.start_session(athlete="Ola")
        h.end_session(duration_s=12.0)
        text = " ".join(" ".join(Page(build_report(h, h.session_id)).text).split())
    assert "Nothing was judged: the athlete was in view and lying down, but no lift" in text
    assert "seen in 12 s." in text


def test_one_rep_is_singular(tmp_path):
    with History(tmp_path / "h.db") as h:
        sid = h.import_analysis(make_analysis(seed=3, sets=(("left", 1),)))
        text = " ".join(" ".join(Page(build_report(h, sid)).text).split())
    assert "1 reps" not in text and "1 rep ·" in text and "of 1 rep without a fault" in text


def test_how_it_judged_shows_thresholds_in_force_and_the_registry_cues(db):
    from edge.config.faults import REGISTRY

    cfg = ExerciseConfig.model_validate(
        {"faults": {"too_fast": {"min_lift_s": 0.8}, "chest_lift": {"enabled": False}}}
    )
    with History(db, readonly=True) as h:
        page = Page(build_report(h, 3, exercise=cfg))
    rows = {r[0]: r[1:] for r in page.rows[""] if r[0] != "fault"}
    assert list(rows) == [f.label for f in REGISTRY]
    for fault in REGISTRY:
        assert rows[fault.label][1] == f"“{fault.cue}”"
    assert "rushed: 0.8 s (default 0.6 s)" in rows["too fast"][0]
    assert rows["chest lift"][0] == "off in the config: not judged"
    assert f"{LIMIT:g}°" in rows["lumbar rounding"][0]


def test_trend_shows_range_left_right_rate_and_tempo(tmp_path):
    """Across sessions: a session with 0% good reps is a point at 0, not a line lost on
    the axis; the table has per-leg peak, the left/right difference, lift and hold."""
    day0 = datetime(2026, 2, 2, 17, 0, tzinfo=UTC)
    with History(tmp_path / "h.db") as h:
        for i in range(3):
            rate = {"knee_angle": 1.0} if i == 1 else None
            a = make_analysis(seed=20 + i, fault_rate=rate)
            h.import_analysis(a, athlete="Bo", started_at=day0 + timedelta(days=i),
                              series=make_series(a))  # fmt: skip
        session = h.session(3)
        page = Page(build_report(h, 3))
    rows = [r for r in page.rows["trend"] if r[0] != "session"]
    assert len(rows) == 3
    assert rows[1][2] == "0%"
    left = [r["peak_hip_flexion_deg"] for r in session["reps"] if r["leg"] == "left"]
    right = [r["peak_hip_flexion_deg"] for r in session["reps"] if r["leg"] == "right"]
    from statistics import median

    assert rows[2][3] == f"{median(left):.0f} / {median(right):.0f}°"
    assert rows[2][4] == f"{abs(median(left) - median(right)):.0f}°"
    assert rows[2][6].endswith(" s") and rows[2][7].endswith(" s") and "–" not in rows[2][7]
    wide = page.charts[-2][1]
    assert "good reps (% of all reps)" in wide and wide.count("<circle") >= 3 * 7


def test_report_cli(db, tmp_path):
    out = tmp_path / "out" / "r.html"
    out.parent.mkdir()
    done = subprocess.run(
        [HIPFLEX, "report", "--db", db, "--out", out], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(out)
    assert "<title>Mia · 06 Feb 2026 · hipflex</title>" in out.read_text()
    done = subprocess.run(
        [HIPFLEX, "report", "1", "--db", db, "--out", out], capture_output=True, text=True
    )
    assert done.returncode == 0 and "02 Feb 2026" in out.read_text()
    for args, message in (
        (["99"], "no session 99 in"),
        (["last"], "session must be a number or latest, not 'last'"),
    ):
        done = subprocess.run(
            [HIPFLEX, "report", *args, "--db", db, "--out", out], capture_output=True, text=True
        )
        assert done.returncode == 1
        assert done.stderr.startswith("hipflex: error: ") and message in done.stderr
        assert done.stderr.count("\n") == 1
    done = subprocess.run(
        [HIPFLEX, "report", "--db", tmp_path / "none.db"], capture_output=True, text=True
    )
    assert done.returncode == 1 and "no history database at" in done.stderr


def test_report_cli_links_the_recordings_of_the_configured_directory(db, tmp_path):
    """`hipflex report` looks for clips and stills in the config's storage.record_dir and
    links them relative to the report, so the folder can be copied off the box whole."""
    from edge.recorder_files import stamp

    clips, out = tmp_path / "recordings", tmp_path / "out" / "r.html"
    clips.mkdir()
    out.parent.mkdir()
    run = stamp(datetime(2026, 2, 6, 17, 0, 2, tzinfo=UTC).timestamp())  # the latest session
    for name in (f"{run}_set01.mp4", f"{run}_set01_rep001.jpg"):
        (clips / name).write_bytes(b"x")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nrecord_dir = "{clips}"\n')
    done = subprocess.run(
        [HIPFLEX, "report", "--db", db, "--out", out, "--config", config],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert f'"../recordings/{run}_set01.mp4"' in text
    assert f'"../recordings/{run}_set01_rep001.jpg"' in text


def test_unknown_knee_and_pelvis_angles_show_as_a_dash(tmp_path):
    analysis = make_analysis(seed=11)
    analysis["reps"][0]["knee_flexion_at_peak_deg"] = None
    analysis["reps"][0]["pelvis_tilt_deg"] = None
    with History(tmp_path / "h.db") as h:
        sid = h.import_analysis(analysis)
        (stored,) = [r for r in h.session(sid)["reps"] if r["index"] == 1]
        assert stored["knee_flexion_at_peak_deg"] is None and stored["pelvis_tilt_deg"] is None
        page = Page(build_report(h, sid))
    first = next(r for r in page.rows["reps"] if r[0] == "1")
    assert first[2] == "–" and first[3] == "–"


def test_target_bands_come_from_the_config(db):
    """A rep's peak and knee cells are marked against the config's bands, not literals: a
    coach who lowers short_range's minimum sees fewer peaks marked short."""

    def marked(exercise=None) -> int:
        with History(db, readonly=True) as h:
            return build_report(h, 3, exercise=exercise).count("<td class='off'>")

    default = marked()
    lenient = ExerciseConfig.model_validate({"faults": {
        "short_range": {"min_peak_deg": 10.0}, "over_flexion": {"max_peak_deg": 170.0},
        "knee_angle": {"tolerance_deg": 90.0}}})  # fmt: skip
    strict = ExerciseConfig.model_validate({"faults": {
        "short_range": {"min_peak_deg": 149.0}, "over_flexion": {"max_peak_deg": 150.0},
        "knee_angle": {"target_deg": 0.0, "tolerance_deg": 1.0}}})  # fmt: skip
    assert marked(lenient) < default < marked(strict)


def test_report_cli_names_the_profile_and_its_thresholds(db, tmp_path):
    config, out = tmp_path / "config.toml", tmp_path / "r.html"
    config.write_text('profile = "beginner"\n')
    done = subprocess.run(
        [HIPFLEX, "report", "--db", db, "--out", out, "--config", config],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = Page(out.read_text())
    text = " ".join(" ".join(page.text).split())
    assert "How it judged profile beginner" in text
    rows = {r[0]: r[1] for r in page.rows[""] if r[0] != "fault"}
    assert f"9° (default {LIMIT:g}°)" in rows["lumbar rounding"]
    assert "lumbar limit 9°" in page.charts[0][1]


def test_the_report_finds_a_sessions_clips_and_stills_by_its_start_and_rep_index(tmp_path):
    """Files of the run that started a moment after the session are its; a run a few
    minutes later, or unrelated files, are not. Links are relative to the report's folder."""
    from datetime import UTC, datetime

    from edge.recorder_files import stamp
    from edge.report_media import find_media

    started = datetime(2026, 2, 2, 17, 0, 0, tzinfo=UTC)
    clips = tmp_path / "clips"
    clips.mkdir()
    run, later = stamp(started.timestamp() + 1), stamp(started.timestamp() + 300)
    names = [f"{run}_set01.mp4", f"{run}_set01_rep001.jpg", f"{run}_set02.mp4",
             f"{run}_set02-2.mp4", f"{run}_set02_rep004.jpg", f"{later}_set01.mp4",
             f"{later}_set01_rep001.jpg", "holiday.mp4", f".{run}_set03.partial.mp4"]  # fmt: skip
    for name in names:
        (clips / name).write_bytes(b"x")
    media = find_media(clips, started.isoformat(), link_from=tmp_path / "out")
    assert {k: [p.name for p in v] for k, v in media.clips.items()} == {
        1: [f"{run}_set01.mp4"], 2: [f"{run}_set02-2.mp4", f"{run}_set02.mp4"]
    }  # fmt: skip
    assert {k: p.name for k, p in media.stills.items()} == {
        1: f"{run}_set01_rep001.jpg", 4: f"{run}_set02_rep004.jpg"
    }  # fmt: skip
    assert media.href(media.stills[1]) == f"../clips/{run}_set01_rep001.jpg"
    assert find_media(clips, datetime(2026, 3, 1, tzinfo=UTC).isoformat()).clips == {}
    assert find_media(tmp_path / "missing", started.isoformat()).stills == {}
