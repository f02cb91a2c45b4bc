"""Shared fixtures: the real app, in memory or on a temp DuckDB file, on a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch, create_app
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock

# Monday 2026-11-02 00:00:00 UTC: tests start on a known hour of the week.
T0 = 1_793_577_600.0
API_KEY = "test-key"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def settings(data: Path | None = None, **changes: Any) -> Settings:
    # A test client posts a whole crowd from one address: the per-network cap and rate
    # limit are off unless a test is about them (tests/test_abuse.py). Tests make up
    # service names, so unknown services are accepted unless a test is about the catalog.
    base: dict[str, Any] = {
        "prefix_cap": 0,
        "rate_address_per_s": 1e9,
        "accept_unknown_services": True,
        "new_services_per_hour": 100_000,
        "new_regions_per_hour": 100_000,
        "api_keys": (API_KEY,),
    }
    return Settings(data=data, **{**base, "tick_interval_s": 0, **changes})


@contextmanager
def running(
    clock: ManualClock, data: Path | None = None, **changes: Any
) -> Iterator[tuple[OutageWatch, TestClient]]:
    app = create_app(settings(data, **changes), clock)
    with TestClient(app) as client:
        yield app, client


@pytest.fixture
def client(clock: ManualClock) -> Iterator[TestClient]:
    with running(clock) as (_, c):
        yield c


@pytest.fixture
def app_client(clock: ManualClock) -> Iterator[tuple[OutageWatch, TestClient]]:
    with running(clock) as pair:
        yield pair


def tick_to(app: OutageWatch, clock: ManualClock, t: float, step: float = 60.0) -> None:
    """Move the clock to t in steps, letting the writer tick at each, as live."""
    while clock.now() + step <= t:
        clock.advance(step)
        app.runtime.tick()
    clock.set(t)
    app.runtime.tick()


def import_rows(client: TestClient, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import orjson

    body = b"\n".join(orjson.dumps(r) for r in rows)
    resp = client.post(
        "/v1/import",
        content=body,
        headers={"authorization": f"Bearer {API_KEY}", "content-type": "application/x-ndjson"},
    )
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


Poster = Callable[..., Any]


HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0


def backfill(
    app: OutageWatch, client: Any, clock: ManualClock, rows: list[dict[str, Any]], until: float
) -> None:
    """History imported the way an operator seeds a fresh server: the clock is at
    `until` and one import carries the past (imports may not run ahead of the clock)."""
    clock.set(until)
    import_rows(client, rows)
    app.runtime.tick()


def warm_up(app: OutageWatch, client: Any, clock: ManualClock) -> None:
    """A day of ordinary traffic, so series are past warm-up and may raise incidents."""
    from tests.scenario import background

    backfill(app, client, clock, background(T0, HISTORY_MIN), SURGE_AT)


def surge(client: Any, clock: ManualClock, service: str = "tinyapp", n: int = 300) -> None:
    for i in range(n):
        body = {"service": service, "region": "IT", "problem": "login", "reporter": f"s{i}"}
        assert client.post("/v1/reports", json=body).status_code == 202
        clock.advance(0.15)


@contextmanager
def serving(app: OutageWatch) -> Iterator[str]:
    """The app on a real uvicorn server on loopback (a thread), configured as the CLI
    serves it; yields its base URL."""
    import threading

    import uvicorn

    from outagewatch.app.connections import server_options

    # As `outagewatch serve` runs it: our protocol and limits, uvicorn's proxy headers off.
    options = server_options(app.runtime.settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    import time

    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_async(coro: Any) -> Any:
    """asyncio.run on a thread of its own: Playwright's sync API (browser tests) can
    leave an event loop running on the main thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
