"""The one driver of a pipeline: reports in, stream time forward.

Whoever runs the engine moves it with `drive`: the server's writer thread (reports
buffered by intake, time from the clock), `outagewatch replay` (a file's chunks, time
from the data) and the NATS worker (a fetched batch of its partition, time from the
newest server timestamp in it). Each call closes every bucket stream time has passed,
in one advance: the pipeline gives the same incidents however its input was batched
(a series is born at its first report, the detector shares nothing between series,
early checks replay the grid points a ticking server would have seen), so no driver
needs to step one bucket at a time.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from outagewatch.app.engine.memory import release_freed
from outagewatch.app.engine.pipeline import Pipeline


def drive(
    pipeline: Pipeline, now: float, reports: pl.DataFrame | None = None
) -> list[dict[str, Any]]:
    """Take `reports` (validated: ts, service, region, problem, reporter, count; judged
    by dedup in their order), then move stream time to `now`: flush, close, detect.
    Returns the incidents that changed."""
    if reports is not None and not reports.is_empty():
        pipeline.ingest(reports)
    closed = pipeline.view.closed_until
    changed = pipeline.advance(now)
    if pipeline.view.closed_until != closed:
        release_freed()  # a step's temporaries, once per step, not per tick
    return changed
