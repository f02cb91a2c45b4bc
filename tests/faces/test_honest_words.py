"""Honest words on the public faces: a service the catalog does not hold is said to be
such (not "Not found"), operators' notes show on the service page and in the feeds,
the global feeds honour `?service=` and `?region=`, and every count a person reads takes
the plural form of its language."""

from __future__ import annotations

from typing import Any

import feedparser
import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from outagewatch.app.faces.feeds import summary
from outagewatch.app.i18n import Text
from outagewatch.app.main import OutageWatch, create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running, serving, settings, tick_to
from tests.faces.conftest import CHROMIUM
from tests.faces.test_browser import third_party_site

AUTH = {"authorization": f"Bearer {API_KEY}"}
UNLISTED = "wibble is not in our catalog yet"
UNLISTED_PL = "wibble nie ma jeszcze w naszym katalogu"


def strict(clock: ManualClock) -> Any:
    """An app that takes reports of catalog services only (the default outside tests)."""
    return running(clock, accept_unknown_services=False)


def test_unknown_service_page_and_form_say_why(clock: ManualClock) -> None:
    with strict(clock) as (_, client):
        page = client.get("/s/wibble")
        assert page.status_code == 404
        assert UNLISTED in page.text and "Not found" not in page.text
        assert "<form" not in page.text  # a form whose report would be refused
        card = client.get("/embed/wibble")
        assert card.status_code == 404 and UNLISTED in card.text
        posted = client.post("/s/wibble/report", data={"problem": "app"}, follow_redirects=False)
        assert posted.status_code == 422
        assert UNLISTED in posted.text and "ask the people who run this site" in posted.text
        polish = client.post("/s/wibble/report?lang=pl", data={"problem": "app"})
        assert polish.status_code == 422 and UNLISTED_PL in polish.text
        assert '<html lang="pl"' in polish.text
        # The JSON API answers as before.
        api = client.post("/v1/reports", json={"service": "wibble"})
        assert api.status_code == 422
        assert api.json()["error"]["code"] == "unknown_service"
        assert api.json()["error"]["field"] == "service"
        # The widget learns the same before anyone presses its button.
        words = client.get("/v1/services/wibble/widget.json?lang=pl").json()
        assert words["listed"] is False and words["status"] is None
        assert words["text"]["unlisted"].startswith(UNLISTED_PL)
        assert client.get("/v1/services/amazon/widget.json").json()["listed"] is True


def test_unknown_service_name_is_escaped(clock: ManualClock) -> None:
    with strict(clock) as (_, client):
        posted = client.post("/s/a<b>/report", data={"problem": "app"})
        assert posted.status_code == 422
        assert "<b>" not in posted.text.split("<main>")[1]


def test_an_open_catalog_keeps_the_form_of_a_new_service(clock: ManualClock) -> None:
    with running(clock) as (_, client):  # an open catalog takes any well-formed name
        page = client.get("/s/brandnew")
        assert page.status_code == 404 and "<form" in page.text and UNLISTED not in page.text


def _outage_ids(client: TestClient) -> list[str]:
    return [i["id"] for i in client.get("/v1/outages?state=open").json()["outages"]]


def test_notes_show_on_the_page_and_in_the_feeds(
    outage: tuple[OutageWatch, TestClient], clock: ManualClock
) -> None:
    _, client = outage
    ids = _outage_ids(client)
    assert ids
    before = client.get("/s/tinyapp")
    atom_before = client.get("/v1/services/tinyapp/outages.atom")
    texts = ["first", "second", "third", "<script>alert(1)</script> & more"]
    for i, text in enumerate(texts):
        url = f"/v1/outages/{ids[i % len(ids)]}/annotations"
        made = client.post(url, json={"text": text, "author": "ops <desk>"}, headers=AUTH)
        assert made.status_code == 201
        clock.advance(1)
    # No tick: the page is rendered afresh because a note moved its version.
    html = client.get("/s/tinyapp").text
    assert html != before.text
    notes = html.split('<ul class="notes"')[1].split("</ul>")[0]
    assert "first" not in notes  # capped at the newest three
    order = [notes.index(w) for w in ("&lt;script&gt;", "third", "second")]
    assert order == sorted(order)  # newest first
    assert "<script>alert" not in html and "ops &lt;desk&gt;" in notes

    for path in ("/v1/services/tinyapp/outages.atom", "/v1/outages.atom"):
        resp = client.get(path)
        assert resp.headers["etag"] != atom_before.headers["etag"]
        assert b"<script>" not in resp.content
        entry = feedparser.parse(resp.content).entries[0]
        said = entry.summary.split("Operators' notes: ")[1]
        assert "first" not in said and said.index("<script>") < said.index("third")
    item = client.get("/v1/outages.feed.json").json()["items"][0]
    shown = [n["text"] for n in item["_outagewatch"]["annotations"]]
    assert shown == [texts[3], "third", "second"]
    assert "Operators' notes: " in item["content_text"]
    polish = client.get("/v1/outages.feed.json?lang=pl").json()["items"][0]
    assert "Uwagi operatorów: " in polish["content_text"]


