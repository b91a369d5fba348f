"""The report in a real browser: headless Chromium driven through chromedriver's WebDriver
HTTP API (a few stdlib requests). The page must load with no console message at warning
level or above, fetch nothing, paint every chart and a screenshot that is not blank; at a
phone and a desktop width no two text labels overlap, every set has its pelvis curve, and a
session with no reps says why. Screenshots stay in the test's tmp dir, for a person to look
at.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from history_data import make_analysis, make_series

from edge.history import History
from edge.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian packages chromium and chromium-driver (.ci/run installs them)",
)


class WebDriver:
    """Just enough of the W3C WebDriver protocol for this test."""

    def __init__(self, tmp_path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("chromedriver did not start")
            time.sleep(0.1)
        args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--window-size=1200,900",
        ]
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})[
            "sessionId"
        ]

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)["value"]

    def do(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def script(self, source: str):
        return self.do("POST", "/execute/sync", {"script": source, "args": []})

    def quit(self) -> None:
        try:
            self.do("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path):
    driver = WebDriver(tmp_path)
    yield driver
    driver.quit()


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path, browser):
    day0 = datetime(2026, 2, 2, 17, 0, tzinfo=UTC)
    with History(tmp_path / "h.db") as h:
        for i in range(4):
            a = make_analysis(seed=40 + i)
            h.import_analysis(
                a, athlete="Mia", started_at=day0 + timedelta(days=3 * i), series=make_series(a)
            )
        page = build_report(h, h.latest_id())
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")

    browser.do("POST", "/url", {"url": report.as_uri()})
    assert browser.script("return document.readyState") == "complete"
    assert browser.script("return document.title").startswith("Mia")
    # Every chart painted at the desktop width (the narrow variants hidden) ...
    charts = browser.script(
        "return [...document.querySelectorAll('svg.chart')].map(c => "
        "[c.classList.contains('wide'), c.getBoundingClientRect().width, "
        "c.getBoundingClientRect().height])"
    )
    assert len(charts) == 6  # two sets and the trend, each wide and narrow
    assert all(w > 300 and h > 100 if wide else w == 0 for wide, w, h in charts)
    # ... and nothing was fetched: the file is all there is.
    assert browser.script("return performance.getEntriesByType('resource').length") == 0
    height = browser.script("return document.documentElement.scrollHeight")
    assert 1500 < height < 8000

    browser.do("POST", "/window/rect", {"width": 1200, "height": height})
    png = base64.b64decode(browser.do("GET", "/screenshot"))
    (tmp_path / "report.png").write_bytes(png)
    shot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert shot.shape[0] > 1500 and shot.shape[1] >= 1000
    assert shot.std() > 20  # not a blank page
    # The leg colours of the charts are painted (BGR): left blue, right orange.
    for bgr in ((235, 99, 37), (15, 72, 217)):
        close = np.all(np.abs(shot.astype(int) - bgr) < 40, axis=2)
        assert close.sum() > 500, f"colour {bgr} missing from the screenshot"

    messages = browser.do("POST", "/se/log", {"type": "browser"})
    loud = [m for m in messages if m["level"] in ("WARNING", "SEVERE")]
    assert not loud, loud


# JavaScript: every visible text label (chart text and page text in its own element), as
# [text, left, top, right, bottom], and the pairs whose boxes overlap.
LABEL_BOXES = """
const boxes = [];
for (const el of document.querySelectorAll('svg text')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.height > 0) boxes.push([el.textContent, r.left, r.top, r.right, r.bottom,
                                               el.closest('svg').classList.value]);
}
const clashes = [];
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const a = boxes[i], b = boxes[j];
  if (a[1] < b[3] - 0.5 && b[1] < a[3] - 0.5 && a[2] < b[4] - 0.5 && b[2] < a[4] - 0.5)
    clashes.push([a[0], b[0], a[5]]);
}
return [boxes.length, clashes];
"""


def _viewport(browser, width: int) -> None:
    """A phone or desktop viewport (the window of headless Chromium has a minimum width,
    so the device metrics are set through the DevTools protocol)."""
    browser.do(
        "POST",
        "/goog/cdp/execute",
        {
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        },
    )
    assert browser.script("return window.innerWidth") == width


def _full_page_shot(browser, width: int, path) -> np.ndarray:
    height = browser.script("return document.documentElement.scrollHeight")
    browser.do(
        "POST",
        "/goog/cdp/execute",
        {
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        },
    )
    png = base64.b64decode(browser.do("GET", "/screenshot"))
    path.write_bytes(png)
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1280])
def test_report_layout_at_phone_and_desktop_width(tmp_path, browser, width):
    """Per set a pelvis curve; no two text labels overlap; a 0-rep session says why. The
    screenshots are left in the test's tmp dir for a person to look at."""
    day0 = datetime(2026, 2, 2, 17, 0, tzinfo=UTC)
    with History(tmp_path / "h.db") as h:
        for i in range(5):
            a = make_analysis(seed=60 + i, sets=(("right", 8), ("left", 10), ("right", 1)))
            h.import_analysis(
                a, athlete="Mia", started_at=day0 + timedelta(days=2 * i), series=make_series(a)
            )
        empty = make_analysis(seed=70, sets=())
        h.import_analysis(empty, athlete="Mia", started_at=day0 + timedelta(days=12))
        full, nothing = build_report(h, 5), build_report(h, 6)
    for name, page in (("full", full), ("empty", nothing)):
        report = tmp_path / f"report-{name}.html"
        report.write_text(page, encoding="utf-8")
        browser.do("POST", "/url", {"url": report.as_uri()})
        _viewport(browser, width)
        # Nothing wider than the viewport (no sideways scrolling of the page itself).
        assert browser.script("return document.documentElement.scrollWidth") <= width
        count, clashes = browser.script(LABEL_BOXES)
        assert count > (40 if name == "full" else 0)
        assert not clashes, clashes[:5]
        if name == "full":
            sets = browser.script(
                "return [...document.querySelectorAll('section.set')].map(s => "
                "[...s.querySelectorAll('svg.chart')]"
                ".filter(c => c.getBoundingClientRect().width > 0).map(c => "
                "[c.querySelectorAll('path.pelvis').length, c.querySelectorAll('circle').length]))"
            )
            assert len(sets) == 3
            for shown in sets:  # one chart shown per set, with its pelvis line
                assert len(shown) == 1 and shown[0][0] == 1 and shown[0][1] >= 2
            assert browser.script("return document.querySelectorAll('circle.lumbar').length") > 0
            assert "How it judged" in browser.script("return document.body.innerText")
        else:
            text = browser.script("return document.querySelector('section.nothing').innerText")
            assert text.startswith("Nothing was judged")
            assert "not lying down for" in text and "tracking lost for" in text
            assert "Lumbar rounding" not in browser.script("return document.body.innerText")
        shot = _full_page_shot(browser, width, tmp_path / f"report-{name}-{width}.png")
        assert shot.shape[1] == width and shot.std() > 20
    messages = browser.do("POST", "/se/log", {"type": "browser"})
    assert not [m for m in messages if m["level"] in ("WARNING", "SEVERE")]


