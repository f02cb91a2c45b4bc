"""A worker never skips a message whose delivery went missing.

When a nats-server dies, the messages it was carrying to a worker are lost on the way,
yet the consumer counts them as delivered. The next fetch then starts after them; had
the worker applied it and acknowledged it (AckPolicy.ALL), the lost ones would have
been acknowledged unread: an acknowledged report gone (the failover test saw 599 of 600
once). Here the loss is made on purpose: while the worker's event loop is held, another
connection takes one delivery from the worker's consumer and never acknowledges it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import nats
import pytest

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.subjects import REPORTS, encode_report, ensure_streams, report_subject
from outagewatch.app.broker.worker import Worker
from tests.conftest import T0, settings
from tests.nats.conftest import WorkerThread, drained, run, until

pytestmark = pytest.mark.nats


def pull_requests_waiting(cluster: LocalCluster, durable: str) -> int:
    async def ask() -> int:
        nc = await nats.connect(servers=cluster.urls)
        try:
            info = await nc.jetstream().consumer_info(REPORTS, durable)
            return int(info.num_waiting or 0)
        finally:
            await nc.close()

    return run(ask())  # type: ignore[no-any-return]


def publish(cluster: LocalCluster, reporters: list[str]) -> None:
    async def send() -> None:
        nc = await nats.connect(servers=cluster.urls)
        js = nc.jetstream()
        await ensure_streams(js, 3)
        for i, who in enumerate(reporters):
            body = encode_report(T0 + i, "svc", "IT", None, who)
            await js.publish(report_subject(0, "svc", "IT"), body, stream=REPORTS)
        await nc.close()

    run(send())


def steal_one_delivery(cluster: LocalCluster) -> str:
    """Fetch one message from the worker's consumer on another connection, never ack it:
    to the consumer it is delivered, to the worker it never arrived."""

    async def take() -> str:
        nc = await nats.connect(servers=cluster.urls)
        try:
            sub = await nc.jetstream().pull_subscribe_bind("p0", stream=REPORTS)
            (msg,) = await sub.fetch(1, timeout=5)
            return str(msg.data, "utf-8")
        finally:
            await nc.close()

    return run(take())  # type: ignore[no-any-return]


def stored_reporters(data: Path) -> list[str]:
    con = duckdb.connect(str(data / "p0.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT reporter FROM reports ORDER BY ts").fetchall()]
    finally:
        con.close()


def test_a_delivery_lost_on_the_way_is_read_again_not_skipped(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    data = tmp_path / "w"
    worker = Worker(settings(data, broker=",".join(cluster.urls), partitions=1), cluster.urls, [0])
    thread = WorkerThread(worker)
    try:
        publish(cluster, ["a"])
        assert until(lambda: worker.applied == 1)

        held = threading.Event()
        thread.loop.call_soon_threadsafe(held.wait, 30)  # the worker's loop stands still
        try:
            # Its pending pull request expires (0.2 s), so the next message goes elsewhere.
            assert until(lambda: pull_requests_waiting(cluster, "p0") == 0)
            publish(cluster, ["b"])
            assert '"b"' in steal_one_delivery(cluster)  # delivery 2: lost on the way
            publish(cluster, ["c", "d"])
        finally:
            held.set()
        drained(cluster.urls, 1, 60)
        until(lambda: worker.applied == 4)  # the stolen one comes back on a fresh consumer
    finally:
        thread.stop()
    assert worker.resets >= 1  # delivery 3 came after a gap: the consumer was replaced
    assert sorted(stored_reporters(data)) == ["a", "b", "c", "d"]
