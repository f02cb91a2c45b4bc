"""`outagewatch replay`: a file through the same pipeline as the server, on stream time.

Chunks are read, checked by the same batch validation as bulk import, fed to the
same dedup, aggregator, detector and incident tracker, and stream time moves to the
newest report read, exactly as the server's clock would have. Memory is bounded by
the chunk size and the number of series, not by the file's length.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl
import pyarrow.parquet as pq

from outagewatch.app.catalog import providers_of, seed_services
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


def score_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The per-series, per-bucket rows as written, whatever the file's format."""
    return frame.select(
        pl.from_epoch((pl.col("ts") * 1000).cast(pl.Int64), time_unit="ms")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
        pl.col("service").cast(pl.String),
        pl.col("region").cast(pl.String),
        pl.col("count").cast(pl.Int64),
        pl.col("expected").round(4),
        pl.col("score").round(9),
        pl.when(pl.col("level") != "").then(pl.col("level")).cast(pl.String).alias("level"),
    )


class ScoresWriter:
    """Appends the per-series, per-bucket rows to a CSV as the buckets close."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.header = True

    def __call__(self, frame: pl.DataFrame) -> None:
        out = score_rows(frame)
        # Each bucket's time formatted once, not once per series and bucket (formatting
        # every row was 7% of a replay of 240 series).
        stamps = out["ts"].unique()
        text = stamps.dt.strftime(ISO_FORMAT)
        out = out.with_columns(pl.col("ts").replace_strict(stamps, text, return_dtype=pl.String))
        out.write_csv(self.fh, include_header=self.header)
        self.header = False

    def close(self) -> None:
        self.fh.close()


class ParquetScores:
    """The same rows as Parquet, one row group per advance (3 weeks of 240 series is
    340 MB of CSV): `ts` a UTC timestamp, counts as integers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def __call__(self, frame: pl.DataFrame) -> None:
        table = score_rows(frame).to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        else:  # nothing closed a bucket: an empty file that still reads
            score_rows(pl.DataFrame(schema=EMPTY_SCORES)).write_parquet(self.path)


EMPTY_SCORES = {"ts": pl.Float64, "service": pl.String, "region": pl.String,
                "count": pl.Int64, "expected": pl.Float64, "score": pl.Float64,
                "level": pl.String}  # fmt: skip


class Behind:
    """A scores writer on a thread of its own: the frames are formatted and written in
    order while the pipeline steps the next buckets (polars lets go of the
    interpreter's lock while it does), at most `depth` frames behind, so memory stays
    bounded. A write's error is raised by the next call or by `close`."""

    def __init__(self, sink: ScoresWriter | ParquetScores, depth: int = 2) -> None:
        self.sink = sink
        self.frames: queue.Queue[pl.DataFrame | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, name="scores-writer", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        while (frame := self.frames.get()) is not None:
            if self.error is None:  # after an error the rest is drained, not written
                try:
                    self.sink(frame)
                except BaseException as exc:  # handed to the caller's thread
                    self.error = exc

    def __call__(self, frame: pl.DataFrame) -> None:
        if self.error is not None:
            raise self.error
        self.frames.put(frame)

    def close(self) -> None:
        self.frames.put(None)
        self.thread.join()
        self.sink.close()
        if self.error is not None:
            raise self.error


def scores_sink(path: Path) -> Behind:
    """Parquet when the name ends in .parquet, else CSV; written behind the pipeline."""
    if path.suffix.lower() == ".parquet":
        return Behind(ParquetScores(path))
    return Behind(ScoresWriter(path.open("wb")))


def count_rows(path: Path) -> int | None:
    """Rows in a file, for the progress bar (a fast newline count; parquet metadata)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
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
    providers: dict[str, tuple[str, ...]] | None = None,
) -> tuple[ReplaySummary, list[dict[str, Any]]]:
    """`providers`: who runs on whom (service -> providers), as a catalog declares it;
    None: the bundled catalog's, as a fresh server has them."""
    # A replay writes every incident to its feed: none is forgotten.
    cfg = replace(config or PipelineConfig(bucket_seconds=bucket_seconds), keep_resolved=None)
    started = time.perf_counter()
    sink = scores_sink(scores) if scores is not None else None
    try:
        pipeline = Pipeline(cfg, store=None, scores_sink=sink)
        pipeline.set_providers(providers_of(seed_services()) if providers is None else providers)
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
        if sink is not None:
            sink.close()
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
