"""Feeds and badge as their consumers parse them: feedparser, JSON Feed, an XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import feedparser
from fastapi.testclient import TestClient

from outagewatch.app.faces.badge import badge
from outagewatch.app.main import OutageWatch
from outagewatch.ingest.clock import ManualClock
from tests.conftest import tick_to

Outage = tuple[OutageWatch, TestClient]


def test_atom_parses_with_one_entry_per_outage(outage: Outage) -> None:
    _, client = outage
    resp = client.get("/v1/outages.atom")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/atom+xml")
    assert "max-age" in resp.headers["cache-control"]
    feed = feedparser.parse(resp.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.id and feed.feed.title and feed.feed.updated
    assert any(
        link.rel == "self" and link.href.endswith("/v1/outages.atom") for link in feed.feed.links
    )
    incidents = client.get("/v1/outages", params={"state": "all"}).json()["outages"]
    # The service-wide and the IT incident are one outage: one entry naming the region,
    # with the id of the service-wide incident (opened first, or with it).
    assert len(incidents) == 2 and len(feed.entries) == 1
    (entry,) = feed.entries
    assert entry.title == "Outage: tinyapp — IT"
    wide = next(i for i in incidents if i["region"] is None)
    assert entry.id == "tag:outagewatch,2026:incident/" + wide["id"]
    assert entry.link.endswith("/s/tinyapp") and entry.updated and entry.summary
    # Stable ids and a strong ETag: a repeat is a 304, the same entry ids every time.
    again = client.get("/v1/outages.atom", headers={"if-none-match": resp.headers["etag"]})
    assert again.status_code == 304
    assert {e.id for e in feedparser.parse(client.get("/v1/outages.atom").content).entries} == {
        e.id for e in feed.entries
    }


def test_resolved_incidents_stay_in_the_feeds(outage: Outage, clock: ManualClock) -> None:
    app, client = outage
    tick_to(app, clock, clock.now() + 45 * 60)
    feed = feedparser.parse(client.get("/v1/outages.atom").content)
    assert [e.title for e in feed.entries] == ["Outage: tinyapp — IT - resolved"]
    items = client.get("/v1/outages.feed.json").json()["items"]
    assert all(i["_outagewatch"]["incident"]["state"] == "resolved" for i in items)
    assert all(i["_outagewatch"]["group"]["state"] == "resolved" for i in items)
    assert all(i["date_modified"] > i["date_published"] for i in items)


def test_json_feed_required_fields_and_incident_extension(outage: Outage) -> None:
    _, client = outage
    resp = client.get("/v1/outages.feed.json")
    assert resp.status_code == 200 and resp.headers["etag"]
    assert resp.headers["content-type"].startswith("application/feed+json")
    feed = resp.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"].endswith("/v1/outages.feed.json")
    incidents = {i["id"]: i for i in client.get("/v1/outages").json()["outages"]}
    assert len(incidents) == 2 and len(feed["items"]) == 1
    for item in feed["items"]:
        for key in ("id", "url", "title", "content_text", "date_published", "date_modified"):
            assert isinstance(item[key], str) and item[key], key
        inc = item["_outagewatch"]["incident"]
        # The contract's incident object, unchanged: the service-wide one speaks for the entry.
        assert inc == incidents[inc["id"]] and inc["region"] is None
        assert item["id"].endswith(inc["id"]) and item["url"].endswith("/s/tinyapp")
        group = item["_outagewatch"]["group"]
        assert {i["id"] for i in group["incidents"]} == set(incidents)
        assert group["regions"] == [{"region": "IT", "level": "outage", "reports": 300}]


def test_feed_routes_win_over_incident_ids(client: TestClient) -> None:
    assert client.get("/v1/outages.atom").status_code == 200  # not "no incident 'outages.atom'"
    assert client.get("/v1/outages.feed.json").json()["items"] == []
    assert client.get("/v1/outages/nope").status_code == 404


def _badge(client: TestClient, service: str) -> tuple[ET.Element, str]:
    resp = client.get(f"/v1/services/{service}/badge.svg")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=60" in resp.headers["cache-control"]
    root = ET.fromstring(resp.content)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    return root, " ".join(texts)


def test_badge_levels_and_colours(outage: Outage) -> None:
    _, client = outage
    root, text = _badge(client, "tinyapp")
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "tinyapp" in text and "outage" in text
    assert b"#d73a49" in client.get("/v1/services/tinyapp/badge.svg").content
    _, text = _badge(client, "busy")
    assert "up" in text.split()
    _, text = _badge(client, "never-reported")
    assert "unknown" in text


def test_badge_escapes_a_hostile_name(client: TestClient) -> None:
    hostile = '<svg onload="alert(1)">&amp'
    # The route refuses what is not a service slug, with a JSON error, nothing reflected.
    resp = client.get(f"/v1/services/{hostile}/badge.svg")
    assert resp.status_code == 422 and resp.headers["content-type"] == "application/json"
    assert "<svg" not in resp.text
    # The renderer escapes whatever label it is given: defence in depth.
    root = ET.fromstring(badge(hostile, "unknown"))
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert hostile in text  # text content, not markup
    assert len(list(root.iter("{http://www.w3.org/2000/svg}svg"))) == 1
    assert "unknown" in text
