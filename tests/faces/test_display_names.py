"""Pages, the embed card and the widget name a service by its catalog display name
(escaped, isolated in `<bdi>`), while URLs keep the slug."""

from __future__ import annotations

from html import escape
from typing import Any

import httpx
import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.windows import iso
from tests.conftest import API_KEY, running, serving, settings
from tests.faces.conftest import CHROMIUM
from tests.faces.test_browser import third_party_site

AUTH = {"authorization": f"Bearer {API_KEY}"}
HOSTILE = 'Crédit <b>"&</b> Ağ'


def test_display_names_on_every_face(clock: ManualClock) -> None:
    with running(clock, accept_unknown_services=False) as (app, client):
        put = client.put("/v1/catalog/acme", json={"name": HOSTILE}, headers=AUTH)
        assert put.status_code == 201, put.text
        # A service the catalog holds that nobody has reported yet: its page and card
        # name it and offer the form, instead of "Not found".
        now = clock.now()
        window = {"service": "credit-agricole", "starts_at": iso(now + 3600)}
        window |= {"ends_at": iso(now + 7200), "note": "card payments move"}
        assert client.post("/v1/maintenance", json=window, headers=AUTH).status_code == 201
        quiet = client.get("/s/credit-agricole")
        assert quiet.status_code == 200 and "Not found" not in quiet.text
        assert 'class="card maintenance"' in quiet.text and "card payments move" in quiet.text
        assert "<h1><bdi>Crédit Agricole</bdi></h1>" in quiet.text
        assert "We have no reports for <bdi>Crédit Agricole</bdi>." in quiet.text
        assert "Having problems with Crédit Agricole?" in quiet.text
        assert 'action="/s/credit-agricole/report"' in quiet.text
        card = client.get("/embed/credit-agricole", params={"lang": "pl"})
        assert card.status_code == 200 and '<html lang="pl"' in card.text
        assert '<span class="name"><bdi>Crédit Agricole</bdi></span>' in card.text
        quiet_widget = client.get("/v1/services/credit-agricole/widget.json").json()
        assert quiet_widget["name"] == "Crédit Agricole" and quiet_widget["status"] is None
        for service in ("acme", "credit-agricole"):
            assert client.post("/v1/reports", json={"service": service}).status_code == 202
        app.runtime.tick()
        shown = f"<bdi>{escape(HOSTILE)}</bdi>"

        page = client.get("/s/acme").text
        assert f"<h1>{shown}</h1>" in page and HOSTILE not in page
        assert f"<title>{escape(HOSTILE)} status" in page
        assert f"reports per minute for {escape(HOSTILE)}, with" in page  # the chart's label
        assert "/v1/services/acme/badge.svg" in page  # URLs keep the slug
        assert f"Having problems with {escape(HOSTILE)}?" in page  # the report form asks by name
        badge = client.get("/v1/services/credit-agricole/badge.svg").text
        assert "Crédit Agricole" in badge and "credit-agricole" not in badge

        home = client.get("/").text
        assert f'href="/s/acme">{shown}</a>' in home
        assert 'href="/s/credit-agricole"><bdi>Crédit Agricole</bdi></a>' in home

        card = client.get("/embed/acme").text
        assert f'<span class="name">{shown}</span>' in card and HOSTILE not in card

        widget = client.get("/v1/services/credit-agricole/widget.json").json()
        assert widget["status"]["name"] == "Crédit Agricole"  # text: the script sets it as text
        assert client.get("/v1/services/acme").json()["name"] == HOSTILE
        listed = {s["service"]: s["name"] for s in client.get("/v1/services").json()["services"]}
        assert listed == {"acme": HOSTILE, "credit-agricole": "Crédit Agricole"}

        # Arabic pages: the Latin name stays whole inside the right-to-left heading.
        arabic = client.get("/s/credit-agricole", params={"lang": "ar"}).text
        assert 'dir="rtl"' in arabic and "<h1><bdi>Crédit Agricole</bdi></h1>" in arabic

        # A service without a display name is shown by its slug.
        assert client.put("/v1/catalog/plain-one", headers=AUTH).status_code == 201
        assert client.post("/v1/reports", json={"service": "plain-one"}).status_code == 202
        clock.advance(1)
        app.runtime.tick()
        assert "<h1><bdi>plain-one</bdi></h1>" in client.get("/s/plain-one").text


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make test installs it)")
def test_the_widget_shows_the_display_name_as_text(clock: ManualClock, tab: Any) -> None:
    app = create_app(settings(accept_unknown_services=False), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        assert client.put("/v1/catalog/acme", json={"name": HOSTILE}, headers=AUTH).is_success
        assert client.post("/v1/reports", json={"service": "acme"}).status_code == 202
        app.runtime.tick()
        with third_party_site(base, "acme") as site:
            tab.goto(site)
            card = tab.locator("[data-outagewatch=acme]")
            name = card.locator(".name")
            name.filter(has_text="Crédit").wait_for(timeout=10_000)
            assert name.inner_text() == HOSTILE  # as text: no markup made of it
            assert card.locator(".name b").count() == 0
            assert (name.get_attribute("href") or "").endswith("/s/acme")  # the slug
            assert tab.errors == []
