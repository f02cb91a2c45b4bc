"""One entry per outage in a real browser: a provider down in several regions with a
service that depends on it, on the front page (English and Arabic) and in the widget
on another site. Screenshots go to docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import serving, settings, surge, tick_to, warm_up
from tests.faces.conftest import CHROMIUM
from tests.faces.test_browser import SCREENSHOTS, third_party_site
from tests.faces.test_outage_entries import crowd

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: run scripts/install-chromium.sh as root (make test does)",
    ),
]


@pytest.fixture
def cascade(clock: ManualClock) -> Iterator[str]:
    """tinyapp down in five regions, then busy, which depends on it."""
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        warm_up(app, client, clock)
        crowd(client, clock, "tinyapp", ["US", "DE", "FR", "IT", "PL"], 500)
        tick_to(app, clock, clock.now() + 60)
        surge(client, clock, "busy", n=400)
        tick_to(app, clock, clock.now() + 120)
        yield base


def test_front_page_shows_the_cascade_as_one_entry(cascade: str, tab: Any) -> None:
    tab.set_viewport_size({"width": 1000, "height": 760})
    tab.goto(cascade + "/")
    entries = tab.locator("ul.incidents > li.incident")
    assert entries.count() == 1
    head = entries.first.locator("> a").inner_text()
    assert head == "Outage: tinyapp, and 1 service that depends on it"
    listed = entries.first.locator("ul.dependants > li").all_inner_texts()
    assert listed[1] == "Outage: busy — IT"
    assert listed[0].startswith("Outage: tinyapp — ") and "and 2 more regions" in listed[0]
    SCREENSHOTS.mkdir(exist_ok=True)
    entries.first.screenshot(path=SCREENSHOTS / "grouped-outage.png")

    tab.goto(cascade + "/?lang=ar")
    entry = tab.locator("ul.incidents > li.incident").first
    # Right to left, with the Latin names kept whole: the service name starts the line
    # on the right, after the level word.
    first = entry.locator("> a bdi").first
    assert first.inner_text() == "tinyapp"
    word = entry.locator("> a").bounding_box()
    assert first.bounding_box()["x"] + first.bounding_box()["width"] < word["x"] + word["width"]
    entry.screenshot(path=SCREENSHOTS / "grouped-outage-ar.png")
    assert tab.errors == []


def test_widget_names_the_outage_on_another_site(cascade: str, tab: Any) -> None:
    with third_party_site(cascade, "tinyapp") as site:
        tab.goto(site)
        line = tab.locator("[data-outagewatch] .incident")
        line.wait_for(timeout=10_000)
        # The service is the root of a cascade: the widget names it whole, as its page does.
        assert line.inner_text() == "Outage: tinyapp, and 1 service that depends on it"
    assert tab.errors == []
