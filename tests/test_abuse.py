"""Hostile crowds through the real app: floods, rate limits, one network posing as many."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch, create_app
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock
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


# --- one client, or one network, is not a crowd ----------------------------------------
# Every request below comes through a proxy on 127.0.0.1 that the app trusts, so its
# X-Forwarded-For is the client's address: a test can be a crowd of networks or one.
PROXY = ("127.0.0.1", 50000)


@contextmanager
def behind_proxy(clock: ManualClock, **changes: object) -> Iterator[tuple[OutageWatch, Any]]:
    """The real app (lifespan, manual clock) with the shipped per-network cap, seeing
    clients through a trusted proxy; a day of history so series may raise incidents."""
    limits = {"prefix_cap": Settings().prefix_cap, "trusted_proxies": ("127.0.0.1",)}
    app = create_app(settings(**{**limits, **changes}), clock)
    with TestClient(app, client=PROXY) as client:
        warm_up(app, client, clock)
        yield app, client


def _report(client: Any, address: str, body: dict[str, Any], ua: str = "t") -> bool:
    resp = client.post(
        "/v1/reports", json=body, headers={"x-forwarded-for": address, "user-agent": ua}
    )
    assert resp.status_code == 202, resp.text  # stored, whether it counts or not
    counted: bool = resp.json()["counted"]
    return counted


def _outages(app: OutageWatch, client: Any, clock: ManualClock) -> list[str]:
    tick_to(app, clock, clock.now() + 180)
    return [o["service"] for o in client.get("/v1/outages").json()["outages"]]


@pytest.mark.parametrize("cap, opens", [(None, False), (25, True)])
def test_one_address_rotating_tokens_opens_nothing(
    clock: ManualClock, cap: int | None, opens: bool
) -> None:
    """Ten reports, ten reporter tokens, one address: the issue's reproduction. With
    the old cap of 25 it opened an outage; with the shipped cap two of them count."""
    changes = {} if cap is None else {"prefix_cap": cap}
    with behind_proxy(clock, **changes) as (app, client):
        counted = []
        for i in range(10):
            body = {"service": "tinyapp", "problem": "login", "reporter": f"tok-{i}"}
            counted.append(_report(client, "203.0.113.9", body))
            clock.advance(3.0)
        assert _outages(app, client, clock) == (["tinyapp"] if opens else [])
        if not opens:
            assert counted == [True, True] + [False] * 8


def test_one_address_rotating_user_agents_opens_nothing(clock: ManualClock) -> None:
    with behind_proxy(clock) as (app, client):
        counted = [
            _report(client, "203.0.113.9", {"service": "tinyapp"}, ua=f"Mozilla/5.0 ({i})")
            for i in range(25)
        ]
        assert sum(counted) == 2
        assert _outages(app, client, clock) == []


def test_addresses_within_one_network_open_nothing(clock: ManualClock) -> None:
    with behind_proxy(clock) as (app, client):
        counted = []
        for i in range(25):  # 203.0.113.1 .. .25: one /24
            body = {"service": "tinyapp", "reporter": f"host-{i}"}
            counted.append(_report(client, f"203.0.113.{i + 1}", body))
            clock.advance(1.0)
        for i in range(25):  # 2001:db8:7::/48, many /64s: one network too
            body = {"service": "tinyapp", "reporter": f"v6-{i}"}
            counted.append(_report(client, f"2001:db8:7:{i:x}::1", body))
        assert sum(counted) == 4  # two per network
        assert _outages(app, client, clock) == []


def test_sixty_distinct_networks_open_the_outage(clock: ManualClock) -> None:
    with behind_proxy(clock) as (app, client):
        counted = []
        for i in range(60):  # sixty /24s, one person each, within two minutes
            body = {"service": "tinyapp", "problem": "login", "reporter": f"person-{i}"}
            counted.append(_report(client, f"198.{18 + i % 2}.{i}.7", body))
            clock.advance(2.0)
        assert all(counted)
        assert _outages(app, client, clock) == ["tinyapp"]
