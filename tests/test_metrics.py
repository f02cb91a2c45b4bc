from __future__ import annotations

import json
import logging

from outagewatch.app.logs import JsonFormatter
from outagewatch.ingest.clock import ManualClock
from tests.conftest import running


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics_count_what_happened(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        for i in range(3):
            client.post("/v1/reports", json={"service": "aws", "reporter": f"r{i}"})
        client.post("/v1/reports", json={"service": "aws", "reporter": "r0"})
        client.post("/v1/reports", json={"service": "Not Valid"})
        clock.advance(120)
        app.runtime.tick()
        text = client.get("/metrics").text
    assert metric(text, "outagewatch_reports_accepted_total") == 4
    assert metric(text, "outagewatch_reports_counted_total") == 3
    assert 'outagewatch_reports_rejected_total{reason="invalid_service"} 1.0' in text
    assert metric(text, "outagewatch_intake_seconds_count") == 5
    assert metric(text, "outagewatch_series") == 1
    assert metric(text, "outagewatch_tick_seconds_count") >= 1
    assert 'outagewatch_open_incidents{level="outage"} 0.0' in text


def test_logs_are_json_lines() -> None:
    record = logging.makeLogRecord(
        {"name": "outagewatch", "levelname": "WARNING", "msg": "tick %s", "args": ("slow",)}
    )
    record.tick_ms = 12
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "tick slow" and line["level"] == "warning" and line["tick_ms"] == 12
