"""Report intake: POST /v1/reports (documented here, served by the fast path in front,
app/fastpath.py) and the trusted bulk import, POST /v1/import (API key)."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson
import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.engine.pipeline import IngestResult
from outagewatch.app.errors import ApiError
from outagewatch.app.idempotency import IdempotencyError, ImportKeys, body_hash, encode
from outagewatch.app.intake import Intake
from outagewatch.app.runtime import Runtime
from outagewatch.app.settings import Settings
from outagewatch.app.wal import Entry, WalError
from outagewatch.ingest.batch import normalize
from outagewatch.ingest.report import ReportError
from outagewatch.ingest.windows import iso

IMPORT_DOC = """Rows in minutes the detector has already closed are stored but not counted
(closed minutes are not re-aggregated): the answer says how many (`too_late`) and from
when (`closed_before`). Send `Idempotency-Key: <a new UUID per import>` to make a retry
safe: a retried import with the same key counts nothing again and gets the first
answer. Answers 503 (nothing counted) when the reports cannot be made durable."""


def router(rt: Runtime, intake: Intake) -> APIRouter:
    api = APIRouter()
    needs_key = admin_key(rt)  # `dependencies=` of the routes that need an API key
    imports = ImportKeys(rt.store)

    @api.post(
        "/v1/reports",
        status_code=202,
        tags=["intake"],
        summary="Report that a service is broken for you",
        openapi_extra=schemas.body(schemas.REPORT),
        responses={202: schemas.model(schemas.Accepted, "Stored; counted unless a duplicate")},
    )
    async def post_report(request: Request) -> Response:
        body = await request.body()
        address = request.client.host if request.client else ""
        out = intake.handle(
            body,
            request.headers.get("content-type", "").encode(),
            address,
            request.headers.get("user-agent", ""),
        )
        out = await intake.durable(out)
        headers = {k.decode(): v.decode() for k, v in out.headers}
        return Response(
            out.body, status_code=out.status, media_type="application/json", headers=headers
        )

    @api.post(
        "/v1/import",
        dependencies=needs_key,
        tags=["intake"],
        summary="Trusted bulk import (API key): NDJSON or a JSON array; may carry ts and count",
        description=IMPORT_DOC,
        openapi_extra=schemas.IMPORT,
        response_model=None,
        responses={200: schemas.model(schemas.ImportResult, "What counted, and why not")},
    )
    async def bulk_import(
        request: Request,
    ) -> dict[str, Any]:
        if rt.disk_low:
            raise ApiError(503, "unavailable", "the server's disk is nearly full; retry later")
        body = await request.body()
        if len(body) > rt.settings.max_import_bytes:
            raise ApiError(
                413, "body_too_large", f"an import is at most {rt.settings.max_import_bytes} bytes"
            )
        key = request.headers.get("idempotency-key")
        if key is None:
            return await _import(rt, request, body, None, "")
        digest = body_hash(body)
        try:
            ImportKeys.check(key)
            earlier = await imports.begin(key, digest)
        except IdempotencyError as exc:
            raise ApiError(422, exc.code, str(exc), "Idempotency-Key") from None
        if earlier is not None:
            return earlier
        try:
            return await _import(rt, request, body, key, digest)
        finally:
            imports.end(key)

    async def _import(
        rt: Runtime, request: Request, body: bytes, key: str | None, digest: str
    ) -> dict[str, Any]:
        df = _parse_bulk(body, request.headers.get("content-type", ""))
        if "service" in df.columns:  # names as people type them: once per distinct name
            names = df["service"].unique().drop_nulls().to_list()
            ids = {n: i for n in names if (i := rt.catalog.service_id(n)) != n}
            df = df.with_columns(pl.col("service").replace(ids)) if ids else df
        try:
            batch = normalize(df)
        except ReportError as exc:
            raise ApiError(422, exc.code, exc.message, exc.field) from None
        _check_times(batch, rt.clock.now(), rt.settings)
        rt.catalog.add_trusted(batch["service"].unique().to_list(), rt.clock.now(), "import")
        tokens = batch["reporter"].to_list()
        batch = batch.with_columns(
            pl.Series(
                "reporter", [None if t is None else rt.reporter_id(t, "", "") for t in tokens]
            )
        )
        # Durable first, then counted: dedup decides now (in arrival order), the rows join
        # the pipeline only once the log holds them, and a 503 counts nothing.
        batch = rt.pipeline.judge(batch)
        apply = partial(_take_import, rt, batch, key, digest)
        if rt.wal is None:
            answer, stored = apply(None)
        else:
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
            answer, stored = result
        if key is not None:
            imports.keep(key, stored)
        return answer

    return api


def _take_import(
    rt: Runtime, batch: pl.DataFrame, key: str | None, digest: str, first_seq: int | None
) -> tuple[dict[str, Any], str]:
    """Once the import is durable: its rows join the pipeline, and its answer says
    what counted and what did not, and why."""
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
    return answers[0], encode(digest, answers[0])


def _parse_bulk(body: bytes, content_type: str) -> pl.DataFrame:
    text = body.strip()
    if not text:
        raise ApiError(400, "empty_body", "send reports as NDJSON or a JSON array")
    try:
        if text[:1] == b"[":
            rows = orjson.loads(text)
        else:
            rows = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"not valid NDJSON or a JSON array: {exc.args[0]}"
        ) from None
    if not rows:
        raise ApiError(400, "empty_body", "no reports in the body")
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ApiError(422, "invalid_row", f"row {i}: each report must be a JSON object")
    columns = sorted({k for row in rows for k in row})
    return pl.DataFrame(
        {c: [None if (v := row.get(c)) is None else str(v) for row in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )


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
