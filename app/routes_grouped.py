"""`GET /v1/outages/grouped`: the incidents `/v1/outages` lists for the same filters, as
one entry per outage (app/outage_groups.py). `/v1/outages` itself keeps one object per
series, as the contract says.

Included before the JSON API router: /v1/outages/grouped must win over /v1/outages/{id}.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.outage_groups import group_incidents, page_of
from outagewatch.app.outage_params import OutageParams
from outagewatch.app.outage_query import OutageQuery, select
from outagewatch.app.responses import Rendered

if TYPE_CHECKING:  # a NATS intake node imports answer() and has no runtime
    from outagewatch.app.runtime import Runtime
    from outagewatch.ingest.store import Store

# Groups are made from every matching incident, not from one page of them (a page
# boundary would split an outage): at most this many, the newest.
SCAN_LIMIT = 5000
SCAN_PAGE = 500

DESCRIPTION = """The same filters and paging as `/v1/outages`; the incidents they match
(the newest 5,000 at most) are grouped: a service's service-wide and regional incidents
that overlap in time are one entry naming its regions (worst level first), and services
whose incidents the detector linked to a root service's outage (`related`) join its
entry as `dependants`. `next_cursor` pages the groups, newest opened first."""


def matching(store: Store, q: OutageQuery) -> list[dict[str, Any]]:
    """Every incident the query's filters match, newest first, up to SCAN_LIMIT."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < SCAN_LIMIT:
        items, cursor = store.incidents(
            service=q.service,
            region=q.region,
            level=q.level,
            state=q.state,
            since=q.since,
            cursor=cursor,
            limit=min(SCAN_PAGE, SCAN_LIMIT - len(found)),
        )
        found += items
        if cursor is None:
            break
    return found


def held(q: OutageQuery, incidents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`matching` for incidents held in memory (a NATS intake node's), by the same select."""
    items, _ = select(replace(q, cursor=None, limit=SCAN_LIMIT), incidents)
    return items


def answer(q: OutageQuery, incidents: list[dict[str, Any]]) -> dict[str, Any]:
    """The page of groups `q` asks for, from the incidents its filters matched."""
    groups, nxt = page_of(group_incidents(incidents), q.cursor, q.limit)
    return {"outages": [g.as_dict() for g in groups], "next_cursor": nxt}


def router(rt: Runtime) -> APIRouter:
    out = APIRouter()
    rendered = Rendered(size=256)

    @out.get(
        "/v1/outages/grouped",
        tags=["feed"],
        summary="Outages for people: one entry per outage, with its regions and dependants",
        description=DESCRIPTION,
        responses={200: schemas.model(schemas.GroupedOutages)},
    )
    def grouped(
        request: Request,
        q: OutageParams,
    ) -> Response:

        def render() -> dict[str, Any]:
            return answer(q, matching(rt.store, q))

        return rendered.get(request, rt.view.version, render)

    return out
