"""The outage feed: incidents, newest first, and one incident with its annotations.
Reads come from DuckDB and the view the writer publishes after each tick."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.errors import ApiError
from outagewatch.app.outage_query import parse_outage_query
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
