"""Pages read the open incidents from the writer's published view: at every tick of an
outage that opens, spreads and resolves, and after a restart, they are what the store
holds (all of them oldest first; a service's newest first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, backfill, import_rows, running
from tests.scenario import background

HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0
SERVICES = ("tinyapp", "aws", "netflix")


def agree(app: Any) -> int:
    """Checks the view against the store; returns how many incidents are open."""
    rt = app.runtime
    stored = rt.store.open_incidents()
    held = rt.view.open.all()
    assert sorted(held, key=lambda d: d["id"]) == sorted(stored, key=lambda d: d["id"])
    assert [d["opened_at"] for d in held] == sorted(d["opened_at"] for d in stored)
    for service in SERVICES:
        mine, _ = rt.store.incidents(service=service, state="open", limit=100)
        assert rt.view.open.of(service) == mine
    return len(held)


def test_the_views_open_incidents_are_the_stores(clock: ManualClock, tmp_path: Path) -> None:
    seen = 0
    with running(clock, tmp_path) as (app, client):
        backfill(app, client, clock, background(T0, HISTORY_MIN), SURGE_AT)
        for i in range(600):
            body = {"service": ("tinyapp", "aws")[i % 2], "region": ("IT", "DE", "PL")[i % 3],
                    "problem": "login", "reporter": f"s{i}"}  # fmt: skip
            assert client.post("/v1/reports", json=body).status_code == 202
            clock.advance(0.2)
            if i % 25 == 0:
                app.runtime.tick()
                seen = max(seen, agree(app))
        assert seen >= 2  # the outage opened, here and regionally
        start = clock.now()
        quiet = background(start, 120, seed=3)
        for m in range(120):  # the usual traffic again: the incidents end
            clock.set(start + (m + 1) * 60)
            minute = [r for r in quiet if start + m * 60 <= r["ts"] < start + (m + 1) * 60]
            if minute:
                import_rows(client, minute)
            app.runtime.tick()
            agree(app)
        assert not app.runtime.view.open.all()
    with running(clock, tmp_path) as (app, client):
        agree(app)

    # An outage open across a restart comes back into the view.
    with running(clock, tmp_path) as (app, client):
        for i in range(600):
            body = {"service": "tinyapp", "region": "IT", "reporter": f"t{i}"}
            assert client.post("/v1/reports", json=body).status_code == 202
            clock.advance(0.1)
        app.runtime.tick()
        assert agree(app) >= 1
    with running(clock, tmp_path) as (app, client):
        assert agree(app) >= 1
