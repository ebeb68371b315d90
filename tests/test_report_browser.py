"""The HTML report opened in a real headless browser: Debian's chromium, driven by Playwright.

Playwright is told to use the machine's chromium (``.ci/run`` installs the Debian package)
rather than a browser it downloads. In CI a missing chromium fails the test; elsewhere it
skips with the command that installs it.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from bench.report.figures import CATCHUP_FIGURE_NAMES
from bench.report.write import write_report
from tests.runs import make_ledger, make_run

CHROMIUM = os.environ.get("CATCHUP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        message = f"no chromium at {CHROMIUM}; install it with: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def test_the_report_opens_in_headless_chromium_with_every_image_loaded(chromium: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    store = make_ledger(tmp_path / "ledger")
    runs = [make_run(store, tmp_path / "results", name) for name in ("balances", "daily_volume")]
    (report,) = write_report(runs, tmp_path / "report").reports
    screenshot = tmp_path / "report.png"

    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth, alt: i.alt}))"
            )
            title = page.title()
            heading = page.inner_text("h1")
            alerts = page.locator(".alert").count()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert problems == []
    assert [r for r in requests if not r.startswith(("file:", "data:"))] == []  # nothing fetched from anywhere
    assert len(images) == len(CATCHUP_FIGURE_NAMES)
    assert all(image["complete"] and image["width"] >= 800 for image in images), images
    assert [image["alt"] for image in images][0] == "Catch-up time by snapshot interval"
    assert title == heading == "Catch-up compared: balances vs daily_volume"
    assert alerts >= 1  # at least the note naming what differs between the runs
    shot = Image.open(io.BytesIO(screenshot.read_bytes()))
    assert shot.format == "PNG" and shot.width == 1280 and shot.height > 3000  # the whole page, figures included
