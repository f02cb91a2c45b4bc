"""A report travels to the feed: a surge on a quiet service opens an incident through
the real app, it resolves after the surge, and a replay of the same reports from a
file gives the same incidents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch
from outagewatch.app.replay import replay
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, backfill, running, tick_to
from tests.scenario import background, decisions, to_csv

HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0


def live_run(app: OutageWatch, client: TestClient, clock: ManualClock) -> list[dict[str, Any]]:
    """Drive the live server; returns every report it was sent, with server times."""
    sent = background(T0, HISTORY_MIN)
    backfill(app, client, clock, sent, SURGE_AT)
    # 300 people report tinyapp within a minute (it normally gets ~2 an hour).
    for i in range(300):
        body = {"service": "tinyapp", "region": "IT", "problem": "login", "reporter": f"s{i}"}
        resp = client.post("/v1/reports", json=body)
        assert resp.status_code == 202 and resp.json()["counted"]
        sent.append({**body, "ts": round(clock.now(), 3)})
        clock.advance(0.15)
    # Then 45 quiet minutes, with busy's usual traffic, ticking every 20 s as live.
    for minute in range(45):
        for j in range(3):
            body = {
                "service": "busy",
                "region": "US",
                "problem": "app",
                "reporter": f"b{minute}-{j}",
            }
            client.post("/v1/reports", json=body)
            sent.append({**body, "ts": round(clock.now(), 3)})
            clock.advance(20)
            app.runtime.tick()
    last = max(r["ts"] for r in sent)
    clock.set(last + 60 + app.runtime.settings.allowed_lateness_s)
    app.runtime.tick()
    return sent


def test_surge_opens_then_resolves_and_replay_agrees(clock: ManualClock, tmp_path: Path) -> None:
    with running(clock) as (app, client):
        sent = live_run(app, client, clock)
        feed = client.get("/v1/outages", params={"state": "all", "limit": 500}).json()["outages"]
        detail = client.get("/v1/services/tinyapp").json()
        open_now = client.get("/v1/outages").json()["outages"]

    tiny = [o for o in feed if o["service"] == "tinyapp" and o["region"] is None]
    assert len(tiny) == 1, feed
    inc = tiny[0]
    assert inc["level"] == "outage" and inc["state"] == "resolved"
    assert inc["started_at"] == "2026-11-03T02:00:00Z"  # the surge's bucket
    # Opened 8 s after onset, from the partial bucket: before the minute was over.
    assert inc["opened_at"] == "2026-11-03T02:00:15Z"
    assert inc["confirmed_at"] == inc["opened_at"]
    assert inc["ended_at"] is not None and inc["ended_at"] <= "2026-11-03T02:02:00Z"
    assert inc["total_reports"] >= 300
    assert inc["top_problems"][0]["problem"] == "login"
    assert inc["regions"][0]["region"] == "IT"
    assert not [o for o in feed if o["service"] == "busy"], "busy's normal traffic is no outage"
    assert open_now == []
    assert detail["reports_24h"] >= 300
    assert any(p["count"] >= 300 for p in detail["series"])

    csv = tmp_path / "reports.csv"
    csv.write_text(to_csv(sent))
    _, replayed = replay(csv, feed=tmp_path / "feed.json")
    assert decisions(replayed) == decisions(feed)


def test_restart_keeps_counts_incidents_and_carries_on(clock: ManualClock, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(clock, data) as (app, client):
        backfill(app, client, clock, background(T0, HISTORY_MIN), SURGE_AT)
        for i in range(200):
            client.post("/v1/reports", json={"service": "tinyapp", "reporter": f"s{i}"})
            clock.advance(0.2)
        tick_to(app, clock, SURGE_AT + 150)
        before = client.get("/v1/outages").json()["outages"]
        counts_before = client.get("/v1/services/tinyapp").json()
        # a few reports in the still-open bucket must survive the restart too
        for i in range(3):
            client.post("/v1/reports", json={"service": "busy", "reporter": f"r{i}"})
        app.runtime.tick()
    assert [o["service"] for o in before] == ["tinyapp"]

    with running(clock, data) as (app, client):
        after = client.get("/v1/outages").json()["outages"]
        assert after == before
        detail = client.get("/v1/services/tinyapp").json()
        assert detail["reports_24h"] == counts_before["reports_24h"]
        assert detail["series"] == counts_before["series"]
        # The detector carries on from its snapshot: the open incident resolves.
        tick_to(app, clock, clock.now() + 40 * 60)
        resolved = client.get("/v1/outages", params={"state": "resolved"}).json()["outages"]
        assert [o["id"] for o in resolved] == [before[0]["id"]]
        busy = client.get("/v1/services/busy").json()
        assert busy["reports_1h"] >= 3
        ids = app.runtime.store._con.execute("SELECT count(*) FROM reports").fetchone()
        # Every report ever acknowledged is stored exactly once.
        assert ids is not None and ids[0] == len(background(T0, HISTORY_MIN)) + 200 + 3
