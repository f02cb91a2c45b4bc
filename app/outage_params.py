"""The query parameters of `/v1/outages` and its grouped view, declared once for every
server that answers them (the embedded one and a NATS intake node): the same names,
patterns and limits in the API description, and the same parsing (app/outage_query.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from outagewatch.app.outage_query import OutageQuery, parse_outage_query


def outage_params(
    service: str | None = None,
    region: Annotated[
        str | None, Query(description="country code, or 'all'", pattern="^([A-Za-z]{2}|all)?$")
    ] = None,
    level: Annotated[str | None, Query(pattern="^(possible|outage)?$")] = None,
    state: Annotated[str, Query(pattern="^(open|resolved|all)$")] = "open",
    since: Annotated[str | None, Query(description="ISO-8601 or epoch seconds")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OutageQuery:
    return parse_outage_query(service, region, level, state, since, cursor, limit)


OutageParams = Annotated[OutageQuery, Depends(outage_params)]
