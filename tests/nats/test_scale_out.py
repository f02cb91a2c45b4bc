"""Scale-out on a real 3-node JetStream cluster: same incidents as the embedded mode,
and no acknowledged report lost or counted twice when the stream leader and a
worker die mid-stream."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import nats
import pytest
from fastapi.testclient import TestClient

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import create_intake_node
from outagewatch.app.broker.subjects import REPORTS
from outagewatch.app.broker.worker import Worker
from outagewatch.app.replay import replay
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, backfill, running, settings
from tests.nats.conftest import WorkerThread, drained, run, spawn_worker
from tests.scenario import background, decisions, to_csv

pytestmark = pytest.mark.nats
PARTITIONS = 8
HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0


def node_settings(cluster: LocalCluster, data: Path | None = None) -> Settings:
    # As the embedded server in tests: one test client's crowd, made-up services.
    return settings(
        data, broker=",".join(cluster.urls), partitions=PARTITIONS, reporter_salt="shared-salt"
    )


def split(n_workers: int) -> list[list[int]]:
    return [list(range(PARTITIONS))[i::n_workers] for i in range(n_workers)]


def wait_for(fetch: Any, expect: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        got: list[dict[str, Any]] = fetch()
        if len(got) >= expect or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def settled(fetch: Any, expect: Any, timeout: float) -> Any:
    """What `fetch` answers once it equals `expect`, or at `timeout` whatever it is."""
    deadline = time.monotonic() + timeout
    while (got := fetch()) != expect and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


@pytest.mark.parametrize("leader_dies", [False, True], ids=["steady", "stream-leader-killed"])
def test_two_intake_nodes_three_workers_match_the_live_server(
    cluster: LocalCluster, tmp_path: Path, leader_dies: bool
) -> None:
    """The same reports, with the same server times, to NATS mode and to the embedded
    server ticking as it does live (its day of history imported): the same incidents,
    the same /v1/outages answer, and a replay of the same reports decides the same;
    also when the stream's leader is killed mid-surge
    (publishes wait out the election, deliveries lost with it are read again)."""
    clock = ManualClock(T0)
    workers = [
        WorkerThread(Worker(node_settings(cluster, tmp_path / f"w{i}"), cluster.urls, parts))
        for i, parts in enumerate(split(3))
    ]
    a = create_intake_node(node_settings(cluster), clock)
    b = create_intake_node(node_settings(cluster), clock)
    sent: list[dict[str, Any]] = []
    ticked = [SURGE_AT]
    with TestClient(a) as ca, TestClient(b) as cb, running(clock) as (server, live):
        clients = [ca, cb]

        def post(body: dict[str, Any], i: int, to_live: bool = True) -> None:
            resp = clients[i % 2].post("/v1/reports", json=body)
            assert resp.status_code == 202, resp.text
            sent.append({**body, "ts": clock.now()})
            if not to_live:
                return
            if clock.now() - ticked[0] >= 0.5:  # the live writer ticks every 0.5 s
                server.runtime.tick()
                ticked[0] = clock.now()
            assert live.post("/v1/reports", json=body).json() == resp.json()

        history = background(T0, HISTORY_MIN)
        for i, row in enumerate(history):
            clock.set(row["ts"])
            post({k: v for k, v in row.items() if k != "ts"}, i, to_live=False)
        # The live server gets the same day as an operator seeds one: a bulk import
        # (stepping 26 h a bucket at a time through the real app would take minutes).
        backfill(server, live, clock, history, SURGE_AT)
        for i in range(300):
            if leader_dies and i == 150:
                cluster.kill(stream_leader(cluster))  # SIGKILL, mid-surge
            post({"service": "tinyapp", "region": "IT", "problem": "login", "reporter": f"s{i}"}, i)
            clock.advance(0.15)
        for minute in range(45):
            for j in range(3):
                body = {"service": "busy", "region": "US", "problem": "app",
                        "reporter": f"b{minute}-{j}"}  # fmt: skip
                post(body, j)
                clock.advance(20)
        clock.set(max(r["ts"] for r in sent) + 60 + 10)
        server.runtime.tick()
        clients[0].portal.call(a.state.node.publish_ticks)  # type: ignore[union-attr]
        drained(cluster.urls, PARTITIONS, 120)

        def feed(client: TestClient) -> list[dict[str, Any]]:
            r = client.get("/v1/outages", params={"state": "all", "limit": 500})
            return list(r.json()["outages"])

        embedded = feed(live)
        assert any(o["service"] == "tinyapp" for o in embedded)
        # The third path: the same reports replayed from a file decide the same.
        csv = tmp_path / "reports.csv"
        csv.write_text(to_csv(sent))
        _, replayed = replay(csv, feed=tmp_path / "feed.json")
        assert decisions(replayed) == decisions(embedded)
        # The read side follows the workers: a partition whose lease was lost while the
        # leader was being elected is applied again once it is taken back.
        got = settled(lambda: feed(cb), embedded, 60.0)
        assert got == embedded
        first = got[0]
        # Each node follows the workers on its own: the other may apply the last
        # update of a partition taken back after the election a moment later.
        one = settled(lambda: ca.get(f"/v1/outages/{first['id']}").json(), first, 60.0)
        assert one == first
        assert ca.get("/v1/outages").json()["outages"] == []  # all resolved
    for w in workers:
        w.stop()


def stream_leader(cluster: LocalCluster) -> str:
    async def ask() -> str:
        nc = await nats.connect(servers=cluster.urls)
        try:
            info = await nc.jetstream().stream_info(REPORTS)
            assert info.cluster is not None and info.cluster.leader
            return str(info.cluster.leader)
        finally:
            await nc.close()

    return str(run(ask()))


def test_leader_and_worker_killed_mid_stream_lose_nothing_count_nothing_twice(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    parts = split(3)
    procs = [spawn_worker(cluster, tmp_path / f"w{i}", p) for i, p in enumerate(parts)]
    node = create_intake_node(node_settings(cluster), clock)
    acked = 0
    try:
        with TestClient(node) as client:
            for i in range(600):
                if i == 200:  # the stream leader dies mid-stream (SIGKILL: no goodbye)
                    cluster.kill(stream_leader(cluster))
                if i == 350:  # so does a worker; a replacement takes its partitions over
                    procs[0].kill()
                    procs[0].wait()
                    procs[0] = spawn_worker(cluster, tmp_path / "w0", parts[0])
                body = {"service": f"svc{i % 30}", "region": ["IT", "US", None][i % 3],
                        "reporter": f"r{i}"}  # fmt: skip
                resp = client.post("/v1/reports", json=body)
                acked += resp.status_code == 202
                clock.advance(1.0)
            clock.advance(200)
            client.portal.call(node.state.node.publish_ticks)
        try:
            drained(cluster.urls, PARTITIONS, 60)
        finally:  # a worker that died says why in its log
            dead = [
                str(tmp_path / f"w{i}.log") for i, p in enumerate(procs) if p.poll() is not None
            ]
            assert not dead, f"worker died: see {dead}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    assert acked >= 590  # a publish may wait out the leader election, not fail
    rows = distinct = counted = 0
    for f in tmp_path.glob("w*/p*.duckdb"):
        con = duckdb.connect(str(f), read_only=True)
        r = con.execute(
            "SELECT count(*), count(DISTINCT (reporter, service, ts)) FROM reports"
        ).fetchone()
        c = con.execute("SELECT sum(count) FROM series_buckets WHERE region IS NULL").fetchone()
        con.close()
        assert r is not None and c is not None
        rows, distinct, counted = rows + r[0], distinct + r[1], counted + int(c[0] or 0)
    assert rows == acked  # every acknowledged report stored ...
    assert distinct == rows  # ... once
    assert counted == acked  # and counted once (distinct reporters: all count)
