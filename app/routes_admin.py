"""Admin endpoints: incident annotations, read by anyone, added with an API key.
(The catalog's routes: app/routes_catalog.py.)"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from outagewatch.app import schemas
from outagewatch.app.annotations import MAX_AUTHOR, MAX_TEXT
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.errors import ApiError
from outagewatch.app.responses import JSON
from outagewatch.app.routes_live import json_object
from outagewatch.app.runtime import Runtime

Key = Annotated[str | None, Header()]


def router(rt: Runtime) -> APIRouter:
    admin = APIRouter()
    needs_key = admin_key(rt)  # `dependencies=` of the routes that need an API key

    @admin.get(
        "/v1/outages/{incident_id}/annotations",
        tags=["feed"],
        summary="Operators' notes",
        responses={200: schemas.model(schemas.Annotations)},
    )
    def annotations(incident_id: str) -> JSON:
        _incident(rt, incident_id)
        return JSON({"annotations": rt.annotations.of(incident_id)})

    @admin.post(
        "/v1/outages/{incident_id}/annotations",
        dependencies=needs_key,
        status_code=201,
        tags=["feed"],
        summary="Annotate an incident (API key)",
        openapi_extra=schemas.body(schemas.ANNOTATION),
        responses={201: schemas.model(schemas.Annotation, "Added")},
    )
    async def annotate(
        request: Request, incident_id: str, authorization: Key = None, x_api_key: Key = None
    ) -> JSON:
        _incident(rt, incident_id)
        body = json_object(await request.body())
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ApiError(
                422, "invalid_text", f"text must be a non-empty string of <= {MAX_TEXT}", "text"
            )
        author = body.get("author")
        if author is not None and (not isinstance(author, str) or len(author) > MAX_AUTHOR):
            raise ApiError(
                422, "invalid_author", f"author must be a string of <= {MAX_AUTHOR}", "author"
            )
        now = rt.clock.now()
        note = await asyncio.to_thread(rt.annotations.add, incident_id, text.strip(), author, now)
        return JSON(note, status_code=201)

    return admin


def _incident(rt: Runtime, incident_id: str) -> dict[str, Any]:
    item = rt.store.incident(incident_id)
    if item is None:
        raise ApiError(404, "not_found", f"no incident {incident_id!r}")
    return item
