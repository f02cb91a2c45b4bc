"""Validation of whole batches (bulk import, replay files), vectorised with polars.

The same rules as `ingest.report` for one report, applied to columns at once. When
a batch has a bad row, the first one is named with the single-report message, so
the person fixing the file learns the row number and what to change.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from outagewatch.ingest.regions import REGIONS
from outagewatch.ingest.report import (
    MAX_COUNT,
    PROBLEM_RE,
    REPORTER_RE,
    SERVICE_RE,
    ReportError,
    check_count,
    check_problem,
    check_region,
    check_reporter,
    check_service,
)

COLUMNS = ("ts", "service", "region", "problem", "reporter", "count")
OUT_SCHEMA: dict[str, Any] = {
    "ts": pl.Float64,
    "service": pl.String,
    "region": pl.String,
    "problem": pl.String,
    "reporter": pl.String,
    "count": pl.Int64,
}
_REGION_LIST = sorted(REGIONS)
_PROBLEM = f"^{PROBLEM_RE.pattern}$"
_REPORTER = f"^{REPORTER_RE.pattern}$"


def _ts_seconds(col: pl.Expr) -> pl.Expr:
    """Epoch seconds, or ISO-8601 with a zone; anything else becomes null."""
    as_text = col.cast(pl.String)
    numeric = as_text.cast(pl.Float64, strict=False)
    parsed = as_text.str.to_datetime(format="%+", time_zone="UTC", strict=False, time_unit="us")
    return pl.coalesce(numeric, parsed.dt.epoch("us").cast(pl.Float64) / 1e6)


def normalize(df: pl.DataFrame, *, offset: int = 0) -> pl.DataFrame:
    """Check and normalise a batch to OUT_SCHEMA; raise ReportError for the first bad row.

    `offset` is the number of rows before this batch in its file (for row numbers).
    """
    unknown = [c for c in df.columns if c not in COLUMNS]
    if unknown:
        raise ReportError(
            "unknown_field",
            f"unknown column {unknown[0]!r}; columns are {', '.join(COLUMNS)}",
            unknown[0],
        )
    for required in ("ts", "service"):
        if required not in df.columns:
            raise ReportError("missing_field", f"column {required!r} is required", required)
    exprs = [
        _ts_seconds(pl.col("ts")).alias("ts"),
        pl.col("service").cast(pl.String),
    ]
    for name in ("region", "problem", "reporter"):
        if name in df.columns:
            text = pl.col(name).cast(pl.String)
            exprs.append(pl.when(text == "").then(None).otherwise(text).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=pl.String).alias(name))
    if "count" in df.columns:
        exprs.append(pl.col("count").cast(pl.Float64, strict=False).fill_null(1.0).alias("count"))
    else:
        exprs.append(pl.lit(1.0).alias("count"))
    out = df.select(exprs).with_columns(pl.col("region").str.to_uppercase())

    bad = (
        pl.col("ts").is_null()
        | ~pl.col("ts").is_finite()
        | pl.col("service").is_null()
        | ~pl.col("service").str.contains(f"^{SERVICE_RE.pattern}$")
        | (pl.col("region").is_not_null() & ~pl.col("region").is_in(_REGION_LIST))
        | (pl.col("problem").is_not_null() & ~pl.col("problem").str.contains(_PROBLEM))
        | (pl.col("reporter").is_not_null() & ~pl.col("reporter").str.contains(_REPORTER))
        | (pl.col("count") < 0)
        | (pl.col("count") > MAX_COUNT)
        | (pl.col("count") != pl.col("count").floor())
    )  # fmt: skip
    flagged = out.with_row_index("_row").filter(bad)
    if not flagged.is_empty():
        row = int(flagged["_row"][0])
        _explain(df.row(row, named=True), out.row(row, named=True), offset + row + 1)
    return out.with_columns(pl.col("count").cast(pl.Int64))


def _explain(raw: dict[str, Any], norm: dict[str, Any], row_number: int) -> None:
    """Raise the single-report error for one bad row, prefixed with its row number."""
    try:
        if norm["ts"] is None:
            raise ReportError(
                "invalid_ts",
                f"ts {raw.get('ts')!r} is not epoch seconds or ISO-8601 with a zone "
                "(such as 2026-11-23T10:00:00Z)",
                "ts",
            )
        check_service(raw.get("service"))
        check_region(raw.get("region"))
        check_problem(raw.get("problem"))
        check_reporter(raw.get("reporter"))
        check_count(norm.get("count"))
    except ReportError as exc:
        raise ReportError(exc.code, f"row {row_number}: {exc.message}", exc.field) from None
    raise ReportError("invalid_row", f"row {row_number} is not a valid report", None)
