"""What `GET /v1/outages` asks, parsed once, for every server that answers it.

The embedded server answers from DuckDB (`Store.incidents`), a NATS intake node from
the incidents it follows in JetStream (`select`); both take the same `OutageQuery`,
refuse the same bad input and give the same order (newest opening first, then id) and
the same cursors, so a client cannot tell which one it asked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from outagewatch.app.errors import ApiError
from outagewatch.ingest.store import decode_cursor, encode_cursor
from outagewatch.ingest.windows import parse_iso

LEVELS = ("possible", "outage")
STATES = ("open", "resolved", "all")
# Times a query may name: 1970 to the end of 9999 (what ISO-8601 and our timestamps show).
EPOCH_MAX = 253_402_300_799.0
SINCE_RANGE = "between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"


@dataclass(frozen=True)
class OutageQuery:
    service: str | None = None
    region: str | None = None  # an upper-case country code, or "all" (service-wide only)
    level: str | None = None
    state: str | None = "open"  # None: every state
    since: float | None = None  # incidents still going at or after this time
    cursor: str | None = None
    limit: int = 50


def parse_outage_query(
    service: str | None = None,
    region: str | None = None,
    level: str | None = None,
    state: str = "open",
    since: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> OutageQuery:
    """Validate and normalise; raises ApiError (422) naming what to fix.

    >>> parse_outage_query(region="de", state="all", since="1793577600").region
    'DE'
    >>> parse_outage_query(service="", level="").service is None  # forms send empty fields
    True
    """
    # An empty filter (?service=) is no filter, as forms send it.
    service, region, level, since, cursor = (
        v or None for v in (service, region, level, since, cursor)
    )
    if level is not None and level not in LEVELS:
        raise ApiError(422, "invalid_level", "level must be possible or outage", "level")
    if state not in STATES:
        raise ApiError(422, "invalid_state", "state must be open, resolved or all", "state")
    if region is not None and region != "all":
        region = region.upper()
    if cursor is not None:
        _check_cursor(cursor)
    return OutageQuery(
        service=service,
        region=region,
        level=level,
        state=None if state == "all" else state,
        since=parse_since(since),
        cursor=cursor,
        limit=limit,
    )


def parse_since(text: str | None, field: str = "since") -> float | None:
    """Epoch seconds or ISO-8601 with a zone, finite and within SINCE_RANGE; an error
    names `field`, the query parameter the text came from (`since`, `from`, `to`)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_iso(text)
        except (ValueError, OverflowError):
            raise ApiError(
                422,
                f"invalid_{field}",
                f"{field} must be ISO-8601 with a zone (2026-11-02T10:00:00Z) or epoch seconds",
                field,
            ) from None
    if not math.isfinite(value) or not 0.0 <= value <= EPOCH_MAX:
        raise ApiError(
            422,
            f"invalid_{field}",
            f"{field} must be a time {SINCE_RANGE} (ISO-8601 with a zone, or epoch seconds)",
            field,
        )
    return value


def _check_cursor(cursor: str) -> None:
    """A cursor is opaque, but it is read from the request: its time must be one a
    page of ours could have ended on."""
    try:
        at, _ = decode_cursor(cursor)
    except ValueError as exc:
        raise ApiError(422, "invalid_cursor", str(exc), "cursor") from None
    if not math.isfinite(at) or not 0.0 <= at <= EPOCH_MAX:
        raise ApiError(
            422, "invalid_cursor", "cursor is not one this server gave out; start without it",
            "cursor",
        )  # fmt: skip


def select(
    q: OutageQuery, incidents: Iterable[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str | None]:
    """The page `q` asks for from feed objects held in memory; `Store.incidents` in SQL."""
    after = decode_cursor(q.cursor) if q.cursor is not None else None
    found: list[tuple[float, str, dict[str, Any]]] = []
    for inc in incidents:
        if q.service is not None and inc["service"] != q.service:
            continue
        if q.region == "all" and inc["region"] is not None:
            continue
        if q.region not in (None, "all") and inc["region"] != q.region:
            continue
        if (q.level is not None and inc["level"] != q.level) or (
            q.state is not None and inc["state"] != q.state
        ):
            continue
        ended = inc["ended_at"]
        if q.since is not None and ended is not None and parse_iso(ended) < q.since:
            continue
        at = parse_iso(inc["opened_at"])
        if after is not None and (at, inc["id"]) >= after:
            continue
        found.append((at, inc["id"], inc))
    found.sort(key=lambda f: (f[0], f[1]), reverse=True)
    page = found[: q.limit]
    more = len(found) > q.limit
    nxt = encode_cursor(page[-1][0], page[-1][1]) if more and page else None
    return [f[2] for f in page], nxt
