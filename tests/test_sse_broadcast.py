"""Live streams on a real server: a cap with 503 past it, and one broadcast per batch
of events for every open stream (no poll per client).

Every wait is bounded (asyncio.wait_for, httpx timeouts)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import run_async, serving, settings, surge, tick_to, warm_up

WAIT = 20.0
STREAM = "/v1/outages/stream"


def test_past_the_cap_a_stream_gets_503_with_retry_after(clock: ManualClock) -> None:
    app = create_app(settings(max_sse_streams=3), clock)
    assert app.broadcast is not None
    broadcast = app.broadcast

    async def run(base: str) -> None:
        limits = httpx.Limits(max_connections=10)
        async with (
            httpx.AsyncClient(base_url=base, timeout=WAIT, limits=limits) as c,
            AsyncExitStack() as stack,
        ):
            held = [await stack.enter_async_context(c.stream("GET", STREAM)) for _ in range(3)]
            assert [r.status_code for r in held] == [200] * 3
            assert len(broadcast.streams) == 3
            over = await c.get(STREAM)
            assert over.status_code == 503
            assert int(over.headers["retry-after"]) > 0
            assert over.json()["error"]["code"] == "too_many_streams"
            assert over.headers["content-type"] == "application/json"
            # A stream that ends gives its slot back (the server sees the disconnect).
            await held[0].aclose()
            await asyncio.wait_for(_until(lambda: len(broadcast.streams) == 2), WAIT)
            async with c.stream("GET", STREAM) as again:
                assert again.status_code == 200

    with serving(app) as base:
        run_async(run(base))


async def _until(done: object) -> None:
    assert callable(done)
    while not done():
        await asyncio.sleep(0.01)


def test_events_reach_every_stream_from_one_broadcast(clock: ManualClock) -> None:
    n = 40
    app = create_app(settings(), clock)
    assert app.broadcast is not None
    broadcast = app.broadcast

    async def run(base: str) -> tuple[list[list[str]], int, int]:
        limits = httpx.Limits(max_connections=n + 5)
        async with (
            httpx.AsyncClient(base_url=base, timeout=WAIT, limits=limits) as c,
            AsyncExitStack() as stack,
        ):
            streams = [await stack.enter_async_context(c.stream("GET", STREAM)) for _ in range(n)]
            assert all(r.status_code == 200 for r in streams)
            assert len(broadcast.streams) == n

            def outage() -> None:  # the writer thread's work, on the test's clock
                with httpx.Client(base_url=base, timeout=WAIT) as sync:
                    surge(sync, clock)
                tick_to(app, clock, clock.now() + 120)

            async def first_event(r: httpx.Response) -> list[str]:
                lines: list[str] = []
                async for line in r.aiter_lines():
                    if not line:
                        if any(x.startswith("event:") for x in lines):
                            return lines
                        lines = []
                        continue
                    lines.append(line)
                return lines

            readers = [asyncio.ensure_future(first_event(r)) for r in streams]
            await asyncio.to_thread(outage)
            got = list(await asyncio.wait_for(asyncio.gather(*readers), WAIT))
            return got, broadcast.batches, broadcast.pushed  # all n streams still open

    with serving(app) as base, httpx.Client(base_url=base, timeout=WAIT) as client:
        warm_up(app, client, clock)
        assert broadcast.batches == broadcast.pushed == 0  # no stream: nothing to do
        got, batches, pushed = run_async(run(base))
    assert all("event: opened" in lines for lines in got), got[:2]
    ids = {next(x for x in lines if x.startswith("id:")) for lines in got}
    assert len(ids) == 1  # every client the same first event
    # One loop callback per batch of events, each put on all n queues: no client polled.
    assert batches >= 1 and pushed == n * batches
