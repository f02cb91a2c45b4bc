"""Admin endpoints (API key): the service catalog and incident annotations.

The catalog is readable by anyone (a report form needs the list); changing it, and
annotating incidents, needs a key.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.annotations import MAX_AUTHOR, MAX_TEXT
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.errors import ApiError
from outagewatch.app.responses import JSON
from outagewatch.app.routes_live import json_object
from outagewatch.app.runtime import Runtime
from outagewatch.app.schemas import ServicePath
from outagewatch.ingest.dependencies import DependencyError
from outagewatch.ingest.report import ReportError, check_service

Key = Annotated[str | None, Header()]


def router(rt: Runtime) -> APIRouter:
    admin = APIRouter()
    needs_key = admin_key(rt)  # `dependencies=` of the routes that need an API key

    @admin.get(
        "/v1/catalog",
        tags=["catalog"],
        summary="Services the public intake accepts",
        responses={200: schemas.model(schemas.Catalog)},
    )
    def catalog() -> JSON:
        return JSON(
            {
                "accept_unknown_services": rt.catalog.policy.accept_unknown,
                "services": rt.catalog.list(),
            }
        )

    @admin.put(
        "/v1/catalog/{service}",
        dependencies=needs_key,
        tags=["catalog"],
        summary="Add a service (API key)",
        openapi_extra=schemas.body(schemas.CATALOG_ENTRY, required=False),
        responses={
            201: schemas.model(schemas.CatalogEntry, "Added"),
            200: schemas.model(schemas.CatalogEntry, "Updated"),
        },
    )
    async def put_service(
        request: Request, service: ServicePath, authorization: Key = None, x_api_key: Key = None
    ) -> JSON:
        slug = _slug(service)
        raw = await request.body()
        body = json_object(raw) if raw.strip() else {}
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not 0 < len(name) <= 100):
            raise ApiError(422, "invalid_name", "name must be a string of 1-100 characters", "name")
        providers = None
        if "providers" in body:
            try:
                providers = rt.catalog.check_providers(slug, body["providers"])
            except DependencyError as exc:
                raise ApiError(422, exc.code, exc.message, "providers") from None
        # Written by the writer thread; the event loop awaits it (ingest/write_queue.py).
        now = rt.clock.now()
        created = await asyncio.to_thread(rt.catalog.put, slug, name, now, providers)
        declared = list(rt.catalog.providers.get(slug, ()))
        return JSON(
            {"service": slug, "name": name, "providers": declared},
            status_code=201 if created else 200,
        )

    @admin.delete(
        "/v1/catalog/{service}",
        status_code=204,
        tags=["catalog"],
        summary="Remove (API key)",
        dependencies=needs_key,
        responses={409: schemas.model(schemas.ErrorBody, "Other services declare it a provider")},
    )
    def delete_service(
        request: Request, service: ServicePath, authorization: Key = None, x_api_key: Key = None
    ) -> Response:
        try:
            gone = rt.catalog.remove(_slug(service))
        except DependencyError as exc:
            raise ApiError(409, exc.code, exc.message) from None
        if not gone:
            raise ApiError(404, "not_found", f"service {service!r} is not in the catalog")
        return Response(status_code=204)

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


def _slug(service: str) -> str:
    try:
        return check_service(service)
    except ReportError as exc:
        raise ApiError(422, exc.code, exc.message, "service") from None


def _incident(rt: Runtime, incident_id: str) -> dict[str, Any]:
    item = rt.store.incident(incident_id)
    if item is None:
        raise ApiError(404, "not_found", f"no incident {incident_id!r}")
    return item
