"""The report in a real browser: headless Chromium driven through chromedriver's WebDriver
HTTP API (a few stdlib requests). The page must load with no console message at warning
level or above, fetch nothing, decode every chart, and paint a screenshot that is not blank.
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
    # Every chart decoded (a broken data URI leaves naturalWidth at 0) ...
    images = browser.script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(images) == 3  # two sets and the trend
    assert all(done and w > 300 and h > 100 for done, w, h in images)
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