def _recorded_session(tmp_path):
    """A session in the history and, as the recorder names them, its first set's clip (H.264
    from real footage, through the recorder's own writer) and a still per rep of that set."""
    from conftest import footage_path

    from edge.overlay import OverlayWriter
    from edge.pose import Pose
    from edge.recorder_files import stamp
    from edge.stills import Candidate, render, write_still

    started = datetime(2026, 2, 2, 17, 0, tzinfo=UTC)
    a = make_analysis(seed=80, sets=(("right", 4), ("left", 3)))
    with History(tmp_path / "h.db") as h:
        h.import_analysis(a, athlete="Mia", started_at=started, series=make_series(a))
        session = h.session(h.latest_id())
    clips = tmp_path / "clips"
    clips.mkdir()
    run = stamp(started.timestamp() + 1.0)  # the recorder starts a moment after the session
    cap = cv2.VideoCapture(str(footage_path("supine_knee_raise_right.mp4")))
    pose = Pose(np.zeros((17, 3), np.float32))
    frames = []
    with OverlayWriter(clips / f"{run}_set01.mp4", 15.0, 640, 352, mode=0o640) as writer:
        while (item := cap.read())[0]:
            rgb = cv2.cvtColor(item[1], cv2.COLOR_BGR2RGB)
            frames.append(rgb)
            writer.write(rgb, pose)
    first_set = [r for r in session["reps"] if r["set"] == 1]
    for rep in first_set:
        still = Candidate(80.0, 2.0, frames[90], 1.0, pose, (0.0, 80.0))
        write_still(clips / f"{run}_set01_rep{rep['index']:03d}.jpg",
                    render(still, rep, "Set 1 - right leg"), 0o640)  # fmt: skip
    return tmp_path / "h.db", clips, len(first_set)


@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1280])
def test_a_recorded_session_shows_its_stills_and_plays_its_clip(tmp_path, browser, width):
    """Stills load, the clip plays in Chromium (H.264: what every browser decodes), the
    layout fits the width; screenshots left in the tmp dir for a person to look at."""
    db, _, n_stills = _recorded_session(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with History(db) as h:
        page = build_report(h, h.latest_id(), link_from=out)
    assert "../clips/" in page  # found beside the database, linked relative to the report
    report = out / "report.html"
    report.write_text(page, encoding="utf-8")
    browser.do("POST", "/url", {"url": report.as_uri()})
    _viewport(browser, width)
    assert browser.script("return document.documentElement.scrollWidth") <= width
    stills = browser.script(
        "return [...document.querySelectorAll('.stills img')].map(i => "
        "[i.complete, i.naturalWidth, i.getBoundingClientRect().width])"
    )
    assert len(stills) == n_stills
    assert all(done and natural == 640 and 100 < shown <= width for done, natural, shown in stills)
    video = browser.script(
        "const v = document.querySelector('section.set video'); v.muted = true; v.play();"
        "return [document.querySelectorAll('video').length, v.getAttribute('src')]"
    )
    assert video[0] == 1 and video[1].endswith("_set01.mp4")
    state = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = browser.script(
            "const v = document.querySelector('section.set video');"
            "return [v.readyState, v.duration, v.error && v.error.code, v.currentTime,"
            "v.videoWidth]"
        )
        if state[2] or (state[0] >= 2 and state[3] > 0.2):
            break
        time.sleep(0.2)
    ready, duration, error, played, video_width = state
    assert error is None, f"MediaError {error}"
    assert ready >= 2 and abs(duration - 199 / 15) < 0.2 and video_width == 640
    assert played > 0.2  # it actually plays, not just loads
    browser.script("document.querySelector('section.set video').pause()")
    shot = _full_page_shot(browser, width, tmp_path / f"report-recorded-{width}.png")
    assert shot.shape[1] == width and shot.std() > 20
    messages = browser.do("POST", "/se/log", {"type": "browser"})
    assert not [m for m in messages if m["level"] in ("WARNING", "SEVERE")], messages
