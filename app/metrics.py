"""Prometheus metrics, one registry per app (no process-global state).

Counters that the pipeline already keeps (accepted, counted, rejected by reason,
open incidents, series, lag) are read at scrape time by a collector, so the intake
hot path pays only for the latency histogram.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from outagewatch.app.intake import Intake
    from outagewatch.app.runtime import Runtime

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    def __init__(self, runtime: Runtime, intake: Intake) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.intake_latency = Histogram(
            "outagewatch_intake_seconds",
            "Time to answer POST /v1/reports",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tick_seconds = Histogram(
            "outagewatch_tick_seconds",
            "Time of one writer tick (flush, close buckets, detect, write)",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
            registry=self.registry,
        )
        self.registry.register(_StateCollector(runtime, intake))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, runtime: Runtime, intake: Intake) -> None:
        self.rt = runtime
        self.intake = intake

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        view = self.rt.view
        # Intake's own counters, live (two integers; the rest is as of the last tick).
        p = self.rt.pipeline
        yield CounterMetricFamily(
            "outagewatch_reports_accepted", "Reports acknowledged", value=p.reports_accepted
        )
        yield CounterMetricFamily(
            "outagewatch_reports_counted", "Reports counted after dedup", value=p.reports_counted
        )
        rejected = CounterMetricFamily(
            "outagewatch_reports_rejected", "Reports refused, by reason", labels=["reason"]
        )
        for reason, n in sorted(self.intake.rejected.items()):
            rejected.add_metric([reason], n)
        yield rejected
        yield CounterMetricFamily(
            "outagewatch_reports_too_late", "Reports after their bucket closed",
            value=view.too_late,
        )  # fmt: skip
        yield GaugeMetricFamily("outagewatch_series", "Watched series", value=view.n)
        yield CounterMetricFamily(
            "outagewatch_detector_buckets",
            "Buckets stepped by the detector",
            value=view.buckets_stepped,
        )
        levels = GaugeMetricFamily(
            "outagewatch_open_incidents", "Open incidents by level", labels=["level"]
        )
        for level in ("possible", "outage"):
            levels.add_metric([level], view.open_by_level.get(level, 0))
        yield levels
        closed = view.closed_until
        lag = 0.0 if closed is None else max(0.0, self.rt.clock.now() - closed)
        yield GaugeMetricFamily(
            "outagewatch_aggregator_lag_seconds",
            "Stream time minus the start of the oldest open bucket",
            value=lag,
        )
