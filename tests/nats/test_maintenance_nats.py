"""Planned maintenance in NATS mode: a window declared through one intake node is kept
in KV, marks a worker's incident exactly as the embedded server's code marks it, and
the other intake node lists the window and serves the incident with its mark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import create_intake_node
from outagewatch.app.broker.worker import Worker
from outagewatch.app.maintenance_windows import Window
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.windows import iso
from tests.conftest import API_KEY, T0, running, settings
from tests.nats.conftest import Sent, WorkerThread, drained, until
from tests.nats.test_takeover import END, PARTITIONS, minute, uninterrupted
from tests.scenario import background

pytestmark = pytest.mark.nats
KEY = {"authorization": f"Bearer {API_KEY}"}
WINDOW = {"service": "tinyapp", "starts_at": iso(END), "ends_at": iso(END + 7200),
          "note": "database upgrade"}  # fmt: skip
# Refused alike by an intake node and the embedded server: (method, path, body, headers).
REFUSED: list[tuple[str, str, Any, dict[str, str]]] = [
    ("post", "/v1/maintenance", WINDOW, {}),
    ("post", "/v1/maintenance", WINDOW, {"x-api-key": "wrong"}),
    ("post", "/v1/maintenance", [WINDOW], KEY),
    ("post", "/v1/maintenance", {**WINDOW, "ends_at": iso(END - 60)}, KEY),
    (
        "post",
        "/v1/maintenance",
        {**WINDOW, "starts_at": iso(END - 86400), "ends_at": iso(END - 3600)},
        KEY,
    ),
    ("post", "/v1/maintenance", {**WINDOW, "colour": "red"}, KEY),
    ("post", "/v1/maintenance", {**WINDOW, "service": "Not A Slug!"}, KEY),
    ("post", "/v1/maintenance", {**WINDOW, "note": "x" * 501}, KEY),
    ("get", "/v1/maintenance?service=Not%20A%20Slug!", None, {}),
    ("delete", "/v1/maintenance/mw_nothing", None, KEY),
]


def ask(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return client.request(method, path, **kwargs)


def test_a_window_declared_on_one_node_marks_the_incident_served_by_the_other(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    clock = ManualClock(END - 120)
    config = settings(None, broker=",".join(cluster.urls), partitions=PARTITIONS)
    worker_settings = settings(tmp_path / "w", broker=",".join(cluster.urls), partitions=PARTITIONS)
    worker = Worker(worker_settings, cluster.urls, list(range(PARTITIONS)))
    thread = WorkerThread(worker)
    sent = Sent(cluster, PARTITIONS)
    a, b = create_intake_node(config, clock), create_intake_node(config, clock)
    try:
        with TestClient(a) as ca, TestClient(b) as cb:
            with running(clock) as (_, live):  # the embedded server, on the same clock
                for method, path, body, headers in REFUSED:
                    want = ask(live, method, path, body, headers)
                    got = ask(ca, method, path, body, headers)
                    assert want.status_code >= 400 and "error" in want.json()
                    assert (got.status_code, got.json()) == (want.status_code, want.json())

            sent.reports(background(T0, 26 * 60))
            sent.ticks(END)
            drained(cluster.urls, PARTITIONS, 120)
            sent.cut()
            made = ca.post("/v1/maintenance", json=WINDOW, headers=KEY)
            assert made.status_code == 201, made.text
            declared = made.json()
            assert declared == {**WINDOW, "id": declared["id"], "region": None}
            # Kept in KV: the other node lists it, the worker marks with it.
            assert until(lambda: cb.get("/v1/maintenance").json()["maintenance"] == [declared])
            assert until(lambda: [w.id for w in worker.maintenance.windows] == [declared["id"]])

            for m in range(30):  # an outage during the window, then quiet
                minute(sent, m, surge=20 if m < 8 else 0)
                drained(cluster.urls, PARTITIONS, 60)
                sent.cut()
            window = Window(declared["id"], "tinyapp", None, END, END + 7200, WINDOW["note"])
            reference, _ = uninterrupted(sent, (window,))
            expected = sorted(reference.values(), key=lambda i: i["id"])

            def served() -> list[dict[str, Any]]:
                answer = cb.get("/v1/outages", params={"state": "all", "limit": 500})
                return sorted(answer.json()["outages"], key=lambda i: i["id"])

            assert until(lambda: served() == expected)
            mark = {"id": declared["id"], "note": "database upgrade", "ends_at": iso(END + 7200)}
            tiny = [i for i in expected if i["service"] == "tinyapp"]
            assert tiny and all(i["maintenance"] == mark for i in tiny)
            assert all(i["maintenance"] is None for i in expected if i["service"] != "tinyapp")

            # Withdrawn through the other node: gone everywhere; the marks given stay.
            assert cb.delete(f"/v1/maintenance/{declared['id']}", headers=KEY).status_code == 204
            assert until(lambda: ca.get("/v1/maintenance").json() == {"maintenance": []})
            assert until(lambda: worker.maintenance.windows == ())
            gone = ca.delete(f"/v1/maintenance/{declared['id']}", headers=KEY)
            assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
            assert served() == expected
    finally:
        thread.stop()
