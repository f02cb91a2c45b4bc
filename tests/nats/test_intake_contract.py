"""One intake contract: the embedded server and a broker intake node take the same
reports and refuse the same ones, with the same status and error body (one set of
rules, app/intake.py), checked with the same table against both, and with random
bodies sent to both at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import create_intake_node
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, running, settings

pytestmark = pytest.mark.nats

# The server's own defences on (tests elsewhere turn them off): the catalog, the
# per-network cap, a small per-reporter burst.
RULES: dict[str, Any] = {
    "accept_unknown_services": False,
    "prefix_cap": 2,
    "rate_reporter_burst": 3.0,
    "reporter_salt": "shared-salt",
}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = LocalCluster(tmp_path_factory.mktemp("nats"))
    c.start(timeout=15)
    try:
        yield c
    finally:
        c.stop()


@contextmanager
def server(kind: str, broker: LocalCluster, clock: ManualClock) -> Iterator[TestClient]:
    if kind == "embedded":
        with running(clock, None, **RULES) as (_, client):
            yield client
        return
    node = create_intake_node(settings(None, broker=",".join(broker.urls), **RULES), clock)
    with TestClient(node) as client:
        yield client


def post(client: TestClient, body: bytes, headers: dict[str, str] = JSON) -> tuple[Any, ...]:
    resp = client.post("/v1/reports", content=body, headers=headers)
    return resp.status_code, resp.json(), resp.headers.get("retry-after")


def report(**fields: Any) -> bytes:
    return orjson.dumps(fields)


def error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


COUNTED = {"accepted": True, "counted": True}
NOT_COUNTED = {"accepted": True, "counted": False}
# (what is sent, in this order to a fresh server) -> (status, body, retry-after)
TABLE: list[tuple[bytes, dict[str, str], tuple[Any, ...]]] = [
    (b"{" + b" " * 5000 + b"}", JSON,
     (413, error("body_too_large", "the body of this request is at most 4096 bytes"), None)),
    (report(service="amazon"), {"content-type": "text/html"},
     (415, error("unsupported_media_type", "send the report as JSON (application/json)"), None)),
    (b"{nope", JSON, (400, error("invalid_json", 'the body is not valid JSON; send an object '
                                 'such as {"service": "amazon"}'), None)),
    (report(service="amazon", region="XX"), JSON, None),  # 422 from the one parser
    (report(service="not-a-known-one"), JSON,
     (422, error("unknown_service", "service 'not-a-known-one' is not in the catalog; "
                 "GET /v1/catalog lists the known ones", "service"), None)),
    (report(service="amazon", reporter="ann"), JSON, (202, COUNTED, None)),
    (report(service="amazon", reporter="ann"), JSON, (202, NOT_COUNTED, None)),  # dedup
    (report(service="netflix", reporter="bob"), JSON, (202, COUNTED, None)),
    (report(service="netflix", reporter="cat"), JSON, (202, COUNTED, None)),
    (report(service="netflix", reporter="dan"), JSON, (202, NOT_COUNTED, None)),  # network cap
    (report(service="slack", reporter="ann"), JSON, (202, COUNTED, None)),
    (report(service="github", reporter="ann"), JSON,  # ann's fourth in no time: her burst
     (429, error("rate_limited", "too many reports from this client; retry in 5 s"), "5")),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["embedded", "node"])
def test_the_same_table_of_reports_gets_the_same_answers(broker: LocalCluster, kind: str) -> None:
    with server(kind, broker, ManualClock(T0)) as client:
        for body, headers, expected in TABLE:
            got = post(client, body, headers)
            if expected is None:  # the parser's own words, whatever they are: a 422
                assert got[0] == 422 and got[1]["error"]["field"] == "region", got
            else:
                assert got == expected, body


# Small alphabets, so that random bodies meet the catalog, dedup, the cap and limits.
FIELDS = st.fixed_dictionaries(
    {"service": st.sampled_from(["amazon", "aws", "netflix", "slack", "made-up", "Bad Name", 7])},
    optional={
        "region": st.sampled_from(["IT", "US", "DE", "us", "XX", None]),
        "problem": st.sampled_from(["login", "app", "not a slug", None]),
        "reporter": st.sampled_from(["a", "b", "c", "d", "", "x" * 300, None]),
    },
)
EXTRA = st.sampled_from([{}, {}, {}, {"extra": 1}, {"count": 3}])


def test_random_reports_get_the_same_answer_from_both(broker: LocalCluster) -> None:
    clock = ManualClock(T0)
    with server("embedded", broker, clock) as embedded, server("node", broker, clock) as node:

        @hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(fields=FIELDS, extra=EXTRA, seconds=st.sampled_from([0.0, 0.0, 1.0, 20.0]))
        def same(fields: dict[str, Any], extra: dict[str, Any], seconds: float) -> None:
            clock.advance(seconds)
            body = orjson.dumps({**fields, **extra})
            assert post(embedded, body) == post(node, body), body

        same()
        # Both took reports and refused others: the comparison was not of two outages.
        assert embedded.get("/healthz").json()["reports_accepted"] > 10
        assert node.get("/healthz").json()["published"] > 10


def test_a_node_rotates_its_reporter_salt_as_the_server_does(
    broker: LocalCluster, tmp_path: Path
) -> None:
    """A day later the same client is another hash on the node too; within the dedup
    window after the rotation it is still the same reporter (not counted twice)."""
    clock = ManualClock(T0 + 86400 - 60)
    node_settings = settings(
        tmp_path, broker=",".join(broker.urls), **{**RULES, "reporter_salt": ""}
    )
    node = create_intake_node(node_settings, clock)
    with TestClient(node) as client:
        intake = node.state.node.intake
        before = intake.salts.ids(clock.now(), None, "203.0.113.9", "ua")[0]
        assert post(client, report(service="amazon"))[1] == COUNTED
        clock.advance(120)  # past the day's rotation, inside the dedup window
        after, alias = intake.salts.ids(clock.now(), None, "203.0.113.9", "ua")
        assert after != before and alias == before
        assert post(client, report(service="amazon"))[1] == NOT_COUNTED
    assert (tmp_path / "reporter-salts.json").exists()  # rotated salts kept, as the server's
