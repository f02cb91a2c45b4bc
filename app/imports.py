"""Bulk import: a batch of reports with their own times (and counts) becomes durable,
then counted. The one path for history, whoever brings it: `POST /v1/import` and
`outagewatch demo`'s day of ordinary traffic.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import orjson
import polars as pl

from outagewatch.app.engine.config import IngestResult
from outagewatch.app.errors import ApiError
from outagewatch.app.idempotency import encode
from outagewatch.app.runtime import Runtime
from outagewatch.app.settings import Settings
from outagewatch.app.wal import Entry, WalError, WriteAheadLog
from outagewatch.ingest.batch import normalize
from outagewatch.ingest.report import ReportError
from outagewatch.ingest.windows import iso

log = logging.getLogger("outagewatch")


async def import_batch(
    rt: Runtime, df: pl.DataFrame, key: str | None = None, digest: str = ""
) -> tuple[dict[str, Any], str]:
    """Check a batch (columns as `ingest.batch.COLUMNS`), log it, then count it; returns
    the answer and its encoding for the idempotency key (`key`, stored with the rows).

    Raises ApiError: 422 for a bad row or time, 503 when it cannot be made durable
    (then nothing of it is counted)."""
    if "service" in df.columns:  # names as people type them: once per distinct name
        names = df["service"].unique().drop_nulls().to_list()
        ids = {n: i for n in names if (i := rt.catalog.service_id(n)) != n}
        df = df.with_columns(pl.col("service").replace(ids)) if ids else df
    try:
        batch = normalize(df)
    except ReportError as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from None
    _check_times(batch, rt.clock.now(), rt.settings)
    services = batch["service"].unique().to_list()  # written by the writer thread:
    await asyncio.to_thread(rt.catalog.add_trusted, services, rt.clock.now(), "import")
    tokens = batch["reporter"]
    if tokens.null_count() < len(tokens):  # tokens are stored hashed (app/privacy.py)
        hashed = rt.reporter_ids(tokens.to_list())
        batch = batch.with_columns(pl.Series("reporter", hashed, dtype=pl.String))
    # Durable first, then counted: dedup decides now (in arrival order), the rows join
    # the pipeline only once the log holds them, and a 503 counts nothing.
    batch = rt.pipeline.judge(batch)
    apply = partial(_take_import, rt, batch, key, digest)
    if rt.wal is None:
        answer, stored, _ = apply(None)
        return answer, stored
    rests = [
        orjson.dumps([*row, key])[1:-1]
        for row in batch.select(
            "ts", "service", "region", "problem", "reporter", "counted", "count"
        ).iter_rows()
    ]
    try:
        (result,) = await rt.wal.write([Entry(rests, apply)])
    except WalError as exc:
        rt.pipeline.forget(
            batch["reporter"].to_list(), batch["service"].to_list(), batch["ts"].to_list()
        )
        raise ApiError(503, "unavailable", f"reports cannot be stored: {exc}") from None
    if result is None:
        raise ApiError(503, "unavailable", "the import could not be counted; retry")
    answer, stored, closed_before = result
    if key is not None:
        await _log_answer(rt.wal, key, stored, closed_before)
    return answer, stored


async def _log_answer(
    wal: WriteAheadLog, key: str, stored: str, closed_before: float | None
) -> None:
    """The answer is logged before it is given: a crash before DuckDB holds the rows
    replays them, and a retry with the key gets this same answer (and the rows that
    fell in closed minutes stay uncounted, as it says). The rows are durable and counted
    already, so a note that cannot be written is logged and the answer given anyway."""
    note = orjson.dumps({"key": key, "answer": stored, "closed_before": closed_before})
    try:
        await wal.write([Entry([], _nothing, note=note)])
    except WalError as exc:
        log.warning("import %s: its answer could not be logged (%s)", key, exc)


def _nothing(_seq: int) -> None:
    return None


def _take_import(
    rt: Runtime, batch: pl.DataFrame, key: str | None, digest: str, first_seq: int | None
) -> tuple[dict[str, Any], str, float | None]:
    """Once the import is durable: its rows join the pipeline, and its answer says
    what counted and what did not, and why (with where closed minutes ended)."""
    if first_seq is not None:
        batch = batch.with_columns(
            pl.int_range(first_seq, first_seq + len(batch), eager=True).alias("seq")
        )
    answers: list[dict[str, Any]] = []

    def describe(result: IngestResult) -> str:
        answer: dict[str, Any] = {
            "accepted": result.accepted,
            "reports": result.reports,
            "counted": result.counted,
            "not_counted": result.reports - result.counted,
            "duplicates": result.reports - result.counted - result.too_late,
            "too_late": result.too_late,
        }
        if result.closed_before is not None:
            answer["closed_before"] = iso(result.closed_before)
            answer["message"] = (
                f"{result.too_late} reports fall in minutes already closed (before "
                f"{answer['closed_before']}): stored, not counted"
            )
        answers.append(answer)
        return encode(digest, answer)

    result = rt.pipeline.take(batch, late=True, key=key, describe=describe)
    if not answers:
        describe(result)
    return answers[0], encode(digest, answers[0]), result.closed_before


def _check_times(batch: pl.DataFrame, now: float, s: Settings) -> None:
    """Imports backfill recent history; a time from 1970 or next year is a mistake (and
    would have the stream step through decades of empty buckets)."""
    lo, hi = now - s.import_max_age_s, now + s.import_max_ahead_s
    bad = batch.with_row_index("_row").filter((pl.col("ts") < lo) | (pl.col("ts") > hi))
    if not bad.is_empty():
        row, ts = bad.select("_row", "ts").row(0)
        raise ApiError(
            422,
            "invalid_ts",
            f"row {row + 1}: ts {_when(ts)} is outside what an import may carry, "
            f"{iso(lo)} to {iso(hi)} (at most {s.import_max_age_s / 86400:g} days back)",
            "ts",
        )


def _when(ts: float) -> str:
    try:
        return str(iso(ts))
    except (ValueError, OverflowError, OSError):  # before year 1 or after 9999
        return f"{ts:g} (epoch seconds)"
