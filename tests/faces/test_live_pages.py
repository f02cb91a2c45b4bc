"""Live pages in real Chromium: times in the reader's zone, pages and the widget that
update themselves from the event stream, reports that carry the browser's country."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from outagewatch.app.main import OutageWatch, create_app
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.windows import iso
from tests.conftest import API_KEY, serving, settings, surge, tick_to, warm_up
from tests.faces.conftest import CHROMIUM, start_outage
from tests.faces.test_browser import SCREENSHOTS, third_party_site

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
]

Served = tuple[OutageWatch, httpx.Client, ManualClock, str]
AUTH = {"authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def served(clock: ManualClock) -> Iterator[Served]:
    """The app on a real server with a day of history; no incident yet."""
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        warm_up(app, client, clock)
        yield app, client, clock, base


def zone(browser: Any, tab: Any, name: str) -> None:
    browser.new_cdp_session(tab).send("Emulation.setTimezoneOverride", {"timezoneId": name})


def test_times_read_in_the_readers_zone_and_utc_without_javascript(
    served: Served, browser: Any, tab: Any
) -> None:
    app, client, clock, base = served
    surge(client, clock)
    tick_to(app, clock, clock.now() + 120)
    started = client.get("/v1/outages").json()["outages"][0]["started_at"]
    utc = datetime.fromisoformat(started.replace("Z", "+00:00"))
    local = utc.astimezone(ZoneInfo("Asia/Kolkata"))  # UTC+5:30: hour and minute move

    zone(browser, tab, "Asia/Kolkata")
    tab.goto(base + "/")
    when = tab.locator(f'.incidents time[datetime="{started}"]').first
    tab.locator("time[data-local=shown]").first.wait_for()
    text = when.inner_text()
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in text and "GMT+5:30" in text, text
    assert "UTC" not in text
    assert str(local.year) in (when.get_attribute("title") or "")
    tab.goto(base + "/s/tinyapp?lang=pl")
    tab.locator("time[data-local=shown]").first.wait_for()
    assert f"{local:%H:%M}" in tab.locator(".incidents time").first.inner_text()
    # The chart's time axis too, its "UTC" label become the zone's name.
    tick = tab.locator("svg.chart text[data-utc]").first
    at = datetime.fromisoformat(str(tick.get_attribute("data-utc")).replace("Z", "+00:00"))
    at = at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert tick.text_content() in (f"{at:%H:%M}", f"{at.hour}:{at.minute:02d}")
    assert tab.locator("svg.chart text[data-zone]").text_content() == "GMT+5:30"
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.locator("[data-live=incidents]").screenshot(path=SCREENSHOTS / "times-asia-kolkata.png")
    # A maintenance window's dates, likewise.
    start = clock.now() + 3600
    window = {"service": "busy", "starts_at": iso(start), "ends_at": iso(start + 7200)}
    made = client.post("/v1/maintenance", json=window, headers=AUTH)
    assert made.status_code == 201, made.text
    tab.goto(base + "/s/busy")
    tab.locator(".windows time[data-local=shown]").first.wait_for()
    begins = datetime.fromtimestamp(start, ZoneInfo("Asia/Kolkata"))
    text = tab.locator(".windows time").first.inner_text()
    assert f"{begins.hour % 12 or 12}:{begins.minute:02d}" in text and "GMT+5:30" in text, text
    assert tab.errors == []

    # Without JavaScript: the server's UTC, labelled.
    browser.new_cdp_session(tab).send("Emulation.setScriptExecutionDisabled", {"value": True})
    tab.goto(base + "/")
    assert tab.locator(".incidents time").first.inner_text() == f"{utc:%-I:%M}\u202f{utc:%p} UTC"
    tab.goto(base + "/s/busy")
    assert tab.locator(".windows time").first.inner_text().endswith(" UTC")
    assert tab.locator("svg.chart text[data-zone]").text_content() == "UTC"
    tick = tab.locator("svg.chart text[data-utc]").first
    assert tick.text_content() == str(tick.get_attribute("data-utc"))[11:16]


def test_pages_show_an_incident_as_it_opens_without_reloading(served: Served, browser: Any) -> None:
    app, client, clock, base = served
    home, service = browser.new_page(), browser.new_page()
    try:
        home.goto(base + "/")
        service.goto(base + "/s/tinyapp")
        for page in (home, service):
            assert page.locator(".incidents li").count() == 0
            page.evaluate("window.sameDocument = true")  # gone if the page reloads
            page.locator("body[data-live-stream=connected]").wait_for(timeout=10_000)
        assert service.locator(".status .pill").inner_text() != "Outage"

        surge(client, clock)  # reports through the API, the manual clock driven
        tick_to(app, clock, clock.now() + 120)

        home.locator(".incidents li.incident", has_text="tinyapp").first.wait_for(timeout=10_000)
        service.locator(".status .pill", has_text="Outage").wait_for(timeout=10_000)
        assert service.locator(".incidents li.incident").count() >= 1
        assert service.locator(".region-card .tile.outage[data-region=IT]").count() == 1
        assert re.search(r"outage", service.title(), re.I)
        SCREENSHOTS.mkdir(exist_ok=True)
        service.locator(".region-card").screenshot(path=SCREENSHOTS / "region-map.png")
        for page in (home, service):
            assert page.evaluate("window.sameDocument") is True
            # Swapped-in parts get the reader's time too.
            page.locator(".incidents time[data-local=shown]").first.wait_for()
    finally:
        home.close()
        service.close()


def test_widget_updates_itself_when_an_incident_opens(served: Served, tab: Any) -> None:
    app, client, clock, base = served
    with third_party_site(base, "tinyapp") as site:
        tab.goto(site)
        card = tab.locator("[data-outagewatch=tinyapp]")
        tab.locator("[data-outagewatch=tinyapp][data-live=connected]").wait_for(timeout=10_000)
        assert card.locator(".pill").inner_text() != "Outage"
        tab.evaluate("window.sameDocument = true")
        surge(client, clock)
        tick_to(app, clock, clock.now() + 120)
        card.locator(".pill", has_text="Outage").wait_for(timeout=10_000)
        assert tab.evaluate("window.sameDocument") is True
        assert tab.errors == []


@pytest.fixture
def outage_served(clock: ManualClock) -> Iterator[Served]:
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        start_outage(app, client, clock)
        yield app, client, clock, base


def test_a_report_from_the_page_counts_for_the_browsers_country(
    outage_served: Served, browser: Any, tab: Any
) -> None:
    app, client, clock, base = outage_served
    before = {
        r["region"]: r["reports"] for r in client.get("/v1/services/tinyapp").json()["regions"]
    }
    assert "PL" not in before
    zone(browser, tab, "Europe/Warsaw")
    tab.goto(base + "/s/tinyapp")
    tab.locator("label.choice", has_text="app").first.click()
    tab.get_by_role("button", name="Report a problem").click()
    tab.locator(".thanks", has_text="Thanks").wait_for()
    tick_to(app, clock, clock.now() + 120)
    after = {
        r["region"]: r["reports"] for r in client.get("/v1/services/tinyapp").json()["regions"]
    }
    assert after["PL"] == 1

    # The widget on another site sends the zone too (another service: the page's report
    # made this browser a reporter of tinyapp within the hour).
    with third_party_site(base, "busy") as site:
        tab.goto(site)
        card = tab.locator("[data-outagewatch=busy]")
        card.get_by_role("button", name="Report a problem").click()
        card.locator("[data-problem=app]").click()
        card.locator(".thanks", has_text="Thanks, your report was counted.").wait_for()
    tick_to(app, clock, clock.now() + 120)
    busy = {r["region"]: r["reports"] for r in client.get("/v1/services/busy").json()["regions"]}
    assert busy["PL"] == 1
    assert tab.errors == []
