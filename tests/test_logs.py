"""Logs an operator can run on, through the real app: one JSON line per incident
event, per failed delivery, per tripped limit (at most one a minute each), and an
access log when it is turned on."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest

from outagewatch.app.logs import JsonFormatter, configure_level
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running, surge, tick_to, warm_up


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    """Each record as the JSON line the server writes: one line, one object."""
    out = []
    for record in caplog.records:
        if record.name == logger:
            text = JsonFormatter().format(record)
            assert "\n" not in text
            out.append(json.loads(text))
    return out


def test_incidents_opening_and_resolving_log_one_json_line_each(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="outagewatch")
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        caplog.clear()
        surge(client, clock)
        tick_to(app, clock, clock.now() + 120)
        opened = {o["id"]: o for o in client.get("/v1/outages").json()["outages"]}
        assert opened
        logged = lines(caplog, "outagewatch.incidents")
        assert [x["event"] for x in logged] == ["incident.opened"] * len(opened)
        for x in logged:
            assert x["level"] == "info"  # the line's level; the incident's is incident_level
            assert x["service"] == "tinyapp" and x["id"] in opened
            assert x["incident_level"] == opened[x["id"]]["level"] == "outage"
            assert x["region"] == opened[x["id"]]["region"] and x["state"] == "open"
        assert len({x["id"] for x in logged}) == len(logged)  # one line per incident

        caplog.clear()
        tick_to(app, clock, clock.now() + 6 * 3600, step=300)  # quiet again: resolved
        resolved = lines(caplog, "outagewatch.incidents")
        assert sorted(x["id"] for x in resolved) == sorted(opened)
        assert {x["event"] for x in resolved} == {"incident.resolved"}
        assert all(x["ended_at"] and x["state"] == "resolved" for x in resolved)


def test_a_tripped_limit_logs_one_line_a_minute(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="outagewatch")
    with running(clock, rate_address_per_s=0.01, rate_address_burst=2) as (_, client):
        codes = [
            client.post("/v1/reports", json={"service": "aws", "reporter": f"r{i}"}).status_code
            for i in range(12)
        ]
        assert codes.count(429) == 10
        first = lines(caplog, "outagewatch.limits")
        assert len(first) == 1  # ten refusals, one line
        assert first[0]["limit"] == "rate_limited" and first[0]["trips"] == 1
        assert first[0]["level"] == "warning" and first[0]["event"] == "limit"
        clock.advance(61)
        client.post("/v1/reports", json={"service": "aws", "reporter": "late"})
        later = lines(caplog, "outagewatch.limits")
        assert len(later) == 2 and later[1]["trips"] == 10  # the nine unlogged, and this one


def test_a_failed_delivery_logs_a_warning_line(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level(logging.INFO, logger="outagewatch")
    with running(clock, webhook_allow_private=True) as (app, client):
        key = {"authorization": f"Bearer {API_KEY}"}
        url = f"http://127.0.0.1:{port}/hook"
        hook = client.post("/v1/webhooks", json={"url": url}, headers=key).json()
        warm_up(app, client, clock)
        surge(client, clock)
        tick_to(app, clock, clock.now() + 120)
        assert app.runtime.deliver()["retry"] >= 1
        failed = lines(caplog, "outagewatch.deliveries")
        assert failed and all(x["event"] == "delivery.failed" for x in failed)
        assert all(x["webhook"] == hook["id"] and x["final"] is False for x in failed)
        assert all(x["attempts"] == 1 and x["error"] for x in failed)
        assert url not in json.dumps(failed)  # a target URL can carry a secret


def test_the_access_log_is_off_unless_turned_on(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="outagewatch")
    with running(clock) as (_, client):
        client.get("/v1/outages")
        assert lines(caplog, "outagewatch.access") == []
    with running(clock, access_log=True) as (_, client):
        client.get("/v1/outages?limit=5")
        client.post("/v1/reports", json={"service": "aws"})
        client.get("/nope")
        logged = lines(caplog, "outagewatch.access")
        assert [(x["method"], x["path"], x["status"]) for x in logged] == [
            ("GET", "/v1/outages", 200),
            ("POST", "/v1/reports", 202),
            ("GET", "/nope", 404),
        ]
        assert all(x["ms"] >= 0 and "limit" not in x["path"] for x in logged)


def test_log_level_setting() -> None:
    assert Settings.from_env({"OUTAGEWATCH_LOG_LEVEL": "warning"}).log_level == "warning"
    assert configure_level("DEBUG") == "debug"
    with pytest.raises(ValueError, match="OUTAGEWATCH_LOG_LEVEL"):
        configure_level("loud")
