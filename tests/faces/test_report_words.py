"""Honest words after a report: "counted" only when the API answered `counted: true`; a
duplicate, a rate limit or a failure is said plainly, in the reader's language, on the
no-JavaScript form, the enhanced form (report.js) and the widget."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from outagewatch.app.i18n import LANGUAGES
from outagewatch.app.main import OutageWatch, create_app
from outagewatch.app.routes_pages import STATIC
from outagewatch.ingest.clock import ManualClock
from tests.conftest import running, serving, settings, tick_to
from tests.faces.conftest import CHROMIUM
from tests.faces.test_browser import THIRD_PARTY, third_party_site

COUNTED = "Thanks, your report was counted."
NOT_COUNTED = "Received, but not counted"
LIMITED = "Too many reports from your network just now"


def seen(app: OutageWatch, client: Any, clock: ManualClock) -> None:
    """A few reports and a closed minute: the service has a page."""
    for i in range(3):
        client.post("/v1/reports", json={"service": "tinyapp", "reporter": f"r{i}"})
    tick_to(app, clock, clock.now() + 120)


def test_no_js_form_says_counted_only_when_it_was(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        seen(app, client, clock)
        first = client.post("/s/tinyapp/report", data={"problem": "app"}, follow_redirects=False)
        assert first.headers["location"] == "/s/tinyapp?thanks=1#report"
        assert COUNTED in client.get(first.headers["location"]).text
        again = client.post("/s/tinyapp/report", data={"problem": "app"}, follow_redirects=False)
        assert again.status_code == 303
        assert again.headers["location"] == "/s/tinyapp?thanks=0#report"
        html = client.get(again.headers["location"]).text
        assert NOT_COUNTED in html and COUNTED not in html.split("</fieldset>")[1]
        assert '<p class="thanks bad" role="status">' in html
        # A value the form never sends shows nothing (and is not a page of its own).
        assert '<p class="thanks" role="status" hidden>' in client.get("/s/tinyapp?thanks=x").text


def test_no_js_form_says_rate_limited(clock: ManualClock) -> None:
    with running(clock, rate_address_per_s=0.001, rate_address_burst=1) as (app, client):
        seen(app, client, clock)  # spends the burst
        resp = client.post("/s/tinyapp/report", data={"problem": "app"}, follow_redirects=False)
        assert resp.headers["location"] == "/s/tinyapp?thanks=limited#report"
        assert LIMITED in client.get(resp.headers["location"]).text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_its_words_for_each_answer(client: TestClient, lang: str) -> None:
    words = client.get(f"/v1/services/tinyapp/widget.json?lang={lang}").json()["text"]
    said = [words[k] for k in ("counted", "not_counted", "limited", "failed")]
    assert all(said) and len(set(said)) == 4
    if lang != "en":  # translated, not the English source
        assert NOT_COUNTED not in said[1] and LIMITED not in said[2]
    html = client.get(f"/s/nosuch?lang={lang}").text
    assert "data-not-counted=" in html and "data-limited=" in html


def test_widget_script_paints_no_english_before_its_words() -> None:
    script = (STATIC / "widget.js").read_text()
    assert '"Loading"' not in script
    assert 'el("span", "pill", "")' in script


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_enhanced_form_and_widget_tell_a_duplicate(clock: ManualClock, browser: Any) -> None:
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base) as client:
        seen(app, client, clock)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(base + "/s/tinyapp?lang=pl")
            note = page.locator("form.report .thanks")
            page.get_by_role("button", name="Zgłoś problem").click()
            note.filter(has_text="Dziękujemy, Twoje zgłoszenie zostało policzone.").wait_for()
            assert "bad" not in (note.get_attribute("class") or "")
            page.get_by_role("button", name="Zgłoś problem").click()
            note.filter(has_text="Otrzymane, ale niepoliczone").wait_for()
            assert "bad" in (note.get_attribute("class") or "")

            # The widget on another site (same browser: the same reporter), in German.
            held: list[Any] = []
            page.route("**/widget.json*", lambda route: held.append(route))  # words wait...
            german = THIRD_PARTY.replace("<html>", '<html lang="de">')
            with third_party_site(base, "tinyapp", german) as site:
                with page.expect_request("**/widget.json*"):
                    page.goto(site)
                card = page.locator("[data-outagewatch=tinyapp]")
                # ...and the first paint is blank, not English.
                assert card.locator(".pill").inner_text() == ""
                assert card.locator("button.report").is_hidden()
                for _ in range(500):  # the route's handler runs as events are read
                    if held:
                        break
                    page.wait_for_timeout(10)
                held[0].continue_()
                card.locator("button.report", has_text="Problem melden").click()
                card.locator("[data-problem=login]").click()
                card.locator(".thanks", has_text="Erhalten, aber nicht gezählt").wait_for()
        finally:
            page.close()
        assert errors == []


def test_the_served_widget_knows_its_offline_words_in_every_language(client: TestClient) -> None:
    script = client.get("/widget.js").text
    assert "/*OFFLINE*/" not in script  # filled in
    for lang in LANGUAGES:
        words = client.get(f"/v1/services/tinyapp/widget.json?lang={lang}").json()["text"]
        assert f'"{lang}":{{"unavailable":"{words["unavailable"]}"' in script, lang


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_a_widget_that_cannot_reach_its_server_says_so_in_its_language(
    clock: ManualClock, browser: Any
) -> None:
    app = create_app(settings(), clock)
    with serving(app) as base:
        page = browser.new_page()
        try:
            page.route("**/widget.json*", lambda route: route.abort())  # the server is gone
            polish = THIRD_PARTY.replace("<html>", '<html lang="pl-PL">')
            with third_party_site(base, "tinyapp", polish) as site:
                page.goto(site)
                card = page.locator("[data-outagewatch=tinyapp]")
                card.locator(".meta", has_text="Stan niedostępny.").wait_for(timeout=10_000)
                assert card.locator("button.report").inner_text() == "Zgłoś problem"
        finally:
            page.close()
