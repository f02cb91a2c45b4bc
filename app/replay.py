"""`outagewatch replay`: a file through the same pipeline as the server, on stream time.

Chunks are read, checked by the same batch validation as bulk import, fed to the
same dedup, aggregator, detector and incident tracker, and stream time moves to the
newest report read, exactly as the server's clock would have. Memory is bounded by
the chunk size and the number of series, not by the file's length.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl

from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.app.maintenance import Marks
from outagewatch.app.maintenance_windows import Window
from outagewatch.ingest.batch import normalize
from outagewatch.ingest.readers import read_chunks
from outagewatch.ingest.windows import ISO_FORMAT

SCORE_COLUMNS = ["ts", "service", "region", "count", "expected", "score", "level"]


@dataclass
class ReplaySummary:
    rows: int
    reports: int
    counted: int
    series: int
    buckets: int
    incidents: int
    seconds: float


class ScoresWriter:
    """Appends the per-series, per-bucket rows to a CSV as the buckets close."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.header = True

    def __call__(self, frame: pl.DataFrame) -> None:
        out = frame.select(
            pl.from_epoch((pl.col("ts") * 1000).cast(pl.Int64), time_unit="ms")
            .dt.strftime(ISO_FORMAT)
            .alias("ts"),
            "service",
            "region",
            pl.col("count").cast(pl.Int64),
            pl.col("expected").round(4),
            pl.col("score").round(9),
            pl.when(pl.col("level") != "").then(pl.col("level")).alias("level"),
        )
        out.write_csv(self.fh, include_header=self.header)
        self.header = False


def count_rows(path: Path) -> int | None:
    """Rows in a file, for the progress bar (a fast newline count; parquet metadata)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    n = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return n - 1 if suffix == ".csv" else n


def replay(
    path: Path,
    *,
    bucket_seconds: int = 60,
    feed: Path | None = None,
    scores: Path | None = None,
    config: PipelineConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
    maintenance: Sequence[Window] = (),
) -> tuple[ReplaySummary, list[dict[str, Any]]]:
    # A replay writes every incident to its feed: none is forgotten.
    cfg = replace(config or PipelineConfig(bucket_seconds=bucket_seconds), keep_resolved=None)
    started = time.perf_counter()
    scores_fh = scores.open("wb") if scores is not None else None
    try:
        sink = ScoresWriter(scores_fh) if scores_fh is not None else None
        pipeline = Pipeline(cfg, store=None, scores_sink=sink)
        marks = Marks(lambda: maintenance, {})  # as the server marks, with these windows
        pipeline.markers.append(marks)
        rows = buckets = 0
        last = None
        for chunk in read_chunks(path):
            batch = normalize(chunk, offset=rows).sort("ts")
            rows += len(batch)
            if batch.is_empty():
                continue
            newest = float(batch["ts"].max())  # type: ignore[arg-type]
            last = newest if last is None else max(last, newest)
            drive(pipeline, last, batch)
            if on_progress is not None:
                on_progress(len(batch))
        if last is not None:  # the end of the file closes its last bucket
            drive(pipeline, last + cfg.bucket_seconds + cfg.allowed_lateness_s)
        buckets = pipeline.view.buckets_stepped
    finally:
        if scores_fh is not None:
            scores_fh.close()
    incidents = pipeline.all_incidents()
    marks(incidents)  # the feed objects carry the marks given during the run
    if feed is not None:
        feed.write_bytes(orjson.dumps({"outages": incidents}, option=orjson.OPT_INDENT_2))
    summary = ReplaySummary(
        rows=rows,
        reports=pipeline.reports_accepted,
        counted=pipeline.reports_counted,
        series=pipeline.view.n,
        buckets=buckets,
        incidents=len(incidents),
        seconds=time.perf_counter() - started,
    )
    return summary, incidents