def test_global_feeds_follow_service_and_region(outage: tuple[OutageWatch, TestClient]) -> None:
    _, client = outage
    for kind, own in (("atom", "outages.atom"), ("json", "outages.feed.json")):
        one = client.get(f"/v1/{own}?service=tinyapp&region=IT")
        assert one.status_code == 200
        assert one.content == client.get(f"/v1/services/tinyapp/outages.{kind}?region=IT").content
        other = client.get(f"/v1/{own}?service=amazon")  # in the catalog, no outage
        assert other.status_code == 200 and b"tinyapp" not in other.content
        nowhere = client.get(f"/v1/{own}?region=DE")
        assert nowhere.status_code == 200 and b"tinyapp" not in nowhere.content
        italy = client.get(f"/v1/{own}?region=it")
        assert b"tinyapp" in italy.content and b"region=IT" in italy.content
        assert client.get(f"/v1/{own}?service=nosuch").json()["error"]["code"] == "unknown_service"
        assert client.get(f"/v1/{own}?service=nosuch").status_code == 404
        bad = client.get(f"/v1/{own}?service=Bad!")
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "service"
        region = client.get(f"/v1/{own}?region=XX")
        assert region.status_code == 422 and region.json()["error"]["code"] == "invalid_region"
    parsed = feedparser.parse(client.get("/v1/outages.atom?region=DE&lang=pl").content)
    assert not parsed.bozo and parsed.feed.title == "outagewatch: awarie w regionie DE"
    assert parsed.feed.id == "tag:outagewatch,2026:outages/DE"


def test_global_feed_filters_answer_4xx_or_a_feed(clock: ManualClock) -> None:
    """Whatever a reader puts in ?service= and ?region=: a feed or a JSON 4xx, never 500."""
    with running(clock) as (_, client):

        @hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(service=st.none() | st.text(max_size=12), region=st.none() | st.text(max_size=4))
        def check(service: str | None, region: str | None) -> None:
            params = {k: v for k, v in (("service", service), ("region", region)) if v is not None}
            resp = client.get("/v1/outages.feed.json", params=params)
            assert resp.status_code in (200, 404, 422), resp.text
            if resp.status_code == 200:
                assert resp.json()["version"] == "https://jsonfeed.org/version/1.1"
            else:
                assert resp.json()["error"]["message"]

        check()


# n -> what each language says: Polish has three forms (1, 2-4, 5+).
LAST_HOUR = {
    "en": {1: "1 report in the last hour", 2: "2 reports in the last hour",
           5: "5 reports in the last hour"},
    "pl": {1: "1 zgłoszenie w ostatniej godzinie", 2: "2 zgłoszenia w ostatniej godzinie",
           5: "5 zgłoszeń w ostatniej godzinie"},
}  # fmt: skip
SINCE = {
    "en": {1: "1 report since", 2: "2 reports since", 5: "5 reports since"},
    "pl": {1: "1 zgłoszenie od", 2: "2 zgłoszenia od", 5: "5 zgłoszeń od"},
}
PEAK = {
    "en": {1: "peak 1 report per bucket", 2: "peak 2 reports per bucket",
           5: "peak 5 reports per bucket"},
    "pl": {1: "szczyt 1 zgłoszenie na przedział", 2: "szczyt 2 zgłoszenia na przedział",
           5: "szczyt 5 zgłoszeń na przedział"},
}  # fmt: skip


@pytest.mark.parametrize("n", [1, 2, 5])
def test_counts_take_the_plural_form_of_the_language(clock: ManualClock, n: int) -> None:
    """The page, embed card, widget and feed text for n reports, in English and Polish.
    (The badge shows a level, never a count.)"""
    with running(clock) as (app, client):
        for i in range(n):
            body = {"service": "fewapp", "reporter": f"r{i}"}
            assert client.post("/v1/reports", json=body).status_code == 202
        tick_to(app, clock, clock.now() + 120)
        for lang in ("en", "pl"):
            said = LAST_HOUR[lang][n]
            assert said in client.get(f"/s/fewapp?lang={lang}").text
            assert said in client.get(f"/embed/fewapp?lang={lang}").text
            meta = client.get(f"/v1/services/fewapp/widget.json?lang={lang}").json()
            assert meta["status"]["meta"].startswith(said)
            incident = {
                "total_reports": n,
                "started_at": "2026-11-02T10:00:00Z",
                "peak": {"reports": n, "expected": 0.5},
            }
            text = summary(incident, Text(lang))
            assert text.startswith(SINCE[lang][n]) and PEAK[lang][n] in text


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_enhanced_form_and_widget_say_why_a_service_is_refused(
    clock: ManualClock, browser: Any
) -> None:
    app = create_app(settings(accept_unknown_services=False), clock)
    with serving(app) as base, httpx.Client(base_url=base) as client:
        assert client.put("/v1/catalog/wibble", headers=AUTH).status_code == 201
        assert client.post("/v1/reports", json={"service": "wibble"}).status_code == 202
        tick_to(app, clock, clock.now() + 120)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(base + "/s/wibble?lang=pl")  # a page with a form, then...
            assert client.delete("/v1/catalog/wibble", headers=AUTH).status_code == 204
            page.get_by_role("button", name="Zgłoś problem").click()  # ...refused
            note = page.locator("form.report .thanks")
            note.filter(has_text=UNLISTED_PL).wait_for()
            assert "bad" in (note.get_attribute("class") or "")

            with third_party_site(base, "nosuchapp") as site:
                page.goto(site)
                card = page.locator("[data-outagewatch=nosuchapp]")
                card.locator(".meta", has_text="nosuchapp is not in our catalog yet").wait_for()
                assert card.locator("button.report").is_hidden()
        finally:
            page.close()
        assert errors == []
