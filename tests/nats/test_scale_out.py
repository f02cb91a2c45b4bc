"""Scale-out on a real 3-node JetStream cluster: same incidents as the embedded mode,
and no acknowledged report lost or counted twice when the stream leader and a
worker die mid-stream."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.broker.cluster import LocalCluster
from app.broker.intake_node import create_intake_node
from app.broker.worker import Worker, step_through
from app.pipeline import Pipeline
from app.settings import Settings
from ingest.clock import ManualClock
from tests.conftest import T0
from tests.nats.conftest import WorkerThread, drained
from tests.scenario import background
from tests.test_end_to_end import strip

pytestmark = pytest.mark.nats
PARTITIONS = 8
HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0


def node_settings(cluster: LocalCluster, data: Path | None = None) -> Settings:
    return Settings(
        data=data, broker=",".join(cluster.urls), partitions=PARTITIONS,
        tick_interval_s=0, reporter_salt="shared-salt",
    )  # fmt: skip


def split(n_workers: int) -> list[list[int]]:
    return [list(range(PARTITIONS))[i::n_workers] for i in range(n_workers)]


def wait_for(fetch: Any, expect: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        got: list[dict[str, Any]] = fetch()
        if len(got) >= expect or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_two_intake_nodes_three_workers_match_embedded(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    workers = [
        WorkerThread(Worker(node_settings(cluster, tmp_path / f"w{i}"), cluster.urls, parts))
        for i, parts in enumerate(split(3))
    ]
    a = create_intake_node(node_settings(cluster), clock)
    b = create_intake_node(node_settings(cluster), clock)
    sent: list[dict[str, Any]] = []
    with TestClient(a) as ca, TestClient(b) as cb:
        clients = [ca, cb]
        T = time.monotonic()

        def post(body: dict[str, Any], i: int) -> None:
            resp = clients[i % 2].post("/v1/reports", json=body)
            assert resp.status_code == 202, resp.text
            sent.append({**body, "ts": clock.now()})

        for i, row in enumerate(background(T0, HISTORY_MIN)):
            clock.set(row["ts"])
            post({k: v for k, v in row.items() if k != "ts"}, i)
        clock.set(SURGE_AT)
        for i in range(300):
            post({"service": "tinyapp", "region": "IT", "problem": "login", "reporter": f"s{i}"}, i)
            clock.advance(0.15)
        for minute in range(45):
            for j in range(3):
                body = {"service": "busy", "region": "US", "problem": "app",
                        "reporter": f"b{minute}-{j}"}  # fmt: skip
                post(body, j)
                clock.advance(20)
        print("posted", time.monotonic() - T, [w.worker.applied for w in workers])
        clock.set(max(r["ts"] for r in sent) + 60 + 10)
        clients[0].portal.call(a.state.node.publish_ticks)  # type: ignore[union-attr]
        drained(cluster.urls, PARTITIONS, 120)
        print("drained", time.monotonic() - T, [w.worker.applied for w in workers])

        # The embedded live server, ticking at least once a bucket, on the same reports.
        reference = Pipeline()
        step_through(reference, ([r["ts"], r["service"], r.get("region"), r.get("problem"),
                                  r["reporter"]] for r in sent))  # fmt: skip
        reference.advance(clock.now())
        embedded = reference.all_incidents()
        assert any(o["service"] == "tinyapp" for o in embedded)

        def feed() -> list[dict[str, Any]]:
            r = cb.get("/v1/outages", params={"state": "all", "limit": 500})
            return list(r.json()["outages"])

        got = wait_for(feed, len(embedded))
        assert strip(got) == strip(embedded)
        first = got[0]
        assert ca.get(f"/v1/outages/{first['id']}").json() == first
        assert ca.get("/v1/outages").json()["outages"] == []  # all resolved
    for w in workers:
        w.stop()
