"""Readers never trip over the writer: display routes read without the writer's lock,
so a series registered mid-read must not turn into an IndexError (a 500)."""

from __future__ import annotations

import sys
import threading

from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch
from outagewatch.app.responses import Rendered
from tests.conftest import import_rows


def test_service_reads_while_the_writer_adds_series(
    app_client: tuple[OutageWatch, TestClient],
) -> None:
    app, client = app_client
    now = app.runtime.clock.now()
    done = threading.Event()
    added: list[str] = []

    def writer() -> None:
        try:
            for i in range(150):
                names = [f"grow-{i}-{j}" for j in range(20)]
                rows = [{"service": s, "region": "IT", "ts": now - 1} for s in names]
                import_rows(client, rows)
                app.runtime.tick()
                added.append(names[-1])
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    statuses: list[int] = []
    while not done.is_set():
        statuses.append(client.get("/v1/services", params={"limit": 5}).status_code)
        if added:
            statuses.append(client.get(f"/v1/services/{added[-1]}").status_code)
    thread.join()
    assert len(statuses) > 20  # the reads really overlapped the writes
    assert set(statuses) <= {200, 404}, statuses
    listed = client.get("/v1/services", params={"limit": 1000}).json()["services"]
    assert len(listed) == 1000 and all(s["reports_24h"] == 1 for s in listed)


def test_the_render_cache_takes_many_threads() -> None:
    # Found under Locust: eviction raced with inserts from the route thread pool (a 500).
    cache = Rendered(size=8)
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        try:
            for i in range(20_000):
                key = (seed * 7 + i) % 50
                assert cache.memo(key, i % 3, lambda k=key: k * 2) == key * 2
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(cache._items) <= 8
