"""Gaps in the write-ahead log's sequence numbers (app/log_gaps.py): listed, and
acknowledged by an operator, with an API key."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from outagewatch.app import schemas
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.errors import ApiError
from outagewatch.app.responses import JSON
from outagewatch.app.routes_live import json_object
from outagewatch.app.runtime import Runtime
from outagewatch.ingest.windows import iso

MAX_NOTE = 500


def router(rt: Runtime) -> APIRouter:
    routes = APIRouter(tags=["ops"])
    needs_key = admin_key(rt)

    @routes.get(
        "/v1/log-gaps",
        dependencies=needs_key,
        summary="Sequence numbers lost for good: the current gap and those acknowledged (API key)",
        responses={200: schemas.model(schemas.LogGaps)},
    )
    def listing() -> JSON:
        return JSON(_gaps(rt))

    @routes.post(
        "/v1/log-gaps",
        dependencies=needs_key,
        summary="Acknowledge the log gap or log reset /healthz reports (API key): "
        "a gap is recorded, then both are cleared",
        openapi_extra=schemas.body(schemas.LOG_GAP_ACK, required=False),
        responses={200: schemas.model(schemas.LogGaps, "Recorded")},
    )
    async def acknowledge(request: Request) -> JSON:
        raw = await request.body()
        note = json_object(raw).get("note") if raw.strip() else None
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
            raise ApiError(
                422, "invalid_note", f"note must be text of at most {MAX_NOTE} characters", "note"
            )
        if not await asyncio.to_thread(rt.acknowledge_gap, note or ""):
            raise ApiError(
                409,
                "no_log_gap",
                "there is nothing to acknowledge: /healthz reports no log gap or log reset",
            )
        return JSON(_gaps(rt))

    return routes


def _gaps(rt: Runtime) -> dict[str, Any]:
    return {
        "current": rt.seq_gap,
        "log_reset": rt.wal_reset,
        "acknowledged": [
            {"first_seq": a, "last_seq": b, "acknowledged_at": iso(t), "note": n}
            for a, b, t, n in rt.store.seq_gaps()
        ],
    }
