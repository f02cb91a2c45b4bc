"""Reports carry a region without asking: the browser's time zone names the country."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.main import OutageWatch
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.regions import REGIONS
from outagewatch.ingest.report import ReportError, parse_report
from outagewatch.ingest.zones import country_of_zone, zone_countries
from tests.conftest import tick_to


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/Warsaw", "PL"),
        ("Asia/Jakarta", "ID"),
        ("America/New_York", "US"),
        ("Africa/Cairo", "EG"),
        ("Europe/Rome", "IT"),
        ("Asia/Riyadh", "SA"),
        ("Europe/Kiev", "UA"),  # an old name Chromium still gives: a link in the tz data
        ("US/Eastern", "US"),
        ("garbage", None),
        ("UTC", None),
        ("Etc/GMT+3", None),
        ("", None),
        ("europe/warsaw", None),  # zone names are exact
        ("Europe/Warsaw" + "x" * 100, None),
        ("../../etc/passwd", None),
        ("<script>alert(1)</script>", None),
    ],
)
def test_zone_to_country(zone: str, country: str | None) -> None:
    assert country_of_zone(zone) == country


def test_every_country_of_the_table_is_a_region_reports_accept() -> None:
    countries = set(zone_countries().values())
    assert len(countries) > 240
    assert countries <= REGIONS


@given(st.text(max_size=80))
def test_any_string_is_a_region_or_none(zone: str) -> None:
    country = country_of_zone(zone)
    assert country is None or country in REGIONS
    report = parse_report({"service": "amazon", "tz": zone})
    assert report.region == country


def test_an_explicit_region_wins_over_the_zone() -> None:
    assert parse_report({"service": "amazon", "region": "fr", "tz": "Europe/Warsaw"}).region == "FR"


def test_a_report_with_only_a_zone_counts_under_its_country(
    app_client: tuple[OutageWatch, TestClient], clock: ManualClock
) -> None:
    app, client = app_client
    for i, zone in enumerate(["Europe/Warsaw"] * 3 + ["Asia/Jakarta", "Mars/Olympus", "UTC"]):
        body = {"service": "allegro", "tz": zone, "reporter": f"r{i}"}
        resp = client.post("/v1/reports", json=body)
        assert resp.json() == {"accepted": True, "counted": True}
    tick_to(app, clock, clock.now() + 120)
    detail = client.get("/v1/services/allegro").json()
    assert detail["reports_24h"] == 6
    regions = {r["region"]: r["reports"] for r in detail["regions"]}
    assert regions == {"PL": 3, "ID": 1}  # the unknown zones count only service-wide


@pytest.mark.parametrize("zone", [7, ["Europe/Warsaw"], {"a": 1}, True])
def test_a_zone_that_is_not_a_string_is_a_clear_422(client: TestClient, zone: object) -> None:
    resp = client.post("/v1/reports", json={"service": "allegro", "tz": zone})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "invalid_tz" and error["field"] == "tz"
    assert "Europe/Warsaw" in error["message"]


def test_a_tz_that_is_not_a_name_is_refused_beside_a_region_too() -> None:
    """Found by Schemathesis: with a region given, a numeric tz was not looked at."""
    with pytest.raises(ReportError) as err:
        parse_report({"service": "amazon", "region": "EC", "tz": 2.1e54})
    assert err.value.code == "invalid_tz"
