from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.store import Store
from tests.conftest import running


def test_first_report_per_reporter_per_service_per_window() -> None:
    d = Dedup(3600)
    assert d.check("r", "aws", 0.0)
    assert not d.check("r", "aws", 1800.0)
    assert d.check("r", "netflix", 1800.0)
    assert not d.check("r", "aws", 3599.0)
    assert d.check("r", "aws", 3600.0)  # the window slides from the last counted report


def test_memory_is_swept_after_a_window() -> None:
    d = Dedup(60)
    for i in range(100):
        d.check(f"r{i}", "aws", 0.0)
    assert len(d) == 100
    d.check("late", "aws", 120.0)
    assert len(d) == 1


def test_batch_form_counts_anonymous_rows() -> None:
    d = Dedup(60)
    mask = d.check_many(["a", "a", None, None], ["s", "s", "s", "s"], [0.0, 1.0, 2.0, 3.0])
    assert mask.tolist() == [True, False, True, True]


def test_dedup_through_the_app(client: TestClient, clock: ManualClock) -> None:
    post = client.post
    assert post("/v1/reports", json={"service": "aws", "reporter": "tok"}).json()["counted"]
    clock.advance(30)
    assert not post("/v1/reports", json={"service": "aws", "reporter": "tok"}).json()["counted"]
    assert post("/v1/reports", json={"service": "gmail", "reporter": "tok"}).json()["counted"]
    clock.advance(3600)
    assert post("/v1/reports", json={"service": "aws", "reporter": "tok"}).json()["counted"]


def test_anonymous_reporter_is_address_and_user_agent(client: TestClient) -> None:
    ua = {"user-agent": "phone-1"}
    assert client.post("/v1/reports", json={"service": "aws"}, headers=ua).json()["counted"]
    assert not client.post("/v1/reports", json={"service": "aws"}, headers=ua).json()["counted"]
    other = {"user-agent": "phone-2"}
    assert client.post("/v1/reports", json={"service": "aws"}, headers=other).json()["counted"]


def test_raw_addresses_and_tokens_are_never_stored(app_client) -> None:  # type: ignore[no-untyped-def]
    app, client = app_client
    client.post("/v1/reports", json={"service": "aws", "reporter": "secret-token"})
    client.post("/v1/reports", json={"service": "aws"}, headers={"user-agent": "ua"})
    app.runtime.tick()
    rows = app.runtime.store._con.execute("SELECT reporter FROM reports").fetchall()
    stored = {r[0] for r in rows}
    assert len(stored) == 2
    assert all("secret" not in s and "testclient" not in s for s in stored)


def test_dedup_memory_outlives_a_crash_before_any_snapshot(
    clock: ManualClock, tmp_path: Path
) -> None:
    # The memory is rebuilt from the stored reports, not carried in the snapshot, so a
    # report stored after the last snapshot still dedups after a restart.
    data = tmp_path / "data"
    body = {"service": "aws", "region": "IT", "reporter": "same-person"}
    with running(clock, data) as (app, client):
        assert client.post("/v1/reports", json=body).json()["counted"]
        app.runtime.tick()
    store = Store(data / "outagewatch.duckdb")
    store.write("DELETE FROM snapshots")  # as if killed before the first snapshot
    store.close()
    clock.advance(600)
    with running(clock, data) as (app, client):
        assert not client.post("/v1/reports", json=body).json()["counted"]
        clock.advance(3600)
        assert client.post("/v1/reports", json=body).json()["counted"]
