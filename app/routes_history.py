"""History export: one series' bucket counts with what was expected and the score,
as CSV, Parquet or JSON, for anyone who wants to chart, audit or study them.

`GET /v1/services/{service}/history?from=&to=&region=&format=&limit=`: `from` and
`to` are ISO-8601 with a zone or epoch seconds (default: the last 24 hours), at most
`limit` buckets (default 10,080, a week of minutes; at most 100,000), oldest first.
CSV and JSON are streamed in slices; Parquet is one file (bounded by `limit`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from outagewatch.app.errors import ApiError
from outagewatch.app.outage_query import parse_since
from outagewatch.app.runtime import Runtime
from outagewatch.app.schemas import ServicePath

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
SLICE = 10_000  # rows per streamed chunk


def router(rt: Runtime) -> APIRouter:
    api = APIRouter()

    @api.get(
        "/v1/services/{service}/history",
        tags=["services"],
        summary="Bucket counts, expected and score over time (CSV, Parquet or JSON)",
        response_class=Response,
        responses={
            200: {
                "description": "ts, count, expected, score, level per bucket, oldest first",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "application/vnd.apache.parquet": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        },
    )
    def history(
        service: ServicePath,
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
        region: Annotated[
            str | None,
            Query(description="a country code (none: service-wide)", pattern="^([A-Za-z]{2})?$"),
        ] = None,
        format: Annotated[str, Query(pattern="^(csv|parquet|json)$")] = "csv",
        limit: Annotated[int, Query(ge=1, le=100_000)] = 10_080,
    ) -> Response:
        region = region.upper() if region else None  # as /v1/outages: any code, maybe none
        to = parse_since(end or None, "to")
        to = rt.clock.now() if to is None else to
        frm = parse_since(start or None, "from")
        frm = to - 86400 if frm is None else frm
        if frm > to:
            raise ApiError(422, "invalid_range", "from must not be after to", "from")
        df = rt.store.history(service, region, frm, to, limit).with_columns(
            pl.from_epoch(pl.col("ts"), time_unit="s").dt.replace_time_zone("UTC")
        )
        name = f"{service}{'-' + region if region else ''}-history.{format}"
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        if format == "parquet":
            buf = io.BytesIO()
            df.write_parquet(buf)
            return Response(buf.getvalue(), media_type=FORMATS[format], headers=headers)
        text = df.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        chunks = _csv(text) if format == "csv" else _json(text)
        return StreamingResponse(chunks, media_type=FORMATS[format], headers=headers)

    return api


def _csv(df: pl.DataFrame) -> Iterator[bytes]:
    yield (",".join(df.columns) + "\n").encode()
    for part in df.iter_slices(SLICE):
        yield part.write_csv(include_header=False).encode()


def _json(df: pl.DataFrame) -> Iterator[bytes]:
    """One JSON array of objects, sent a slice at a time (each slice written by polars)."""
    yield b"["
    first = True
    for part in df.iter_slices(SLICE):
        rows = part.write_json().encode()[1:-1]  # the slice's objects, without [ ]
        if rows:
            yield rows if first else b"," + rows
            first = False
    yield b"]"
