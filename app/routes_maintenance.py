"""Planned maintenance windows: declared and withdrawn with an API key, listed for
anyone (status pages and people's scripts show what is coming)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.auth import Keyed
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.errors import ApiError
from outagewatch.app.maintenance import check_window, new_id
from outagewatch.app.maintenance_windows import Window
from outagewatch.app.responses import JSON
from outagewatch.app.routes_catalog import Catalogue
from outagewatch.app.routes_live import json_object
from outagewatch.ingest.report import SERVICE_RE


class Windows(Protocol):
    """Where windows are kept: DuckDB (app/maintenance.py) or a NATS KV bucket
    (app/broker/windows.py). `add` and `remove` block: routes call them off the loop."""

    def add(self, window: Window, now: float) -> None: ...
    def remove(self, window_id: str) -> bool: ...
    def upcoming(self, now: float, service: str | None = None) -> list[Window]: ...


class Host(Keyed, Protocol):
    """The embedded server's Runtime, or a NATS intake node."""

    @property
    def catalog(self) -> Catalogue: ...
    @property
    def maintenance(self) -> Windows: ...


def router(rt: Host) -> APIRouter:
    routes = APIRouter(tags=["maintenance"])
    needs_key = admin_key(rt)

    @routes.get(
        "/v1/maintenance",
        summary="Current and upcoming maintenance windows",
        responses={200: schemas.model(schemas.MaintenanceWindows)},
    )
    def listing(
        service: Annotated[
            str | None,
            Query(description="one service's windows", pattern=f"^({SERVICE_RE.pattern})?$"),
        ] = None,
    ) -> JSON:
        windows = rt.maintenance.upcoming(rt.clock.now(), service or None)  # empty: all
        return JSON({"maintenance": [w.public() for w in windows]})

    @routes.post(
        "/v1/maintenance",
        dependencies=needs_key,
        status_code=201,
        summary="Declare a maintenance window (API key)",
        openapi_extra=schemas.body(schemas.MAINTENANCE),
        responses={201: schemas.model(schemas.MaintenanceWindow, "Declared")},
    )
    async def declare(request: Request) -> JSON:
        now = rt.clock.now()
        window = check_window(json_object(await request.body()), new_id(), now)
        policy = rt.catalog.policy
        if not policy.accept_unknown and window.service not in policy:
            raise ApiError(
                422,
                "unknown_service",
                f"service {window.service!r} is not in the catalog: add it first "
                f"(PUT /v1/catalog/{window.service})",
                "service",
            )
        await asyncio.to_thread(rt.maintenance.add, window, now)  # by the writer thread
        return JSON(window.public(), status_code=201)

    @routes.delete(
        "/v1/maintenance/{window_id}",
        dependencies=needs_key,
        status_code=204,
        summary="Withdraw a window (API key)",
    )
    def withdraw(window_id: str) -> Response:
        if not rt.maintenance.remove(window_id):
            raise ApiError(404, "not_found", f"no maintenance window {window_id[:40]!r}")
        return Response(status_code=204)

    return routes
