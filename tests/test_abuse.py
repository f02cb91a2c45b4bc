"""Hostile crowds through the real app: floods, rate limits, one network posing as many."""

from __future__ import annotations

import httpx

from app.main import create_app
from ingest.clock import ManualClock
from tests.conftest import run_async, running, settings, tick_to, warm_up


def test_flood_from_three_reporters_opens_nothing_sixty_people_do(clock: ManualClock) -> None:
    with running(clock, rate_reporter_per_s=1e9, rate_reporter_burst=1e9) as (app, client):
        warm_up(app, client, clock)
        for i in range(6000):  # 6,000 reports from 3 reporters in 10 minutes
            body = {"service": "tinyapp", "problem": "login", "reporter": f"bot{i % 3}"}
            assert client.post("/v1/reports", json=body).status_code == 202
            clock.advance(0.1)
        tick_to(app, clock, clock.now() + 120)
        assert client.get("/v1/outages").json()["outages"] == []
        flood = client.get("/v1/services/tinyapp").json()
        assert flood["reports_1h"] <= 3 + 5  # the 3 bots once each, plus the usual trickle

        tick_to(app, clock, clock.now() + 3 * 3600, step=600)
        for i in range(60):  # then 60 different people within two minutes
            body = {"service": "tinyapp", "problem": "login", "reporter": f"person{i}"}
            client.post("/v1/reports", json=body)
            clock.advance(2.0)
        tick_to(app, clock, clock.now() + 120)
        opened = client.get("/v1/outages").json()["outages"]
        assert [o["service"] for o in opened] == ["tinyapp"]


def test_one_network_counts_as_a_few_people(clock: ManualClock) -> None:
    async def post_all() -> list[dict[str, object]]:
        app = create_app(settings(prefix_cap=3), clock)
        out = []
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for i in range(10):
                r = await c.post("/v1/reports", json={"service": "aws", "reporter": f"p{i}"})
                out.append(r.json())
            other = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
            async with httpx.AsyncClient(transport=other, base_url="http://t") as c2:
                r = await c2.post("/v1/reports", json={"service": "aws", "reporter": "x"})
                out.append(r.json())
        return out

    results = run_async(post_all())
    counted = [r["counted"] for r in results]
    assert counted[:3] == [True] * 3 and counted[3:10] == [False] * 7  # same /24: 3 count
    assert counted[10] is True  # another network is other people
    assert all(r["accepted"] for r in results)  # stored, never lost


def test_rate_limits_answer_429_with_retry_after(clock: ManualClock) -> None:
    with running(clock, rate_address_per_s=1.0, rate_address_burst=5) as (_, client):
        codes = [
            client.post("/v1/reports", json={"service": "aws", "reporter": f"r{i}"}).status_code
            for i in range(8)
        ]
        assert codes[:5] == [202] * 5 and codes[5:] == [429] * 3
        limited = client.post("/v1/reports", json={"service": "aws"})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        clock.advance(10)
        assert client.post("/v1/reports", json={"service": "aws"}).status_code == 202
    with running(clock, rate_reporter_per_s=0.1, rate_reporter_burst=2) as (_, client):
        codes = [
            client.post("/v1/reports", json={"service": "aws", "reporter": "same"}).status_code
            for _ in range(3)
        ]
        assert codes == [202, 202, 429]
