"""Planned maintenance through the real app (lifespan, DuckDB on disk, manual clock):
an incident that starts inside a window is marked, shown as planned, and notifies no
one (real local receivers), while one outside it does; windows and marks survive a
restart; POST and DELETE need a key; every bad window is a 422 that names its field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.maintenance_windows import Window, in_maintenance
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.windows import iso
from tests.conftest import API_KEY, T0, running, surge, tick_to, warm_up
from tests.test_live_faces import Receiver
from tests.test_notifications import JsonReceiver

KEY = {"authorization": f"Bearer {API_KEY}"}
INTERNAL = {"webhook_allow_private": True}  # the receivers are on loopback
NOTE = 'database <b>upgrade</b> & "failover"'


def window(now: float, **changes: Any) -> dict[str, Any]:
    body = {"service": "tinyapp", "starts_at": iso(now - 600), "ends_at": iso(now + 3 * 3600)}
    return {**body, "note": NOTE, **changes}


def test_planned_work_is_marked_shown_silent_and_kept_across_a_restart(
    clock: ManualClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with Receiver(failures=0).running() as hooks, JsonReceiver().running() as people:
        with running(clock, data, **INTERNAL) as (app, client):
            hook = client.post("/v1/webhooks", json={"url": hooks.url}, headers=KEY)
            assert hook.status_code == 201, hook.text
            note = client.post("/v1/notifications", json={"apprise": people.apprise}, headers=KEY)
            assert note.status_code == 201, note.text
            warm_up(app, client, clock)
            made = client.post("/v1/maintenance", json=window(clock.now()), headers=KEY)
            assert made.status_code == 201, made.text
            work = made.json()
            assert work["note"] == NOTE and work["region"] is None
            surge(client, clock, "tinyapp")  # inside the window
            surge(client, clock, "busy")  # no window: a real outage
            tick_to(app, clock, clock.now() + 120)
            app.runtime.deliver()

            outages = client.get("/v1/outages").json()["outages"]
            tiny = [o for o in outages if o["service"] == "tinyapp"]
            busy = [o for o in outages if o["service"] == "busy"]
            assert tiny and busy, outages
            mark = {"id": work["id"], "note": NOTE, "ends_at": work["ends_at"]}
            assert all(o["maintenance"] == mark for o in tiny)
            assert all(o["maintenance"] is None for o in busy)
            one = client.get(f"/v1/outages/{tiny[0]['id']}").json()
            assert one["maintenance"] == mark

            # Webhooks and Apprise share the outbox: only busy reached them.
            hooked = {orjson.loads(body)["incident"]["service"] for _, body, _ in hooks.requests}
            assert hooked == {"busy"}
            assert people.posts and all(p["title"].startswith("busy") for p in people.posts)

            _shown_as_planned(client, tiny)

        with running(clock, data, **INTERNAL) as (app, client):
            listed = client.get("/v1/maintenance").json()["maintenance"]
            assert listed == [work]
            # Withdrawn now: what it covered keeps its mark as the incidents go on.
            gone = client.delete(f"/v1/maintenance/{work['id']}", headers=KEY)
            assert gone.status_code == 204
            assert client.get("/v1/maintenance").json()["maintenance"] == []
            tick_to(app, clock, clock.now() + 3 * 3600)
            app.runtime.deliver()
            query = {"service": "tinyapp", "state": "all", "limit": 100}
            after = client.get("/v1/outages", params=query).json()["outages"]
            assert {o["id"] for o in after} >= {o["id"] for o in tiny}
            assert all(o["maintenance"] == mark for o in after)
            assert any(o["state"] == "resolved" for o in after)  # changed since the restart
            hooked = {orjson.loads(body)["incident"]["service"] for _, body, _ in hooks.requests}
            assert "tinyapp" not in hooked
            assert not any(p["title"].startswith("tinyapp") for p in people.posts)


def _shown_as_planned(client: Any, tiny: list[dict[str, Any]]) -> None:
    """The Atom and JSON feeds, the service page (in two languages), badge and widget."""
    atom = client.get("/v1/outages.atom")
    assert atom.status_code == 200
    ET.fromstring(atom.content)  # the note's markup is escaped, so the feed stays XML
    parsed = feedparser.parse(atom.content)
    planned = [e for e in parsed.entries if e.title.startswith("Planned maintenance: tinyapp")]
    assert len(planned) == 1  # one entry per outage: the service-wide and regional together
    assert all(NOTE in e.summary for e in planned)  # as text, once unescaped
    assert all("maintenance" in {t.term for t in e.tags} for e in planned)
    assert not any(e.title.startswith("Planned") for e in parsed.entries if "busy" in e.title)

    items = client.get("/v1/outages.feed.json").json()["items"]
    marked = [i for i in items if "maintenance" in i["tags"]]
    assert len(marked) == 1
    (entry,) = marked
    assert entry["_outagewatch"]["incident"]["maintenance"]  # it speaks for a marked one
    tiny_ids = {o["id"] for o in tiny}
    assert tiny_ids <= {i["id"] for i in entry["_outagewatch"]["group"]["incidents"]}

    page = client.get("/s/tinyapp").text
    assert '<span class="pill maintenance">Planned maintenance</span>' in page
    assert "database &lt;b&gt;upgrade&lt;/b&gt; &amp; &quot;failover&quot;" in page
    assert "<b>upgrade" not in page
    assert 'class="card maintenance"' in page  # the window, listed on its service's page
    assert "Planowane prace serwisowe" in client.get("/s/tinyapp?lang=pl").text
    # busy's own status is its outage (its page may still show tinyapp's entry beside it:
    # the two opened together, so the page shows them as one group)
    assert '<span class="pill maintenance">' not in client.get("/s/busy").text

    badge = client.get("/v1/services/tinyapp/badge.svg").text
    assert "Planned maintenance" in badge
    widget = client.get("/v1/services/tinyapp/widget.json?lang=de").json()
    assert widget["status"]["level"] == "maintenance"
    assert widget["text"]["maintenance"] == "Geplante Wartung"


def test_a_regional_window_marks_only_that_region(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        body = window(clock.now(), region="fr", note=None)
        made = client.post("/v1/maintenance", json=body, headers=KEY)
        assert made.status_code == 201, made.text
        assert made.json()["region"] == "FR" and made.json()["note"] == ""
        surge(client, clock, "tinyapp")  # reports from IT
        tick_to(app, clock, clock.now() + 120)
        outages = client.get("/v1/outages", params={"service": "tinyapp"}).json()["outages"]
        assert outages and all(o["maintenance"] is None for o in outages)


def test_admin_routes_need_a_key_and_the_list_is_public(clock: ManualClock) -> None:
    with running(clock) as (_, client):
        body = window(clock.now())
        for headers in ({}, {"authorization": "Bearer wrong"}, {"x-api-key": "wrong"}):
            resp = client.post("/v1/maintenance", json=body, headers=headers)
            assert resp.status_code == 401 and "error" in resp.json()
        made = client.post("/v1/maintenance", json=body, headers={"x-api-key": API_KEY}).json()
        assert client.delete(f"/v1/maintenance/{made['id']}").status_code == 401
        assert client.get("/v1/maintenance").json()["maintenance"] == [made]
        assert client.get("/v1/maintenance?service=busy").json()["maintenance"] == []
        assert client.get("/v1/maintenance?service=tinyapp").json()["maintenance"] == [made]
        assert client.delete(f"/v1/maintenance/{made['id']}", headers=KEY).status_code == 204
        again = client.delete(f"/v1/maintenance/{made['id']}", headers=KEY)
        assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    with running(clock, api_keys=()) as (_, client):
        off = client.post("/v1/maintenance", json=body)
        assert off.status_code == 403 and off.json()["error"]["code"] == "admin_disabled"


NOW = T0
BAD: list[tuple[dict[str, Any] | list[Any], str, str | None]] = [
    ([window(NOW)], "invalid_body", None),
    ({k: v for k, v in window(NOW).items() if k != "service"}, "missing_field", "service"),
    (window(NOW, service="Tiny App!"), "invalid_service", "service"),
    (window(NOW, region="Atlantis"), "invalid_region", "region"),
    (window(NOW, owner="me"), "unknown_field", "owner"),
    ({k: v for k, v in window(NOW).items() if k != "starts_at"}, "missing_field", "starts_at"),
    (window(NOW, starts_at="tonight"), "invalid_starts_at", "starts_at"),
    (window(NOW, starts_at="2026-11-02T22:00:00"), "invalid_starts_at", "starts_at"),  # no zone
    (window(NOW, ends_at=1793600000), "invalid_ends_at", "ends_at"),
    (window(NOW, ends_at=iso(NOW - 600)), "invalid_window", "ends_at"),  # = starts_at
    (window(NOW, ends_at=iso(NOW + 8 * 86400)), "window_too_long", "ends_at"),
    (window(NOW, starts_at=iso(NOW - 7200), ends_at=iso(NOW - 60)), "window_in_past", "ends_at"),
    (
        window(NOW, starts_at=iso(NOW + 400 * 86400), ends_at=iso(NOW + 401 * 86400)),
        "window_too_far",
        "starts_at",
    ),
    (window(NOW, note="x" * 501), "invalid_note", "note"),
    (window(NOW, note=["not", "text"]), "invalid_note", "note"),
    (window(NOW, note="bell\x07 and\nnewline"), "invalid_note", "note"),
]


@pytest.mark.parametrize(("body", "code", "field"), BAD)
def test_every_bad_window_is_a_422_saying_what_to_fix(
    clock: ManualClock, body: Any, code: str, field: str | None
) -> None:
    with running(clock) as (_, client):
        resp = client.post("/v1/maintenance", json=body, headers=KEY)
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert (error["code"], error["field"]) == (code, field)
        assert len(error["message"]) > 10
        assert client.get("/v1/maintenance").json()["maintenance"] == []


def test_unknown_services_and_bad_queries(clock: ManualClock) -> None:
    with running(clock, accept_unknown_services=False) as (_, client):
        resp = client.post("/v1/maintenance", json=window(clock.now()), headers=KEY)
        assert resp.status_code == 422
        assert resp.json()["error"]["code"] == "unknown_service"
        assert "PUT /v1/catalog/tinyapp" in resp.json()["error"]["message"]
        seeded = client.post(
            "/v1/maintenance", json=window(clock.now(), service="aws"), headers=KEY
        )
        assert seeded.status_code == 201, seeded.text
        bad = client.get("/v1/maintenance?service=NOT%20A%20SLUG")
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "service"
        assert len(client.get("/v1/maintenance?service=").json()["maintenance"]) == 1  # all
        junk = client.post(
            "/v1/maintenance", content=b"{nope", headers={**KEY, "content-type": "application/json"}
        )
        assert junk.status_code == 400 and junk.json()["error"]["code"] == "invalid_json"


SERVICES = st.sampled_from(["aws", "tinyapp"])
REGIONS = st.sampled_from([None, "IT", "FR"])
WINDOWS = st.builds(
    Window,
    id=st.text("abc", min_size=1, max_size=3),
    service=SERVICES,
    region=REGIONS,
    starts_at=st.integers(0, 100).map(float),
    ends_at=st.integers(0, 200).map(float),
    note=st.just(""),
)


@given(
    st.lists(WINDOWS, max_size=8, unique_by=lambda w: w.id),
    SERVICES,
    REGIONS,
    st.integers(0, 200).map(float),
)
def test_the_covering_window_is_the_same_whatever_the_order(
    windows: list[Window], service: str, region: str | None, at: float
) -> None:
    found = in_maintenance(windows, (service, region), at)
    assert in_maintenance(reversed(windows), (service, region), at) == found
    covering = [
        w
        for w in windows
        if w.service == service and w.starts_at <= at < w.ends_at and w.region in (None, region)
    ]
    assert (found is None) == (not covering)
    if found is not None:
        assert found in covering and found.ends_at == max(w.ends_at for w in covering)


def test_replay_marks_with_the_windows_it_is_given(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from outagewatch.app.cli import cli
    from tests.test_replay_cli import write_all_formats

    reports = write_all_formats(tmp_path)["csv"]
    surge_at = T0 + 26 * 3600 + 5
    planned = {"id": "mw_db", "service": "tinyapp", "region": None, "note": NOTE}
    planned |= {"starts_at": iso(surge_at - 600), "ends_at": iso(surge_at + 3600)}
    windows = tmp_path / "windows.json"
    windows.write_bytes(orjson.dumps({"maintenance": [planned]}))  # as GET answers
    runner = CliRunner()
    feeds = {}
    for name, extra in (("with", ["--maintenance", str(windows)]), ("without", [])):
        out = tmp_path / f"{name}.json"
        result = runner.invoke(cli, ["replay", str(reports), "--feed", str(out), *extra])
        assert result.exit_code == 0, result.output
        feeds[name] = orjson.loads(out.read_bytes())["outages"]
    mark = {"id": "mw_db", "note": NOTE, "ends_at": planned["ends_at"]}
    tiny = [o for o in feeds["with"] if o["service"] == "tinyapp"]
    assert tiny and all(o["maintenance"] == mark for o in tiny)
    assert all(o["maintenance"] is None for o in feeds["with"] if o["service"] != "tinyapp")
    assert all(o["maintenance"] is None for o in feeds["without"])
    # Marks aside, the windows change nothing: detection runs as usual.
    assert [{**o, "maintenance": None} for o in feeds["with"]] == feeds["without"]

    windows.write_bytes(orjson.dumps([{**planned, "ends_at": planned["starts_at"]}]))
    bad = runner.invoke(cli, ["replay", str(reports), "--maintenance", str(windows)])
    assert bad.exit_code == 2 and "window 1: ends_at must be after starts_at" in bad.output


def test_the_live_server_and_a_replay_mark_the_same_incidents(
    clock: ManualClock, tmp_path: Path
) -> None:
    from outagewatch.app.maintenance import windows_from_json
    from outagewatch.app.replay import replay
    from tests.scenario import to_csv
    from tests.test_end_to_end import SURGE_AT, live_run

    with running(clock) as (app, client):
        # Declared a day ahead, for the surge's region only.
        planned = {"service": "tinyapp", "region": "IT", "note": "router swap"}
        planned |= {"starts_at": iso(SURGE_AT - 600), "ends_at": iso(SURGE_AT + 3600)}
        assert client.post("/v1/maintenance", json=planned, headers=KEY).status_code == 201
        sent = live_run(app, client, clock)
        feed = client.get("/v1/outages", params={"state": "all", "limit": 500}).json()["outages"]
        exported = client.get("/v1/maintenance").content
    live = {o["id"]: o["maintenance"] for o in feed}
    regional = [o for o in feed if o["service"] == "tinyapp" and o["region"] == "IT"]
    wide = [o for o in feed if o["service"] == "tinyapp" and o["region"] is None]
    assert regional and all(o["maintenance"]["note"] == "router swap" for o in regional)
    assert wide and all(o["maintenance"] is None for o in wide)

    csv = tmp_path / "reports.csv"
    csv.write_text(to_csv(sent))
    _, replayed = replay(csv, maintenance=windows_from_json(exported))
    assert {o["id"]: o["maintenance"] for o in replayed} == live
