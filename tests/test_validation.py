"""Every bad input gets a 4xx with the contract's error body; never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outagewatch.ingest.report import ReportError, parse_report

BAD_BODIES = [
    (b"{", "application/json", 400, "invalid_json", None),
    (b"[1, 2]", "application/json", 422, "invalid_body", None),
    (b'"amazon"', "application/json", 422, "invalid_body", None),
    (b"{}", "application/json", 422, "missing_field", "service"),
    (b'{"service": ""}', "application/json", 422, "missing_field", "service"),
    # "Amazon" is a known service typed loosely (tests/test_service_names.py); this is not.
    (b'{"service": "Free Money"}', "application/json", 422, "invalid_service", "service"),
    (b'{"service": "<script>alert(1)</script>"}', "application/json", 422, "invalid_service",
     "service"),
    (b'{"service": "caf\\u00e9"}', "application/json", 422, "invalid_service", "service"),
    (b'{"service": "a\\u0000b"}', "application/json", 422, "invalid_service", "service"),
    (b'{"service": 5}', "application/json", 422, "missing_field", "service"),
    (b'{"service": "amazon", "region": "XX"}', "application/json", 422, "invalid_region",
     "region"),
    (b'{"service": "amazon", "region": ["IT"]}', "application/json", 422, "invalid_region",
     "region"),
    (b'{"service": "amazon", "problem": "Log In"}', "application/json", 422,
     "invalid_problem", "problem"),
    (b'{"service": "amazon", "reporter": "a b"}', "application/json", 422, "invalid_reporter",
     "reporter"),
    (b'{"service": "amazon", "ts": 0}', "application/json", 422, "unknown_field", "ts"),
    (b'{"service": "amazon", "count": 1000}', "application/json", 422, "unknown_field",
     "count"),
    (b'{"service": "amazon"}', "application/xml", 415, "unsupported_media_type", None),
    (b"\xff\xfe", "application/json", 400, "invalid_json", None),
]  # fmt: skip


@pytest.mark.parametrize(("body", "ctype", "status", "code", "field"), BAD_BODIES)
def test_bad_report_gets_clear_4xx(
    client: TestClient, body: bytes, ctype: str, status: int, code: str, field: str | None
) -> None:
    resp = client.post("/v1/reports", content=body, headers={"content-type": ctype})
    assert resp.status_code == status
    err = resp.json()["error"]
    assert err["code"] == code
    assert err["field"] == field
    assert len(err["message"]) > 10


def test_huge_body_is_refused_with_413(client: TestClient) -> None:
    big = b'{"service": "amazon", "problem": "' + b"x" * 100_000 + b'"}'
    resp = client.post("/v1/reports", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "body_too_large"


def test_good_report_is_accepted_and_region_normalised(client: TestClient) -> None:
    resp = client.post("/v1/reports", json={"service": "amazon", "region": "it"})
    assert resp.status_code == 202
    assert resp.json() == {"accepted": True, "counted": True, "normalised": {"region": "IT"}}
    assert resp.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_for_report_button(client: TestClient) -> None:
    resp = client.options(
        "/v1/reports",
        headers={"origin": "https://example.org", "access-control-request-method": "POST"},
    )
    assert resp.status_code == 204
    assert "POST" in resp.headers["access-control-allow-methods"]


def test_errors_elsewhere_use_the_same_body(client: TestClient) -> None:
    for path, status in [
        ("/nope", 404),
        ("/v1/outages/nope", 404),
        ("/v1/outages?level=huge", 422),
        ("/v1/outages?limit=0", 422),
        ("/v1/outages?since=yesterday", 422),
        ("/v1/outages?cursor=%%%", 422),
        ("/v1/services/Not%20A%20Slug", 422),
        ("/v1/services/never-seen", 404),
    ]:
        resp = client.get(path)
        assert resp.status_code == status, path
        assert set(resp.json()["error"]) == {"code", "message", "field"}, path
    resp = client.delete("/v1/outages")
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "method_not_allowed"


def test_bulk_import_needs_a_key_and_names_the_bad_row(client: TestClient) -> None:
    body = b'{"ts": 1793577600, "service": "aws"}\n{"ts": "2026-11-02T00:00:00", "service": "aws"}'
    assert client.post("/v1/import", content=body).status_code == 401
    resp = client.post("/v1/import", content=body, headers={"x-api-key": "wrong"})
    assert resp.status_code == 401
    resp = client.post("/v1/import", content=body, headers={"x-api-key": "test-key"})
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "invalid_ts" and err["message"].startswith("row 2:")
    resp = client.post("/v1/import", content=b"[1]", headers={"x-api-key": "test-key"})
    assert resp.status_code == 422
    resp = client.post("/v1/import", content=b"nope", headers={"x-api-key": "test-key"})
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("ts", "ok"),
    [(0, False), (4_102_444_800, False), (1_793_577_600 - 8 * 86400, False),
     (1_793_577_600 - 6 * 86400, True), (1_793_577_600 + 200, True)],
)  # fmt: skip
def test_bulk_import_times_stay_near_now(client: TestClient, ts: float, ok: bool) -> None:
    # 1970 once had the stream step through 29 million empty buckets (found by schemathesis).
    body = b'{"ts": %d, "service": "aws"}\n{"ts": %d, "service": "aws"}' % (1_793_577_500, ts)
    resp = client.post("/v1/import", content=body, headers={"x-api-key": "test-key"})
    if ok:
        assert resp.status_code == 200 and resp.json()["reports"] == 2
    else:
        assert resp.status_code == 422
        err = resp.json()["error"]
        assert err["code"] == "invalid_ts" and err["message"].startswith("row 2:")
        assert "7 days back" in err["message"]


def test_parse_report_unit() -> None:
    r = parse_report({"service": "aws", "region": "us", "problem": "login", "reporter": "tok-1"})
    assert (r.service, r.region, r.problem, r.reporter) == ("aws", "US", "login", "tok-1")
    with pytest.raises(ReportError) as info:
        parse_report({"service": "aws", "regoin": "US"})
    assert info.value.field == "regoin"


def test_feed_has_etag_and_answers_304(client: TestClient) -> None:
    first = client.get("/v1/outages")
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = client.get("/v1/outages", headers={"if-none-match": tag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/v1/outages", headers={"if-none-match": '"stale"'})
    assert other.status_code == 200


def _cursor(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


NUMERIC_QUERIES = [
    *((f"/v1/outages?since={v}", "since") for v in
      ("1e400", "inf", "-inf", "nan", "-1e300", "1e12", "-1", "0001-01-01T00:00:00Z",
       "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")),
    *((f"/v1/outages?limit={v}", "limit") for v in ("1e400", "nan", "0", "501", "-1", "9" * 30)),
    *((f"/v1/outages?cursor={_cursor(raw)}", "cursor") for raw in
      (b'[1e300,"x"]', b'[-1e300,"x"]', b'[1e12,"x"]', b'["a","x"]')),
    *((f"/v1/services?limit={v}", "limit") for v in ("1e400", "inf", "0", "1001", "9" * 30)),
    *((f"/v1/outages/stream?since_id={v}", "since_id") for v in ("1e400", "-1", "9" * 30)),
]  # fmt: skip


@pytest.mark.parametrize(("path", "field"), NUMERIC_QUERIES)
def test_numeric_parameters_are_bounded_with_a_422_naming_them(
    client: TestClient, path: str, field: str
) -> None:
    resp = client.get(path)
    assert resp.status_code == 422, (path, resp.text)
    error = resp.json()["error"]
    assert error["field"] == field and field in error["message"], error


@pytest.mark.parametrize("value", ["1e400", "-1", "9" * 30, "nan"])
def test_last_event_id_is_bounded(client: TestClient, value: str) -> None:
    resp = client.get("/v1/outages/stream", headers={"last-event-id": value})
    assert resp.status_code == 422
    assert resp.json()["error"]["field"] == "last-event-id"


@pytest.mark.parametrize("since", ["0", "1793577600", "2026-11-02T00:00:00Z", "253402300799"])
def test_times_in_range_are_read(client: TestClient, since: str) -> None:
    assert client.get(f"/v1/outages?since={since}&state=all").status_code == 200


def test_every_answer_says_nosniff(client: TestClient) -> None:
    """The intake fast path (which bypasses FastAPI and its middleware) included."""
    report = {"content-type": "application/json"}
    answers = [
        client.post("/v1/reports", json={"service": "aws"}),  # 202, fast path
        client.post("/v1/reports", content=b"{", headers=report),  # 400, fast path
        client.post("/v1/reports", content=b'{"service": "A"}', headers=report),  # 422
        client.post("/v1/reports", content=b"x" * 10_000, headers=report),  # 413
        client.post("/v1/reports", content=b"{}", headers={"content-type": "text/xml"}),  # 415
        client.options("/v1/reports"),  # 204 preflight, fast path
        client.get("/v1/reports"),  # 405, FastAPI behind the fast path
        client.get("/healthz"),
        client.get("/metrics"),
        client.get("/v1/outages?since=inf"),
        client.get("/nope"),
        client.get("/openapi.json"),
        client.get("/static/report.js"),
        client.get("/"),
    ]
    for resp in answers:
        assert resp.headers.get("x-content-type-options") == "nosniff", (
            resp.request.method,
            resp.request.url,
            resp.status_code,
        )
        assert resp.headers.get_list("x-content-type-options") == ["nosniff"]  # once


def test_healthz_does_not_show_where_the_database_is(tmp_path: Path) -> None:
    from outagewatch.ingest.clock import ManualClock
    from tests.conftest import T0, running

    with running(ManualClock(T0), tmp_path / "data") as (_, client):
        resp = client.get("/healthz")
        assert resp.status_code == 200
        assert str(tmp_path) not in resp.text and "outagewatch.duckdb" not in resp.text
        assert resp.json()["database"] == "file"


def test_the_intake_nodes_reads_are_bounded_too() -> None:
    """The broker's intake node (no broker needed to read its empty feed)."""
    import httpx

    from outagewatch.app.broker.intake_node import create_intake_node
    from outagewatch.app.settings import Settings
    from outagewatch.ingest.clock import ManualClock
    from tests.conftest import T0, run_async

    node = create_intake_node(
        Settings(data=None, broker="nats://127.0.0.1:1", tick_interval_s=0), ManualClock(T0)
    )

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=node)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get(path)

    for value in ("0", "1e400", "501", "nan"):
        resp = run_async(get(f"/v1/outages?limit={value}"))
        assert resp.status_code == 422 and resp.json()["error"]["field"] == "limit"
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert run_async(get("/v1/outages?limit=5")).json() == {"outages": [], "next_cursor": None}
    # The same refusals as the embedded server (one parser, app/outage_query.py).
    bad = run_async(get("/v1/outages?since=yesterday"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_since"
