"""Reports accepted in one turn of the event loop go to the log together (app/intake.py
LogSink); every one must still be numbered once, stored under its own number and judged
by dedup on its own. A real uvicorn server, real log files and a real DuckDB file."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import run_async, serving, settings

PEOPLE = 150


async def post_all(base: str) -> list[int]:
    """Every person posts the same report twice, all at once over 64 connections."""
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        bodies = [
            {"service": "aws", "region": "IT", "reporter": f"p{i}"}
            for i in range(PEOPLE)
            for _ in range(2)
        ]
        answers = await asyncio.gather(*(client.post("/v1/reports", json=b) for b in bodies))
    return [a.status_code for a in answers]


def test_reports_logged_together_are_numbered_stored_and_judged_one_by_one(
    clock: ManualClock, tmp_path: Path
) -> None:
    app = create_app(
        settings(tmp_path, rate_address_per_s=1e9, rate_address_burst=1e9, prefix_cap=0), clock
    )
    with serving(app) as base:
        statuses = run_async(post_all(base))
        assert statuses == [202] * (2 * PEOPLE)
        rt = app.runtime
        assert rt.wal is not None
        logged = list(rt.wal.replay(0))
        rt.tick()
        stored = rt.store.query("SELECT seq, reporter, service, counted FROM reports ORDER BY seq")
    # Numbered 1..n, each once, and every row stored under the number it was logged with.
    assert [r[0] for r in logged] == list(range(1, 2 * PEOPLE + 1))
    assert [(s, rep, svc, c) for s, _, svc, _, _, rep, c in logged] == [tuple(r) for r in stored]
    # Dedup judged each report: of a person's two, exactly one counts.
    counted = Counter(rep for _, rep, _, c in stored if c)
    assert len({rep for _, rep, _, _ in stored}) == PEOPLE
    assert len(counted) == PEOPLE and set(counted.values()) == {1}
