"""Shared fixtures: the real app, in memory or on a temp DuckDB file, on a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import OutageWatch, create_app
from app.settings import Settings
from ingest.clock import ManualClock

# Monday 2026-11-02 00:00:00 UTC: tests start on a known hour of the week.
T0 = 1_793_577_600.0
API_KEY = "test-key"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def settings(data: Path | None = None, **changes: Any) -> Settings:
    return Settings(data=data, tick_interval_s=0, api_keys=(API_KEY,), **changes)


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
