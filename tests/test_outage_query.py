"""`GET /v1/outages` gives the same answer whoever answers it: the embedded server
(DuckDB, `Store.incidents`) and a NATS intake node (incidents followed in memory,
`select`) take one parsed query and return the same pages, cursors included."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.errors import ApiError
from outagewatch.app.outage_query import parse_outage_query, select
from outagewatch.detector.incidents import Incident
from outagewatch.ingest.store import Store

T0 = 1_793_577_600


@st.composite
def incident_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 25))
    out = []
    for k in range(n):
        opened = T0 + draw(st.integers(0, 20)) * 60  # ties in time are common
        state = draw(st.sampled_from(["open", "resolved"]))
        ended = opened + draw(st.integers(0, 90)) * 60 if state == "resolved" else None
        inc = Incident(
            id=f"i{k:02d}",
            service=draw(st.sampled_from(["aws", "netflix"])),
            region=draw(st.sampled_from([None, "DE", "PL"])),
            level=draw(st.sampled_from(["possible", "outage"])),
            started_at=float(opened - 60),
            opened_at=float(opened),
            state=state,
            ended_at=None if ended is None else float(ended),
        )
        out.append(inc.to_dict())
    return out


queries = st.fixed_dictionaries(
    {
        "service": st.sampled_from([None, "", "aws"]),
        "region": st.sampled_from([None, "all", "de", "PL"]),
        "level": st.sampled_from([None, "outage"]),
        "state": st.sampled_from(["open", "resolved", "all"]),
        "since": st.sampled_from([None, str(T0 + 600), "2026-11-02T00:30:00Z"]),
        "limit": st.integers(1, 6),
    }
)


@settings(max_examples=60, deadline=None)
@given(incident_sets(), queries)
def test_memory_and_duckdb_answer_alike_page_by_page(
    incidents: list[dict[str, Any]], params: dict[str, Any]
) -> None:
    store = Store()
    try:
        store.upsert_incidents(incidents)
        cursor: str | None = None
        pages = 0
        while True:
            q = parse_outage_query(**params, cursor=cursor)
            from_db = store.incidents(
                service=q.service, region=q.region, level=q.level, state=q.state,
                since=q.since, cursor=q.cursor, limit=q.limit,
            )  # fmt: skip
            assert select(q, incidents) == from_db
            cursor = from_db[1]
            pages += 1
            if cursor is None:
                break
        assert pages <= len(incidents) + 1
    finally:
        store.close()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"level": "bad"}, "invalid_level"),
        ({"state": "closed"}, "invalid_state"),
        ({"since": "yesterday"}, "invalid_since"),
        ({"since": "1e300"}, "invalid_since"),
        ({"cursor": "!!"}, "invalid_cursor"),
    ],
)
def test_bad_queries_are_refused_alike(params: dict[str, Any], code: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_outage_query(**params)
    assert err.value.status == 422 and err.value.code == code
