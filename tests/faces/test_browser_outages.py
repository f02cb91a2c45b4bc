"""One entry per outage in a real browser: Amazon Web Services down in five regions with
four services that run on it, on the front page (English and Arabic) and in the widget
on another site. Screenshots go to docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import HISTORY_MIN, SURGE_AT, T0, backfill, serving, settings, tick_to
from tests.faces.conftest import CHROMIUM
from tests.faces.test_browser import SCREENSHOTS, third_party_site
from tests.faces.test_outage_entries import crowd
from tests.scenario import background

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: run scripts/install-chromium.sh as root (make test does)",
    ),
]

# Services the seed catalog declares on aws (app/data/catalog.txt), with their quiet
# traffic in reports per minute.
DEPENDANTS = ["netflix", "slack", "coinbase", "prime-video"]
QUIET = dict.fromkeys(["aws", *DEPENDANTS], 0.05)
AWS = "Amazon Web Services"


@pytest.fixture
def cascade(clock: ManualClock) -> Iterator[str]:
    """aws down in five regions, then the four services that run on it."""
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        backfill(app, client, clock, background(T0, HISTORY_MIN, rates=QUIET), SURGE_AT)
        crowd(client, clock, "aws", ["US", "DE", "FR", "IT", "PL"], 500)
        tick_to(app, clock, clock.now() + 60)
        for i in range(300):  # the dependants together, from people of their own
            for service in DEPENDANTS:
                body = {"service": service, "region": "US", "reporter": f"{service}-{i}"}
                assert client.post("/v1/reports", json=body).status_code == 202
            clock.advance(0.15)
        tick_to(app, clock, clock.now() + 120)
        yield base


def test_front_page_shows_the_cascade_as_one_entry(cascade: str, tab: Any) -> None:
    tab.set_viewport_size({"width": 1000, "height": 760})
    tab.goto(cascade + "/")
    entries = tab.locator("ul.incidents > li.incident")
    assert entries.count() == 1
    head = entries.first.locator("> a").inner_text()
    assert head == f"Outage: {AWS}, and 4 services that depend on it"
    listed = entries.first.locator("ul.dependants > li").all_inner_texts()
    assert listed[0].startswith(f"Outage: {AWS} — ") and "and 2 more regions" in listed[0]
    names = ["Coinbase", "Netflix", "Prime Video", "Slack"]
    assert sorted(listed[1:]) == [f"Outage: {name} — US" for name in names]
    SCREENSHOTS.mkdir(exist_ok=True)
    entries.first.screenshot(path=SCREENSHOTS / "grouped-outage.png")

    tab.goto(cascade + "/?lang=ar")
    entry = tab.locator("ul.incidents > li.incident").first
    # Right to left, with the Latin names kept whole: the service name starts the line
    # on the right, after the level word.
    first = entry.locator("> a bdi").first
    assert first.inner_text() == AWS
    word = entry.locator("> a").bounding_box()
    assert first.bounding_box()["x"] + first.bounding_box()["width"] < word["x"] + word["width"]
    entry.screenshot(path=SCREENSHOTS / "grouped-outage-ar.png")
    assert tab.errors == []


def test_widget_names_the_outage_on_another_site(cascade: str, tab: Any) -> None:
    with third_party_site(cascade, "netflix") as site:
        tab.goto(site)
        line = tab.locator("[data-outagewatch] .incident")
        line.wait_for(timeout=10_000)
        # The service is part of a cascade: the widget names it whole, as its page does.
        assert line.inner_text() == f"Outage: {AWS}, and 4 services that depend on it"
    assert tab.errors == []
