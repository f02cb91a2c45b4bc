"""Atom 1.0 and JSON Feed 1.1 of the outages, one entry per outage: for everything
(`/v1/outages.atom`, `/v1/outages.feed.json`) and for one service, optionally in one
region (`/v1/services/{service}/outages.atom|json?region=DE`). One path for all four:
the global feeds honour `?service=` and `?region=` through the same channel (with
`?service=` they are that service's feed, whose canonical address is its own).

Included before the JSON API router: /v1/outages.atom must win over /v1/outages/{id}.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from outagewatch.app import schemas
from outagewatch.app.errors import ApiError
from outagewatch.app.faces import feeds
from outagewatch.app.faces.http import vary
from outagewatch.app.i18n import reader_text
from outagewatch.app.outage_groups import group_incidents
from outagewatch.app.responses import etagged
from outagewatch.app.runtime import Runtime
from outagewatch.app.schemas import ServicePath
from outagewatch.ingest.regions import REGIONS
from outagewatch.ingest.report import SERVICE_RE, check_region
from outagewatch.ingest.windows import iso

FEED_LIMIT = 100  # incidents read for one feed, newest first, then grouped
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"
# The schema lists the codes; the check (check_region) also takes them in lower case.
RegionQuery = Annotated[
    str | None,
    Query(
        description="a country code (ISO 3166-1 alpha-2), such as DE; empty: every region",
        json_schema_extra={"enum": ["", *sorted(REGIONS)]},
    ),
]

# The global feeds take `?service=` too: the same feed as /v1/services/{service}/outages.*
ServiceQuery = Annotated[
    str | None,
    Query(
        pattern=f"^{SERVICE_RE.pattern}$",
        description="a service slug, such as amazon: that service's outages only",
    ),
]


def router(rt: Runtime) -> APIRouter:
    out = APIRouter()
    # Absolute links from settings, never from the request's Host header: feeds are
    # cached publicly, and a forged Host would be served to others.
    base = rt.settings.base_url

    def feed(request: Request, kind: str, channel: feeds.Channel) -> Response:
        items, _ = rt.store.incidents(
            service=channel.service, region=channel.region, state=None, limit=FEED_LIMIT
        )
        groups = group_incidents(items)
        # The entries' newest operators' notes: in the body, so the ETag moves with them.
        notes = rt.annotations.latest([str(i["id"]) for i in items])
        t = reader_text(request, rt.settings.language)
        if kind == "atom":
            now = iso(rt.clock.now()) or ""
            body = feeds.atom(groups, base, now, t, channel, notes, rt.catalog.names)
            return vary(etagged(request, body, ATOM))
        body = feeds.json_feed(groups, base, t, channel, notes, rt.catalog.names)
        return vary(etagged(request, body, JSON_FEED))

    def channel_of(service: str | None, region: str | None) -> feeds.Channel:
        """Which outages a feed follows: a service we know (in the catalog or reported),
        or all of them; in a real country code, or everywhere."""
        if service is None:
            return feeds.Channel(None, check_region(region))
        if service not in rt.catalog.policy and rt.view.sid((service, None)) is None:
            raise ApiError(
                404,
                "unknown_service",
                f"no service {service!r}: check the name (GET /v1/services lists them)",
                "service",
            )
        return feeds.Channel(service, check_region(region))

    @out.get(
        "/v1/outages.atom",
        tags=["feed"],
        summary="Recent outages as Atom 1.0, one entry per outage (optionally of one "
        "service, in one region)",
        response_class=Response,
        responses=schemas.returns("application/atom+xml", "Atom"),
    )
    def atom(
        request: Request, service: ServiceQuery = None, region: RegionQuery = None
    ) -> Response:
        return feed(request, "atom", channel_of(service, region))

    @out.get(
        "/v1/outages.feed.json",
        tags=["feed"],
        summary="Recent outages, JSON Feed 1.1, one item per outage (optionally of one "
        "service, in one region)",
        response_class=Response,
        responses=schemas.returns("application/feed+json", "JSON Feed", {"type": "object"}),
    )
    def json_feed(
        request: Request, service: ServiceQuery = None, region: RegionQuery = None
    ) -> Response:
        return feed(request, "json", channel_of(service, region))

    @out.get(
        "/v1/services/{service}/outages.atom",
        tags=["feed"],
        summary="One service's recent outages as Atom 1.0 (optionally in one region)",
        response_class=Response,
        responses=schemas.returns("application/atom+xml", "Atom"),
    )
    def service_atom(
        request: Request, service: ServicePath, region: RegionQuery = None
    ) -> Response:
        return feed(request, "atom", channel_of(service, region))

    @out.get(
        "/v1/services/{service}/outages.json",
        tags=["feed"],
        summary="One service's recent outages, JSON Feed 1.1 (optionally in one region)",
        response_class=Response,
        responses=schemas.returns("application/feed+json", "JSON Feed", {"type": "object"}),
    )
    def service_json(
        request: Request, service: ServicePath, region: RegionQuery = None
    ) -> Response:
        return feed(request, "json", channel_of(service, region))

    return out
