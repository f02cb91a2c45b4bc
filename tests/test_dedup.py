from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.store import Store
from tests.conftest import running

Row = tuple[str | None, str, float]


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


batches = st.lists(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])),
            st.sampled_from(["aws", "gmail"]),
            # times around a window of 60 s, out of order, some generations apart
            st.integers(0, 400).map(lambda i: i * 0.75),
        ),
        max_size=40,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(batches)
def test_a_batch_is_judged_as_its_reports_one_by_one(batch_list: list[list[Row]]) -> None:
    """The vectorised batch (runs of the same generations, keys looked up at once,
    repeated keys in order) gives every verdict of `check` called row by row, and
    leaves the same memory behind, batch after batch."""
    together, alone = Dedup(60), Dedup(60)
    for rows in batch_list:
        reporters = [r for r, _, _ in rows]
        services = [s for _, s, _ in rows]
        ts = [t for _, _, t in rows]
        expected = [r is None or alone.check(r, s, t) for r, s, t in rows]
        assert together.check_many(reporters, services, ts).tolist() == expected
        state = together._last
        assert (state._cur, state._prev, state._start) == (
            alone._last._cur,
            alone._last._prev,
            alone._last._start,
        )
