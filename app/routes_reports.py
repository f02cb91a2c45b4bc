"""Report intake: POST /v1/reports (documented here, served by the fast path in front,
app/fastpath.py) and the trusted bulk import, POST /v1/import (API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.errors import ApiError
from outagewatch.app.idempotency import IdempotencyError, ImportKeys, body_hash
from outagewatch.app.import_body import parse_import_body
from outagewatch.app.imports import import_batch
from outagewatch.app.intake import Intake
from outagewatch.app.runtime import Runtime

IMPORT_DOC = """Rows in minutes the detector has already closed are stored but not counted
(closed minutes are not re-aggregated): the answer says how many (`too_late`) and from
when (`closed_before`). Send `Idempotency-Key: <a new UUID per import>` to make a retry
safe: a retried import with the same key counts nothing again and gets the first
answer. Answers 503 (nothing counted) when the reports cannot be made durable."""


def router(rt: Runtime, intake: Intake) -> APIRouter:
    api = APIRouter()
    needs_key = admin_key(rt)  # `dependencies=` of the routes that need an API key
    imports = ImportKeys(rt.store, rt.replayed_imports)

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
        if (held := rt.held_back_error()) is not None:
            raise ApiError(503, "unavailable", held, headers={"Retry-After": "30"})
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
        df = parse_import_body(body)
        answer, stored = await import_batch(rt, df, key, digest)
        if key is not None:
            imports.keep(key, stored)
        return answer

    return api
