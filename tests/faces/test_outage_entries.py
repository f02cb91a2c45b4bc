"""One entry per outage on every face, the grouped view, and the per-service feeds:
the real app on a real DuckDB, incidents made by reports through the real pipeline."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import feedparser
import orjson
from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch
from outagewatch.app.outage_query import parse_outage_query
from outagewatch.app.routes_grouped import answer, held
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running, surge, tick_to, warm_up

Outage = tuple[OutageWatch, TestClient]
A = "{http://www.w3.org/2005/Atom}"
REGIONS = ["IT", "DE", "FR", "US"]


def crowd(client: Any, clock: ManualClock, service: str, regions: list[str], n: int) -> None:
    """n reports from n people spread over the regions, in about a minute."""
    for i in range(n):
        body = {"service": service, "region": regions[i % len(regions)], "reporter": f"c{i}"}
        assert client.post("/v1/reports", json=body).status_code == 202
        clock.advance(0.12)


def entries(html: str) -> list[str]:
    return re.findall(r'<li class="incident .*?</span>', html)


def atom(client: TestClient, path: str, **params: str) -> ET.Element:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/atom+xml")
    return ET.fromstring(resp.content)


def test_a_service_wide_and_regional_outage_is_one_entry_everywhere(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        crowd(client, clock, "tinyapp", REGIONS, 400)
        tick_to(app, clock, clock.now() + 120)
        incidents = client.get("/v1/outages").json()["outages"]
        # The machine feed keeps one object per series, as the contract says.
        assert sorted(i["region"] or "-" for i in incidents) == ["-", *sorted(REGIONS)]
        wide = next(i for i in incidents if i["region"] is None)
        title = "Outage: tinyapp — DE, FR, IT, and 1 more region"

        home = client.get("/").text
        (entry,) = entries(home)
        assert (
            "Outage: <bdi>tinyapp</bdi> — <bdi>DE</bdi>, <bdi>FR</bdi>, <bdi>IT</bdi>, "
            "and <bdi>1</bdi> more region" in entry
        )
        assert f"<bdi>{wide['total_reports']}</bdi> reports" in entry
        # Arabic: the Latin names, codes and numbers are isolated from the RTL line.
        (ar,) = entries(client.get("/?lang=ar").text)
        assert "انقطاع: <bdi>tinyapp</bdi> — <bdi>DE</bdi>" in ar
        assert "منطقة أخرى واحدة" in ar
        assert ar.count("<bdi>") == 6  # service, three regions, the time, the reports
        # Plain text in Arabic (widget, feeds) isolates them with Unicode's isolates.
        ar_line = client.get("/v1/services/tinyapp/widget.json", params={"lang": "ar"})
        line = ar_line.json()["status"]["incident"]
        assert line.startswith("انقطاع: \u2068tinyapp\u2069 — \u2068DE\u2069 و\u2068FR\u2069")
        (ar_item,) = atom(client, "/v1/outages.atom", lang="ar").findall(f"{A}entry")
        assert ar_item.findtext(f"{A}title") == line
        ar_items = orjson.loads(client.get("/v1/outages.feed.json?lang=ar").content)["items"]
        assert [i["title"] for i in ar_items] == [line]

        page = client.get("/s/tinyapp").text
        assert entries(page) == [entry]
        feed = atom(client, "/v1/outages.atom")
        (item,) = feed.findall(f"{A}entry")
        assert item.findtext(f"{A}title") == title
        assert item.findtext(f"{A}id") == "tag:outagewatch,2026:incident/" + wide["id"]
        assert f"{wide['total_reports']} reports since" in (item.findtext(f"{A}summary") or "")
        items = orjson.loads(client.get("/v1/outages.feed.json").content)["items"]
        assert [i["title"] for i in items] == [title]
        assert items[0]["_outagewatch"]["incident"] == wide

        widget = client.get("/v1/services/tinyapp/widget.json").json()
        assert widget["status"]["incident"] == title
        embed = client.get("/embed/tinyapp").text
        assert '<span class="outage-line">Outage: <bdi>tinyapp</bdi> — <bdi>DE</bdi>' in embed

        (group,) = client.get("/v1/outages/grouped").json()["outages"]
        assert group["id"] == wide["id"] and group["service"] == "tinyapp"
        assert group["level"] == "outage" and group["state"] == "open"
        assert group["total_reports"] == wide["total_reports"] and group["dependants"] == []
        assert [r["region"] for r in group["regions"]] == ["DE", "FR", "IT", "US"]
        assert group["started_at"] == min(i["started_at"] for i in incidents)
        assert sorted(i["id"] for i in group["incidents"]) == sorted(i["id"] for i in incidents)


def test_a_cascade_is_one_group_with_its_dependants(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        surge(client, clock, "tinyapp")
        tick_to(app, clock, clock.now() + 60)
        surge(client, clock, "busy", n=400)  # within the detector's related window
        tick_to(app, clock, clock.now() + 120)
        incidents = client.get("/v1/outages").json()["outages"]
        assert {i["service"] for i in incidents} == {"tinyapp", "busy"}
        assert any("tinyapp" in i["related"] for i in incidents if i["service"] == "busy")

        (entry,) = entries(client.get("/").text)
        assert "Outage: <bdi>tinyapp</bdi>, and <bdi>1</bdi> service that depends on it" in entry
        home = client.get("/").text
        assert '<ul class="dependants">' in home and 'href="/s/busy"' in home
        # The dependant's page, embed card and widget show the whole cascade too.
        assert "service that depends on it" in client.get("/s/busy").text
        assert "service that depends on it" in client.get("/embed/busy").text
        line = client.get("/v1/services/busy/widget.json").json()["status"]["incident"]
        assert line == "Outage: tinyapp, and 1 service that depends on it"
        pl = client.get("/?lang=pl").text
        assert "Awaria: <bdi>tinyapp</bdi> i <bdi>1</bdi> usługa, która od niej zależy" in pl

        (group,) = client.get("/v1/outages/grouped").json()["outages"]
        assert group["service"] == "tinyapp" and group["dependants"] == ["busy"]
        assert [s["service"] for s in group["services"]] == ["tinyapp", "busy"]
        assert len(group["incidents"]) == len(incidents)
        (item,) = atom(client, "/v1/outages.atom").findall(f"{A}entry")
        assert item.findtext(f"{A}title") == "Outage: tinyapp, and 1 service that depends on it"
        assert "Services that depend on it: Outage: busy" in (item.findtext(f"{A}summary") or "")


def test_grouped_view_filters_and_pages_like_the_machine_feed(outage: Outage) -> None:
    _, client = outage
    (open_group,) = client.get("/v1/outages/grouped").json()["outages"]
    assert client.get("/v1/outages/grouped", params={"state": "resolved"}).json() == {
        "outages": [],
        "next_cursor": None,
    }
    only_it = client.get("/v1/outages/grouped", params={"region": "it"}).json()["outages"]
    assert [g["regions"] for g in only_it] == [
        [{"region": "IT", "level": "outage", "reports": 300}]
    ]
    assert [len(g["incidents"]) for g in only_it] == [1]
    first = client.get("/v1/outages/grouped", params={"limit": 1, "state": "all"}).json()
    assert first["next_cursor"] is None and first["outages"][0]["id"] == open_group["id"]
    for params, field in (
        ({"cursor": "nope"}, "cursor"),
        ({"level": "bad"}, "level"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
    ):
        resp = client.get("/v1/outages/grouped", params=params)
        assert resp.status_code == 422, params
        assert resp.json()["error"]["field"] == field and resp.json()["error"]["message"]
    # The route wins over /v1/outages/{id}.
    assert client.get("/v1/outages/grouped").status_code == 200
    # A NATS intake node answers from the incidents it holds (the same select as its
    # /v1/outages): the same answer as the embedded server's.
    held_by_a_node = client.get("/v1/outages", params={"state": "all"}).json()["outages"]
    for params in ({}, {"state": "all", "limit": 1}, {"region": "IT"}, {"level": "possible"}):
        q = parse_outage_query(**params)
        assert (
            answer(q, held(q, held_by_a_node))
            == client.get("/v1/outages/grouped", params=params).json()
        )


def test_feeds_per_service_and_region(outage: Outage) -> None:
    _, client = outage
    feed = atom(client, "/v1/services/tinyapp/outages.atom")
    assert feed.findtext(f"{A}title") == "outagewatch: tinyapp outages"
    assert feed.findtext(f"{A}id") == "tag:outagewatch,2026:service/tinyapp"
    self_link = next(e for e in feed.findall(f"{A}link") if e.get("rel") == "self")
    assert (self_link.get("href") or "").endswith("/v1/services/tinyapp/outages.atom")
    assert [e.findtext(f"{A}title") for e in feed.findall(f"{A}entry")] == ["Outage: tinyapp — IT"]
    # One region: its incidents only; a code in lower case is read as upper case.
    it = atom(client, "/v1/services/tinyapp/outages.atom", region="it")
    assert it.findtext(f"{A}title") == "outagewatch: tinyapp outages in IT"
    assert [e.findtext(f"{A}title") for e in it.findall(f"{A}entry")] == ["Outage: tinyapp — IT"]
    assert atom(client, "/v1/services/tinyapp/outages.atom", region="FR").findall(f"{A}entry") == []
    # A feed reader's parser reads it (feedparser: Atom; the JSON Feed is checked below).
    parsed = feedparser.parse(client.get("/v1/services/tinyapp/outages.atom?region=IT").content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == ["Outage: tinyapp — IT"]
    # A known service without an outage has an empty feed.
    assert atom(client, "/v1/services/busy/outages.atom").findall(f"{A}entry") == []

    resp = client.get("/v1/services/tinyapp/outages.json", params={"lang": "pl"})
    assert resp.headers["content-type"].startswith("application/feed+json")
    assert "accept-language" in resp.headers["vary"]
    jf = orjson.loads(resp.content)
    assert jf["version"] == "https://jsonfeed.org/version/1.1" and jf["language"] == "pl"
    assert jf["title"] == "outagewatch: awarie tinyapp"
    assert jf["feed_url"].endswith("/v1/services/tinyapp/outages.json?lang=pl")
    assert [i["title"] for i in jf["items"]] == ["Awaria: tinyapp — IT"]
    de = client.get("/v1/services/tinyapp/outages.json", headers={"accept-language": "de"})
    assert orjson.loads(de.content)["language"] == "de"
    again = client.get(
        "/v1/services/tinyapp/outages.json",
        params={"lang": "pl"},
        headers={"if-none-match": resp.headers["etag"]},
    )
    assert again.status_code == 304

    for path, status, field in (
        ("/v1/services/nosuch/outages.atom", 404, "service"),
        ("/v1/services/nosuch/outages.json", 404, "service"),
        ("/v1/services/tinyapp/outages.atom?region=XX", 422, "region"),
        ("/v1/services/tinyapp/outages.json?region=<b>", 422, "region"),
        ("/v1/services/Bad!/outages.json", 422, "service"),
    ):
        resp = client.get(path)
        assert resp.status_code == status, path
        error = resp.json()["error"]
        assert error["field"] == field and error["message"], path
        assert resp.headers["content-type"].startswith("application/json")

    # The service page names its own feeds for feed readers.
    page = client.get("/s/tinyapp?lang=pl").text
    assert (
        '<link rel="alternate" type="application/atom+xml" title="outagewatch: awarie tinyapp" '
        'href="/v1/services/tinyapp/outages.atom?lang=pl">' in page
    )
    assert 'type="application/feed+json"' in page
    assert 'href="/v1/services/tinyapp/outages.json?lang=pl"' in page


def test_a_declared_dependant_names_its_provider_as_the_probable_cause(
    clock: ManualClock,
) -> None:
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        auth = {"authorization": f"Bearer {API_KEY}"}
        named = client.put("/v1/catalog/tinyapp", json={"name": "<Tiny & Co>"}, headers=auth)
        assert named.status_code == 200, named.text
        declared = client.put("/v1/catalog/busy", json={"providers": ["tinyapp"]}, headers=auth)
        assert declared.json()["providers"] == ["tinyapp"]
        surge(client, clock, "tinyapp")
        tick_to(app, clock, clock.now() + 60)
        surge(client, clock, "busy", n=400)
        tick_to(app, clock, clock.now() + 120)
        incidents = client.get("/v1/outages").json()["outages"]
        cause = next(i for i in incidents if i["service"] == "tinyapp" and i["region"] is None)
        busy = next(i for i in incidents if i["service"] == "busy" and i["region"] is None)
        assert busy["because_of"] == [{"service": "tinyapp", "incident": cause["id"]}]
        assert cause["because_of"] == []
        page = client.get("/s/busy").text
        assert (
            '<p class="cause">Probably caused by the outage at '
            "<bdi>&lt;Tiny &amp; Co&gt;</bdi>.</p>" in page
        )
        assert "Prawdopodobnie z powodu awarii w <bdi>" in client.get("/s/busy?lang=pl").text
        assert 'class="cause"' not in client.get("/s/tinyapp").text

        # Outage lines name services by their display names, escaped, on every face;
        # links keep the slug.
        shown = "<bdi>&lt;Tiny &amp; Co&gt;</bdi>"
        line = f"Outage: {shown}, and <bdi>1</bdi> service that depends on it"
        for path in ("/", "/s/busy", "/s/tinyapp"):
            html = client.get(path).text
            (entry,) = entries(html)
            assert line in entry and 'href="/s/tinyapp"' in entry, path
            # Its list: the root with its region, then the dependant.
            assert f"Outage: {shown} — <bdi>IT</bdi>" in html and "Outage: <bdi>busy" in html
        assert f'<span class="outage-line">{line}</span>' in client.get("/embed/busy").text
        widget = client.get("/v1/services/busy/widget.json").json()["status"]["incident"]
        assert widget == "Outage: <Tiny & Co>, and 1 service that depends on it"
        (item,) = atom(client, "/v1/outages.atom").findall(f"{A}entry")
        assert item.findtext(f"{A}title") == widget
        assert "Services that depend on it: Outage: busy" in (item.findtext(f"{A}summary") or "")
        assert (item.find(f"{A}link").get("href") or "").endswith("/s/tinyapp")
        parsed = feedparser.parse(client.get("/v1/services/tinyapp/outages.atom").content)
        assert not parsed.bozo and [e.title for e in parsed.entries] == ["Outage: <Tiny & Co> — IT"]
        assert parsed.feed.title == "outagewatch: <Tiny & Co> outages"  # the feed's name too
        assert 'title="outagewatch: &lt;Tiny &amp; Co&gt; outages"' in client.get("/s/tinyapp").text
        jf = orjson.loads(client.get("/v1/services/tinyapp/outages.json?region=IT").content)
        assert jf["title"] == "outagewatch: <Tiny & Co> outages in IT"
        items = orjson.loads(client.get("/v1/outages.feed.json").content)["items"]
        assert [i["title"] for i in items] == [widget]
