"""The JSON API: intake (documented here, served by the fast path), bulk import, the
outage feed, services, health. Reads come from DuckDB cursors and the view the writer
publishes after each tick (app/engine/read_view.py), never from the engine's live arrays, so a
request cannot see a half-applied bucket."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import orjson
import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from scipy import stats

from outagewatch.app import schemas
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.engine.read_view import ReadView
from outagewatch.app.errors import ApiError
from outagewatch.app.idempotency import IdempotencyError, ImportKeys, body_hash
from outagewatch.app.imports import import_batch
from outagewatch.app.intake import Intake
from outagewatch.app.outage_query import parse_outage_query
from outagewatch.app.responses import JSON, Rendered
from outagewatch.app.runtime import Runtime
from outagewatch.app.schemas import ServicePath
from outagewatch.ingest.report import SERVICE_RE
from outagewatch.ingest.windows import iso

LEVEL_RANK = {"none": 0, "possible": 1, "outage": 2}


IMPORT_DOC = """Rows in minutes the detector has already closed are stored but not counted
(closed minutes are not re-aggregated): the answer says how many (`too_late`) and from
when (`closed_before`). Send `Idempotency-Key: <a new UUID per import>` to make a retry
safe: a retried import with the same key counts nothing again and gets the first
answer. Answers 503 (nothing counted) when the reports cannot be made durable."""


def router(rt: Runtime, intake: Intake) -> APIRouter:
    api = APIRouter()
    needs_key = admin_key(rt)  # `dependencies=` of the routes that need an API key
    rendered = Rendered()
    imports = ImportKeys(rt.store)

    @api.post(
        "/v1/reports",
        status_code=202,
        tags=["intake"],
        summary="Report that a service is broken for you",
        openapi_extra=schemas.body(schemas.REPORT),
        responses={202: {"description": '{"accepted": true, "counted": bool}'}},
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
            return await _import(request, body, None, "")
        digest = body_hash(body)
        try:
            ImportKeys.check(key)
            earlier = await imports.begin(key, digest)
        except IdempotencyError as exc:
            raise ApiError(422, exc.code, str(exc), "Idempotency-Key") from None
        if earlier is not None:
            return earlier
        try:
            return await _import(request, body, key, digest)
        finally:
            imports.end(key)

    async def _import(
        request: Request, body: bytes, key: str | None, digest: str
    ) -> dict[str, Any]:
        df = _parse_bulk(body, request.headers.get("content-type", ""))
        answer, stored = await import_batch(rt, df, key, digest)
        if key is not None:
            imports.keep(key, stored)
        return answer

    @api.get("/v1/outages", tags=["feed"], summary="Incidents, newest first (open by default)")
    def outages(
        request: Request,
        service: str | None = None,
        region: Annotated[
            str | None, Query(description="country code, or 'all'", pattern="^([A-Za-z]{2}|all)?$")
        ] = None,
        level: Annotated[str | None, Query(pattern="^(possible|outage)?$")] = None,
        state: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
        since: Annotated[str | None, Query(description="ISO-8601 or epoch seconds")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        q = parse_outage_query(service, region, level, state, since, cursor, limit)

        def render() -> dict[str, Any]:
            try:
                items, nxt = rt.store.incidents(
                    service=q.service,
                    region=q.region,
                    level=q.level,
                    state=q.state,
                    since=q.since,
                    cursor=q.cursor,
                    limit=q.limit,
                )
            except ValueError as exc:
                raise ApiError(422, "invalid_cursor", str(exc), "cursor") from None
            return {"outages": items, "next_cursor": nxt}

        return rendered.get(request, rt.view.version, render)

    @api.get("/v1/outages/{incident_id}", tags=["feed"], summary="One incident")
    def outage(request: Request, incident_id: str) -> Response:
        def render() -> dict[str, Any]:
            item = rt.store.incident(incident_id)
            if item is None:
                raise ApiError(404, "not_found", f"no incident {incident_id!r}")
            return {**item, "annotations": rt.annotations.of(incident_id)}

        # Both counters only grow, so their sum moves whenever either does.
        version = rt.view.version + rt.annotations.version
        return rendered.get(request, version, render)

    @api.get("/v1/services", tags=["services"], summary="Services by reports in the last hour")
    def services(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        return rendered.get(
            request, rt.view.version, lambda: {"services": services_list(rt, limit)}
        )

    @api.get("/v1/services/{service}", tags=["services"], summary="One service, last 24 h")
    def service(request: Request, service: ServicePath) -> Response:
        return rendered.get(request, rt.view.version, lambda: service_detail(rt, service))

    @api.get("/healthz", tags=["ops"], summary="Liveness and the truth about the pipeline")
    def healthz() -> JSON:
        view = rt.view
        wal_error = rt.wal.error if rt.wal is not None else None
        disk = (
            f"disk nearly full: {rt.disk_free_mb:.0f} MB free, reports refused below "
            f"{rt.settings.min_free_mb:.0f} MB"
            if rt.disk_low
            else None
        )
        error = rt.last_error or wal_error or rt.durability_error() or disk
        return JSON(
            {
                "status": "ok" if error is None else "degraded",
                "error": error,
                "disk_free_mb": None if rt.disk_free_mb is None else round(rt.disk_free_mb),
                "stream_time": iso(rt.clock.now()),
                "closed_until": iso(view.closed_until),
                "series": view.n,
                "open_incidents": sum(view.open_by_level.values()),
                # Intake's own counters, live (the rest is as of the last tick).
                "reports_accepted": rt.pipeline.reports_accepted,
                "reports_counted": rt.pipeline.reports_counted,
                # The write-ahead log: a gap in stored sequence numbers, or a log found
                # shorter than the database at start (removed, lost), is said here.
                "log_gap": rt.seq_gap,
                "log_reset": rt.wal_reset,
                # Where the file is is the operator's business, not every visitor's.
                "database": "memory" if rt.settings.data is None else "file",
            },
            status_code=200 if error is None else 503,
        )

    return api


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


def _levels(rt: Runtime) -> dict[str, dict[str | None, str]]:
    out: dict[str, dict[str | None, str]] = {}
    for d in rt.store.open_incidents():
        out.setdefault(d["service"], {})[d["region"]] = d["level"]
    return out


def _service_level(levels: dict[str | None, str]) -> str:
    return max(levels.values(), key=lambda v: LEVEL_RANK[v], default="none")


def services_list(rt: Runtime, limit: int = 100) -> list[dict[str, Any]]:
    """Services with reports in the last day or an open incident: the most troubled
    first (level, then reports in the last hour, then the last day, then name).
    Ranked with numpy so the cost stays small with thousands of services."""
    view = rt.view
    keys, hour, day = view.keys(), view.hour, view.day
    levels = {s: _service_level(v) for s, v in _levels(rt).items()}
    ids = view.wide_ids()
    leveled = np.zeros(len(ids), dtype=bool)
    if levels:
        found = [view.sid((s, None)) for s in levels]
        leveled = np.isin(ids, [i for i in found if i is not None])
    ids = ids[(day[ids] > 0) | leveled]
    names = np.array([keys[i][0] for i in ids.tolist()], dtype=object)
    rank = np.array([LEVEL_RANK[levels.get(n, "none")] for n in names], dtype=np.int64)
    top = np.lexsort((names, -day[ids], -hour[ids], -rank))[:limit]
    learning = view.is_learning
    return [
        {
            "service": names[j],
            "level": levels.get(names[j], "none"),
            "learning": learning(int(ids[j])),
            "reports_1h": int(hour[ids[j]]),
            "reports_24h": int(day[ids[j]]),
        }
        for j in top.tolist()
    ]


def service_detail(rt: Runtime, service: str) -> dict[str, Any]:
    if SERVICE_RE.fullmatch(service) is None:
        raise ApiError(422, "invalid_service", "service must be a lower-case slug", "service")
    now = rt.clock.now()
    width = rt.settings.bucket_seconds
    view = rt.view
    keys, hour, day = view.keys(), view.hour, view.day
    sid = view.sid((service, None))
    # Not in the view: unknown, or registered by the writer since, nothing counted yet.
    if sid is None:
        raise ApiError(404, "unknown_service", f"no reports for {service!r} yet")
    open_items, _ = rt.store.incidents(service=service, state="open", limit=100)
    levels = {d["region"]: d["level"] for d in open_items}
    series = _series_points(view, sid)
    problems = rt.store.top_problems(service, now - 3600)
    regions = sorted(
        ((k[1], int(day[i])) for i, k in enumerate(keys) if k[0] == service and k[1] and day[i]),
        key=lambda rn: (-rn[1], rn[0]),
    )
    total = sum(n for _, n in problems) or 1
    return {
        "service": service,
        "level": _service_level(levels),
        # No baseline yet (the system or this service has not seen a day): "none" then
        # means nothing overwhelming, not "at the usual level".
        "learning": view.is_learning(sid),
        "bucket_seconds": width,
        "reports_1h": int(hour[sid]),
        "reports_24h": int(day[sid]),
        "open_incidents": open_items,
        "series": series,
        "top_problems": [
            {"problem": p, "share": round(n / total, 3), "reports": n} for p, n in problems[:6]
        ],
        "regions": [{"region": r, "reports": n, "level": levels.get(r)} for r, n in regions[:30]],
    }


def _series_points(view: ReadView, sid: int) -> list[dict[str, Any]]:
    starts, counts, expected, levels = view.points(sid)
    r = 1.0 / view.dispersion(sid)
    mu = np.maximum(expected, 1e-6)
    upper = stats.nbinom.ppf(0.999, r, r / (r + mu))
    names = ("", "possible", "outage")
    # Vectorised: a day at 1-minute buckets is 1,440 points, and per-point strftime and
    # float conversions were most of a status page's cost.
    stamps = np.datetime_as_string(starts.astype("datetime64[s]"), unit="s").tolist()
    return [
        {"ts": t + "Z", "count": c, "expected": e, "upper": u, "level": names[lv]}
        for t, c, e, u, lv in zip(
            stamps,
            counts.astype(np.int64).tolist(),
            np.round(expected, 3).tolist(),
            np.asarray(upper, dtype=np.float64).tolist(),
            levels.tolist(),
            strict=True,
        )
    ]
