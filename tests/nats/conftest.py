"""A real 3-node nats-server cluster with JetStream on loopback, and worker helpers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.subjects import REPORTS
from outagewatch.app.broker.worker import Worker

pytestmark = pytest.mark.nats


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    c = LocalCluster(tmp_path / "nats")
    c.start(timeout=15)
    try:
        yield c
    finally:
        c.stop()


class WorkerThread:
    """A worker on its own event loop in a thread (in-process, real DuckDB files)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.worker.run())
        except BaseException as exc:
            self.error = exc
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.worker.stop)
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def drained(servers: list[str], partitions: int, timeout: float = 30.0) -> None:
    """Wait until every partition's consumer has acknowledged everything in the stream."""

    async def check() -> None:
        nc = await nats.connect(servers=servers)
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        try:
            while True:
                busy = 0
                for p in range(partitions):
                    try:
                        info = await js.consumer_info(REPORTS, f"p{p}")
                        busy += info.num_pending + info.num_ack_pending
                    except Exception:
                        busy += 1
                if busy == 0:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{busy} messages not yet applied")
                await asyncio.sleep(0.1)
        finally:
            await nc.close()

    run(check())


def run(coro: Any) -> Any:
    """asyncio.run on a thread of its own: another test (Playwright's sync API) may
    have left an event loop running on the main thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
