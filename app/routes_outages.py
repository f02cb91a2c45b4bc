"""The outage feed: incidents, newest first, and one incident with its annotations.
Reads come from DuckDB and the view the writer publishes after each tick."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.errors import ApiError
from outagewatch.app.outage_params import OutageParams
from outagewatch.app.responses import Rendered
from outagewatch.app.runtime import Runtime


def router(rt: Runtime) -> APIRouter:
    api = APIRouter()
    rendered = Rendered()

    @api.get(
        "/v1/outages",
        tags=["feed"],
        summary="Incidents, newest first (open by default)",
        responses={200: schemas.model(schemas.Outages)},
    )
    def outages(
        request: Request,
        q: OutageParams,
    ) -> Response:

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

    @api.get(
        "/v1/outages/{incident_id}",
        tags=["feed"],
        summary="One incident",
        responses={200: schemas.model(schemas.IncidentWithNotes)},
    )
    def outage(request: Request, incident_id: str) -> Response:
        def render() -> dict[str, Any]:
            item = rt.store.incident(incident_id)
            if item is None:
                raise ApiError(404, "not_found", f"no incident {incident_id!r}")
            return {**item, "annotations": rt.annotations.of(incident_id)}

        # Both counters only grow, so their sum moves whenever either does.
        version = rt.view.version + rt.annotations.version
        return rendered.get(request, version, render)

    return api
