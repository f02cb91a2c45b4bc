"""A real 3-node nats-server cluster with JetStream on loopback, and worker helpers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.subjects import (
    REPORTS,
    encode_report,
    encode_tick,
    ensure_streams,
    partition_of,
    report_subject,
)
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


def spawn_worker(
    cluster: LocalCluster, data: Path, parts: list[int], **env: str
) -> subprocess.Popen[bytes]:
    """`outagewatch worker` in a process of its own (one SIGKILL can end it), with
    OUTAGEWATCH_* settings from `env`; its log is `<data>.log`. As in tests/conftest.py
    settings, the per-network cap is off unless `env` sets it: one test client is a
    whole crowd."""
    cmd = [str(Path(sys.executable).parent / "outagewatch"), "worker",
           "--broker", ",".join(cluster.urls), "--partitions", ",".join(map(str, parts)),
           "--data", str(data)]  # fmt: skip
    log = (data.parent / f"{data.name}.log").open("ab")
    env = {"OUTAGEWATCH_PREFIX_CAP": "0", **env}
    return subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, **env})


Message = tuple[int, int, bytes]  # stream sequence, partition, payload


class Sent:
    """Everything published, in stream order, as JetStream acknowledged it."""

    def __init__(self, cluster: LocalCluster, partitions: int) -> None:
        self.cluster = cluster
        self.partitions = partitions
        self.messages: list[Message] = []
        # Where a reference run's batches end (`cut` where the test waited for a live
        # worker): the engine's early openings may depend on where batches end.
        self.cuts: list[int] = []

    def cut(self) -> None:
        self.cuts.append(len(self.messages))

    def reports(self, rows: list[dict[str, Any]]) -> None:
        self._publish([
            (partition_of(r["service"], self.partitions), r["service"], r["region"],
             encode_report(r["ts"], r["service"], r["region"], r.get("problem"), r["reporter"]))
            for r in rows
        ])  # fmt: skip

    def ticks(self, ts: float) -> None:
        self._publish([(p, "_tick", None, encode_tick(ts)) for p in range(self.partitions)])

    def _publish(self, items: list[tuple[int, str, str | None, bytes]]) -> None:
        async def send() -> list[Message]:
            nc = await nats.connect(servers=self.cluster.urls)
            js = nc.jetstream()
            await ensure_streams(js, 3)
            out = []
            for p, service, region, payload in items:  # one at a time: stream order = time
                ack = await js.publish(report_subject(p, service, region), payload, stream=REPORTS)
                out.append((ack.seq, p, payload))
            await nc.close()
            return out

        self.messages += run(send())

    def last(self, p: int) -> int:
        return max(seq for seq, q, _ in self.messages if q == p)

    def report_seqs(self, p: int) -> list[int]:
        return [seq for seq, q, data in self.messages if q == p and b'"_tick"' not in data]


def until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll `check` until it holds (True) or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def drained(servers: list[str], partitions: int, timeout: float = 30.0) -> None:
    """Wait until every partition's newest message is applied: its consumer's ack floor
    has reached the partition's last stream sequence. A worker acks only what it has
    committed, and a consumer it just created starts with its floor at the stored
    sequence. (Counting pending messages instead passed once while a replacement
    worker had only just recreated its consumers and applied nothing.)"""

    async def behind(js: Any, p: int) -> int:
        try:
            last = (await js.get_last_msg(REPORTS, f"reports.{p}.>")).seq
        except NotFoundError:
            return 0  # nothing was ever sent to this partition
        try:
            floor = (await js.consumer_info(REPORTS, f"p{p}")).ack_floor.stream_seq
        except Exception:  # being replaced, or a leader election: not yet
            return 1
        return max(0, int(last) - int(floor or 0))

    async def check() -> None:
        nc = await nats.connect(servers=servers)
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        try:
            while True:
                lag = {p: await behind(js, p) for p in range(partitions)}
                if not any(lag.values()):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"partitions not yet applied to their end: {lag}")
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
