"""History export round-trips through polars in all three formats, answers the same
buckets as the service page's chart, and refuses bad ranges with a 422."""

from __future__ import annotations

import io

import polars as pl
import pytest
from fastapi.testclient import TestClient

from outagewatch.ingest.clock import ManualClock
from tests.conftest import SURGE_AT, running, surge, tick_to, warm_up


@pytest.fixture(scope="module")
def exported() -> dict[str, pl.DataFrame]:
    clock = ManualClock(0)
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        surge(client, clock)
        tick_to(app, clock, clock.now() + 180)
        out = {fmt: read(client, fmt) for fmt in ("csv", "json", "parquet")}
        out["page"] = pl.DataFrame(client.get("/v1/services/tinyapp").json()["series"])
        out["region"] = read(client, "csv", region="it")
        out["limited"] = read(client, "csv", limit="10")
    return out


def read(client: TestClient, fmt: str, **params: str) -> pl.DataFrame:
    resp = client.get("/v1/services/tinyapp/history", params={"format": fmt, **params})
    assert resp.status_code == 200, resp.text
    assert "attachment" in resp.headers["content-disposition"]
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(resp.content))
    if fmt == "json":
        return pl.DataFrame(resp.json())
    df = pl.read_parquet(io.BytesIO(resp.content))
    assert df.schema["ts"] == pl.Datetime("us", "UTC")
    return df.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_three_formats_hold_the_same_buckets(exported: dict[str, pl.DataFrame]) -> None:
    csv, js, pq = exported["csv"], exported["json"], exported["parquet"]
    assert csv.columns == ["ts", "count", "expected", "score", "level"]
    # The closed buckets of the last 24 hours of a service-wide series (the newest
    # minute is still open).
    assert 24 * 60 - 2 <= len(csv) <= 24 * 60
    for other in (js, pq):
        assert other["ts"].to_list() == csv["ts"].to_list()
        assert other["count"].to_list() == csv["count"].to_list()
        assert other["level"].fill_null("").to_list() == csv["level"].fill_null("").to_list()
        assert other["expected"].round(6).to_list() == csv["expected"].round(6).to_list()
    assert csv["count"].sum() >= 300  # the surge is in it
    assert "outage" in csv["level"].to_list()


def test_export_agrees_with_the_service_page(exported: dict[str, pl.DataFrame]) -> None:
    page = exported["page"].filter(pl.col("count") > 0).select("ts", "count")
    csv = exported["csv"].filter(pl.col("count") > 0).select("ts", "count")
    joined = page.join(csv, on="ts", suffix="_export")
    assert len(joined) == len(page) > 0
    assert (joined["count"] == joined["count_export"]).all()


def test_region_and_limit(exported: dict[str, pl.DataFrame]) -> None:
    region = exported["region"]
    assert 0 < len(region) < len(exported["csv"])  # regional rows: buckets with reports
    assert region["count"].sum() >= 300
    assert len(exported["limited"]) == 10


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"from": "yesterday"}, "from"),
        ({"from": str(SURGE_AT), "to": str(SURGE_AT - 60)}, "from"),
        ({"limit": "0"}, "limit"),
        ({"region": "Atlantis"}, "region"),
        ({"to": "1e300"}, "to"),
    ],
)
def test_bad_queries_get_a_422(params: dict[str, str], field: str) -> None:
    with running(ManualClock(SURGE_AT)) as (_, client):
        resp = client.get("/v1/services/tinyapp/history", params=params)
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert error["field"] == field
        assert error["message"].startswith(field)  # names the parameter to fix
