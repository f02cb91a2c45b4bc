"""The catalog in NATS mode: a change made through one intake node is kept in the KV
bucket `catalog`, so every node accepts (or refuses) the service and lists it as the
embedded server does after the same changes, and workers are told who runs on whom,
so a dependant's incident names its provider as the embedded code names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import create_intake_node
from outagewatch.app.broker.subjects import partition_of
from outagewatch.app.broker.worker import Worker
from outagewatch.app.catalog import providers_of, seed_services
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, running, settings
from tests.nats.conftest import Sent, WorkerThread, drained
from tests.nats.test_maintenance_nats import KEY, ask, until
from tests.nats.test_takeover import END, PARTITIONS, uninterrupted
from tests.scenario import background

pytestmark = pytest.mark.nats
PROVIDER, DEPENDANT = "busy", "webshop"  # the same partition: see the first test
SIX = ["aws", "azure", "google-cloud", "cloudflare", "akamai", "fastly"]
# Refused alike by an intake node and the embedded server: (method, path, body, headers).
REFUSED: list[tuple[str, str, Any, dict[str, str]]] = [
    ("put", "/v1/catalog/acme-cloud", {"name": "Acme"}, {}),
    ("put", "/v1/catalog/acme-cloud", {"name": "Acme"}, {"x-api-key": "wrong"}),
    ("put", "/v1/catalog/Not%20A%20Slug!", {"name": "Acme"}, KEY),
    ("put", "/v1/catalog/acme-cloud", ["Acme"], KEY),
    ("put", "/v1/catalog/acme-cloud", {"name": ""}, KEY),
    ("put", "/v1/catalog/acme-cloud", {"name": "<b>Acme</b>" * 20}, KEY),
    ("put", "/v1/catalog/netflix", {"providers": ["no-such-cloud"]}, KEY),
    ("put", "/v1/catalog/netflix", {"providers": ["<script>"]}, KEY),
    ("put", "/v1/catalog/netflix", {"providers": ["netflix"]}, KEY),
    ("put", "/v1/catalog/aws", {"providers": ["netflix"]}, KEY),
    ("put", "/v1/catalog/azure", {"providers": ["teams"]}, KEY),
    ("put", "/v1/catalog/slack", {"providers": SIX}, KEY),
    ("put", "/v1/catalog/slack", {"providers": "aws"}, KEY),
    ("put", "/v1/catalog/slack", {"providers": [1]}, KEY),
    ("delete", "/v1/catalog/aws", None, KEY),
    ("delete", "/v1/catalog/no-such-service", None, KEY),
    ("delete", "/v1/catalog/Not%20A%20Slug!", None, KEY),
]


def node_settings(cluster: LocalCluster) -> Any:
    return settings(None, broker=",".join(cluster.urls), partitions=PARTITIONS,
                    accept_unknown_services=False)  # fmt: skip


def report(client: TestClient, service: str, who: str) -> Response:
    return client.post("/v1/reports", json={"service": service, "region": "IT", "reporter": who})


def listing(client: TestClient) -> Any:
    return client.get("/v1/catalog").json()


def test_a_service_put_through_one_node_is_accepted_and_listed_by_the_other(
    cluster: LocalCluster,
) -> None:
    clock = ManualClock(T0)
    config = node_settings(cluster)
    a, b = create_intake_node(config, clock), create_intake_node(config, clock)
    with (
        TestClient(a) as ca,
        TestClient(b) as cb,
        running(clock, accept_unknown_services=False) as (_, live),
    ):
        for method, path, body, headers in REFUSED:  # the embedded server's status and body
            want = ask(live, method, path, body, headers)
            got = ask(ca, method, path, body, headers)
            assert want.status_code >= 400 and "error" in want.json(), (path, body)
            assert (got.status_code, got.json()) == (want.status_code, want.json()), (path, body)
        assert listing(ca) == listing(cb) == listing(live)  # nothing changed anywhere

        refused = report(cb, "acme-cloud", "r0")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_service"
        # The same changes through the embedded server and through either node.
        acme = {"name": "Acme Cloud", "providers": ["aws"]}
        for client in (ca, live):
            made = client.put("/v1/catalog/acme-cloud", json=acme, headers=KEY)
            assert made.status_code == 201, made.text
            assert made.json() == {"service": "acme-cloud", **acme}
        assert until(lambda: report(cb, "acme-cloud", "r1").status_code == 202)
        for client in (cb, live):
            assert client.delete("/v1/catalog/netflix", headers=KEY).status_code == 204
            renamed = client.put("/v1/catalog/acme-cloud", json={"name": "Acme"}, headers=KEY)
            assert renamed.status_code == 200 and renamed.json()["providers"] == ["aws"]
        assert until(lambda: listing(ca) == listing(live))
        assert listing(cb) == listing(live)
        acme_listed = [s for s in listing(cb)["services"] if s["service"] == "acme-cloud"]
        assert acme_listed == [{"service": "acme-cloud", "name": "Acme", "source": "admin",
                                "regions": [], "providers": ["aws"]}]  # fmt: skip
        gone = report(ca, "netflix", "r2")
        assert gone.status_code == 422 and gone.json()["error"]["code"] == "unknown_service"
        # In use now: refused on a node as on the server, whichever node made it so.
        for client in (ca, live):
            in_use = client.delete("/v1/catalog/aws", headers=KEY)
            assert in_use.status_code == 409 and "acme-cloud" in in_use.json()["error"]["message"]

        # A node started later reads the changes before it takes a report.
        with TestClient(create_intake_node(config, clock)) as cc:
            assert listing(cc) == listing(live)
            assert report(cc, "acme-cloud", "r3").status_code == 202
            assert report(cc, "netflix", "r4").status_code == 422

        for client in (ca, live):
            assert client.delete("/v1/catalog/acme-cloud", headers=KEY).status_code == 204
        assert until(lambda: report(cb, "acme-cloud", "r5").status_code == 422)
        assert listing(cb) == listing(live)
        again = cb.delete("/v1/catalog/acme-cloud", headers=KEY)
        assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"

        # The bucket cannot be written (no quorum): 503 to retry, and nothing changed.
        before = listing(ca)
        cluster.kill("n1")
        cluster.kill("n2")
        failed = ca.put("/v1/catalog/late", json={"name": "Late"}, headers=KEY)
        assert failed.status_code == 503 and failed.headers["retry-after"] == "1"
        assert failed.json()["error"]["code"] == "unavailable"
        assert listing(ca) == before


def minute(sent: Sent, m: int) -> None:
    """Minute m after the history: the provider down hard from minute 0 (100 reports a
    minute), its dependant from minute 2 (6: too few to open from a partial bucket,
    where no cause is named), both until minute 10, then quiet."""
    start = END + 60 * m
    down = m < 10
    rows = [
        {
            "ts": start + 0.5 * i + 1,
            "service": PROVIDER,
            "region": ["US", None][i % 2],
            "problem": "app",
            "reporter": f"p{m}-{i}",
        }
        for i in range(100 if down else 2)
    ]
    rows += [{"ts": start + 8.5 * i + 1.2, "service": DEPENDANT, "region": ["IT", None][i % 2],
              "problem": "login", "reporter": f"d{m}-{i}"}
             for i in range(6 if m >= 2 and down else 0)]  # fmt: skip
    sent.reports(sorted(rows, key=lambda r: r["ts"]))
    sent.ticks(start + 59.5)


def test_a_provider_declared_through_a_node_reaches_the_worker(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    assert partition_of(PROVIDER, PARTITIONS) == partition_of(DEPENDANT, PARTITIONS)
    clock = ManualClock(END)
    config = node_settings(cluster)
    worker_settings = settings(tmp_path / "w", broker=",".join(cluster.urls), partitions=PARTITIONS)
    worker = Worker(worker_settings, cluster.urls, list(range(PARTITIONS)))
    thread = WorkerThread(worker)
    sent = Sent(cluster, PARTITIONS)
    a, b = create_intake_node(config, clock), create_intake_node(config, clock)
    bundled = providers_of(seed_services())

    def told() -> list[dict[str, tuple[str, ...]]]:
        return [s.pipeline.tracker.providers for s in worker.states.values()]

    try:
        with TestClient(a) as ca, TestClient(b) as cb:
            history = background(T0, 26 * 60)  # tinyapp's quiet traffic as the dependant's
            sent.reports([{**r, "service": r["service"].replace("tinyapp", DEPENDANT)}
                          for r in history])  # fmt: skip
            sent.ticks(END)
            drained(cluster.urls, PARTITIONS, 120)
            sent.cut()
            assert told() and all(t == bundled for t in told())
            assert ca.put(f"/v1/catalog/{PROVIDER}", headers=KEY).status_code == 201
            on = ca.put(f"/v1/catalog/{DEPENDANT}", json={"providers": [PROVIDER]}, headers=KEY)
            assert on.status_code == 201, on.text
            declared = bundled | {DEPENDANT: (PROVIDER,)}
            assert until(lambda: all(t == declared for t in told()))

            for m in range(14):
                minute(sent, m)
                drained(cluster.urls, PARTITIONS, 60)
                sent.cut()
            reference, _ = uninterrupted(sent, providers=declared)
            expected = sorted(reference.values(), key=lambda i: i["id"])

            def served() -> list[dict[str, Any]]:
                answer = cb.get("/v1/outages", params={"state": "all", "limit": 500})
                return sorted(answer.json()["outages"], key=lambda i: i["id"])

            assert until(lambda: served() == expected)
            wide = {i["service"]: i for i in expected if i["region"] is None}
            cause = [{"service": PROVIDER, "incident": wide[PROVIDER]["id"]}]
            assert wide[DEPENDANT]["because_of"] == cause
            # Without the declaration the same messages name no cause.
            control, _ = uninterrupted(sent)
            assert [i["because_of"] for i in control.values()
                    if i["service"] == DEPENDANT and i["region"] is None] == [[]]  # fmt: skip

            # Withdrawn and removed through the other node: the worker is told.
            off = cb.put(f"/v1/catalog/{DEPENDANT}", json={"providers": []}, headers=KEY)
            assert off.status_code == 200 and off.json()["providers"] == []
            assert cb.delete(f"/v1/catalog/{PROVIDER}", headers=KEY).status_code == 204
            assert until(lambda: all(t == bundled for t in told()))
            assert PROVIDER not in worker.catalog.policy
    finally:
        thread.stop()
