"""The one restore: a pipeline carries on from what a store holds, whoever runs it
(the embedded server, a NATS worker)."""

from __future__ import annotations

import polars as pl

from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.ingest.store import Store


def restore(pipeline: Pipeline, store: Store, snapshot: str) -> None:
    """Restore `pipeline` from `store`: the snapshot named `snapshot` (model, positions,
    open incidents as they were), then every stored report the snapshot had not closed.

    Buckets closed after the snapshot are closed again from the same reports: their
    stored counts go first, so nothing is counted twice. Without a snapshot that closed
    anything (a kill -9 in the first minutes), every stored report is read. Reports
    acknowledged but never stored (a write-ahead log) are the caller's to replay; the
    caller publishes the read view when it is done.
    """
    snap = store.load_snapshot(snapshot)
    pipeline.restore(snap[1] if snap else None, store.open_incident_details())
    closed_until = pipeline.agg.closed_until
    since = 0.0 if closed_until is None else closed_until
    for table in ("series_buckets", "problem_buckets"):
        store.write(
            f"DELETE FROM {table} WHERE ts >= make_timestamp(?::BIGINT)", [int(since * 1e6)]
        )
    pending = store.reports_since(since)
    if not pending.is_empty():
        counted = pending.with_columns(pl.col("weight") * pl.col("counted"))
        pipeline.agg.add(counted)
        pipeline.partial.add(counted)  # open buckets: early checks and totals
    if closed_until is not None:
        series = pipeline.agg.series
        pipeline.chart.load(store.wide_buckets(closed_until - 86400), series.get, series.keys())
