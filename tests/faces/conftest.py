"""Fixtures for the public faces: an app in a simulated outage, and headless Chromium.

Chromium is Debian's (scripts/install-chromium.sh, run by `make test`), driven by
Playwright's Python API; no `playwright install`. Without it, browser tests skip.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch
from outagewatch.ingest.clock import ManualClock
from tests.conftest import running, surge, tick_to, warm_up

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def start_outage(app: OutageWatch, client: Any, clock: ManualClock) -> None:
    """A day of history, then 300 reports in 45 s on tinyapp: an open outage."""
    warm_up(app, client, clock)
    surge(client, clock)
    tick_to(app, clock, clock.now() + 120)


@pytest.fixture
def outage(clock: ManualClock) -> Iterator[tuple[OutageWatch, TestClient]]:
    with running(clock) as (app, client):
        start_outage(app, client, clock)
        yield app, client


def counted(metrics: str) -> float:
    m = re.search(r"^outagewatch_reports_counted_total (\S+)$", metrics, re.M)
    assert m, metrics
    return float(m.group(1))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-chromium.sh as root (make test)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
            device_scale_factor=1,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A new page of the browser; `tab.errors` collects console errors (a CSP violation
    is one) and uncaught exceptions."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    try:
        yield page
    finally:
        page.close()
