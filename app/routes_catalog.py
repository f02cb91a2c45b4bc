"""The service catalog: readable by anyone (a report form needs the list); changing it
needs an API key. Served alike by the embedded server and NATS intake nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.auth import Keyed
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.errors import ApiError
from outagewatch.app.responses import JSON
from outagewatch.app.routes_live import json_object
from outagewatch.app.schemas import ServicePath
from outagewatch.ingest.catalog import Catalog
from outagewatch.ingest.dependencies import DependencyError
from outagewatch.ingest.report import ReportError, check_service

Key = Annotated[str | None, Header()]


class Catalogue(Protocol):
    """Where the catalog is kept: DuckDB (app/catalog.py) or, over the bundled list, a
    NATS KV bucket (app/broker/catalog.py). `put` and `remove` block: routes call them
    off the loop."""

    @property
    def policy(self) -> Catalog: ...
    @property
    def providers(self) -> Mapping[str, tuple[str, ...]]: ...
    def check_providers(self, service: str, providers: object) -> tuple[str, ...]: ...
    def put(
        self, service: str, name: str | None, now: float, providers: tuple[str, ...] | None
    ) -> bool: ...
    def remove(self, service: str) -> bool: ...
    def list(self) -> list[dict[str, Any]]: ...


class Host(Keyed, Protocol):
    """The embedded server's Runtime, or a NATS intake node."""

    @property
    def catalog(self) -> Catalogue: ...


def router(rt: Host) -> APIRouter:
    routes = APIRouter(tags=["catalog"])
    needs_key = admin_key(rt)

    @routes.get(
        "/v1/catalog",
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

    @routes.put(
        "/v1/catalog/{service}",
        dependencies=needs_key,
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
        # Written by the writer thread (or to KV); the event loop awaits it.
        now = rt.clock.now()
        created = await asyncio.to_thread(rt.catalog.put, slug, name, now, providers)
        declared = list(rt.catalog.providers.get(slug, ()))
        return JSON(
            {"service": slug, "name": name, "providers": declared},
            status_code=201 if created else 200,
        )

    @routes.delete(
        "/v1/catalog/{service}",
        status_code=204,
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

    return routes


def _slug(service: str) -> str:
    try:
        return check_service(service)
    except ReportError as exc:
        raise ApiError(422, exc.code, exc.message, "service") from None
