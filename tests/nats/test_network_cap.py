"""The per-network cap holds over every intake node: one network's reports spread by a
load balancer over two nodes count no more than through one node, exactly as the
embedded server counts them. Each node caps only what it sees (its answer's
`counted`); the worker, which sees every report of a service, caps what counts, with
the network each report carries (hashed under the salt the nodes share)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import create_intake_node
from outagewatch.app.broker.worker import Worker, reports_of
from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, settings
from tests.nats.conftest import WorkerThread, drained

pytestmark = pytest.mark.nats
PROXY = ("127.0.0.1", 50000)  # a trusted proxy: X-Forwarded-For is the client
RULES: dict[str, Any] = {"prefix_cap": 2, "trusted_proxies": ("127.0.0.1",),
                         "reporter_salt": "shared-salt", "accept_unknown_services": False,
                         "partitions": 1}  # fmt: skip
# Ten people behind one network (203.0.113.0/24, ten reporter tokens), and three
# others each on a network of their own.
CROWD = [(f"203.0.113.{i}", f"tok-{i}") for i in range(10)] + [
    (f"198.51.{i}.7", f"other-{i}") for i in range(3)
]
ORDER = [CROWD[i] for i in (0, 10, 1, 2, 11, 3, 4, 5, 12, 6, 7, 8, 9)]


def post(client: TestClient, address: str, token: str) -> bool:
    resp = client.post(
        "/v1/reports",
        json={"service": "aws", "problem": "login", "reporter": token},
        headers={"x-forwarded-for": address},
    )
    assert resp.status_code == 202, resp.text
    return bool(resp.json()["counted"])


def test_one_network_over_two_nodes_counts_as_through_one(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    # The embedded server: what one node of the same rules counts.
    clock = ManualClock(T0)
    with TestClient(create_app(settings(None, **RULES), clock), client=PROXY) as client:
        embedded = []
        for address, token in ORDER:
            embedded.append(post(client, address, token))
            clock.advance(3.0)
    assert embedded == [True, True, True, False, True, False, False, False, True] + [False] * 4

    broker = ",".join(cluster.urls)
    worker = Worker(settings(tmp_path / "w", broker=broker, **RULES), cluster.urls, [0])
    thread = WorkerThread(worker)
    clock = ManualClock(T0)
    try:
        one = create_intake_node(settings(None, broker=broker, **RULES), clock)
        two = create_intake_node(settings(None, broker=broker, **RULES), clock)
        with (
            TestClient(one, client=PROXY) as a,
            TestClient(two, client=PROXY) as b,
        ):
            answers = []
            for i, (address, token) in enumerate(ORDER):  # the balancer alternates
                answers.append(post([a, b][i % 2], address, token))
                clock.advance(3.0)
            clock.advance(200)
            a.portal.call(one.state.node.publish_ticks)  # type: ignore[union-attr]
        drained(cluster.urls, 1, 60)
    finally:
        thread.stop()
    # Each node capped only its own share: together they let through twice the cap.
    spread = [
        c for c, (address, _) in zip(answers, ORDER, strict=True) if address.startswith("203.")
    ]
    assert sum(spread) == 4
    con = duckdb.connect(str(tmp_path / "w" / "p0.duckdb"), read_only=True)
    try:
        stored = [c for (c,) in con.execute("SELECT counted FROM reports ORDER BY seq").fetchall()]
        (total,) = con.execute(
            "SELECT sum(count) FROM series_buckets WHERE service = 'aws' AND region IS NULL"
        ).fetchone() or (None,)
    finally:
        con.close()
    # The worker counted exactly what the embedded server counted: two of the ten on
    # one network, and each of the others.
    assert stored == embedded
    assert total == sum(embedded) == 5


def test_messages_written_before_the_network_was_carried_are_read_uncapped() -> None:
    reports, now = reports_of([[T0, "aws", None, None, "r1"],
                               [T0 + 1, "aws", "IT", None, "r2", "n1"]])  # fmt: skip
    assert reports["network"].to_list() == [None, "n1"] and now == T0 + 1
