"""Planned maintenance windows, and the one rule that says whether an incident falls in
one. Pure (no clock, no settings, no database): the live server (app/maintenance.py), NATS
workers and intake nodes (app/broker/windows.py) and `outagewatch replay --maintenance`
decide with the same functions, so they mark and list alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from outagewatch.ingest.windows import iso


@dataclass(frozen=True, slots=True)
class Window:
    id: str
    service: str
    region: str | None  # None: every series of the service, service-wide and regional
    starts_at: float  # epoch seconds; the window is [starts_at, ends_at)
    ends_at: float
    note: str

    def public(self) -> dict[str, Any]:
        """The window as the API shows it."""
        return {
            "id": self.id,
            "service": self.service,
            "region": self.region,
            "starts_at": iso(self.starts_at),
            "ends_at": iso(self.ends_at),
            "note": self.note,
        }

    def mark(self) -> dict[str, Any]:
        """The `maintenance` field of an incident it covers."""
        return {"id": self.id, "note": self.note, "ends_at": iso(self.ends_at)}


def in_maintenance(
    windows: Iterable[Window], series: tuple[str, str | None], at: float
) -> Window | None:
    """The window covering an incident of `series` (service, region) that started at
    `at`, or None. A window without a region covers the service-wide series and every
    region; one with a region covers that region's series only (a service-wide incident
    may be wider than the work). When several cover it, the one ending last wins (then
    the smallest id), so the answer does not depend on the order they are given in.

    >>> w = Window("mw_1", "aws", None, 100.0, 200.0, "database upgrade")
    >>> in_maintenance([w], ("aws", "IT"), 150.0).mark()
    {'id': 'mw_1', 'note': 'database upgrade', 'ends_at': '1970-01-01T00:03:20Z'}
    >>> in_maintenance([w], ("aws", None), 200.0) is None  # the end is not inside
    True
    >>> it = Window("mw_2", "aws", "IT", 0.0, 300.0, "")
    >>> in_maintenance([it], ("aws", None), 150.0), in_maintenance([it], ("aws", "IT"), 0.0).id
    (None, 'mw_2')
    >>> in_maintenance([it, w], ("aws", "IT"), 150.0).id
    'mw_2'
    """
    service, region = series
    best: Window | None = None
    for w in windows:
        if w.service != service or not w.starts_at <= at < w.ends_at:
            continue
        if w.region is not None and w.region != region:
            continue
        if best is None or (w.ends_at, best.id) > (best.ends_at, w.id):
            best = w
    return best


def upcoming(windows: Iterable[Window], now: float, service: str | None = None) -> list[Window]:
    """Current and future windows (of one service), soonest first: what
    GET /v1/maintenance lists, on the server and on a NATS intake node alike.

    >>> later = Window("mw_2", "aws", None, 300.0, 400.0, "")
    >>> gone = Window("mw_1", "aws", None, 0.0, 100.0, "")
    >>> [w.id for w in upcoming([later, gone], 150.0)], upcoming([later], 150.0, "gcp")
    (['mw_2'], [])
    """
    return sorted(
        (w for w in windows if w.ends_at > now and service in (None, w.service)),
        key=lambda w: (w.starts_at, w.id),
    )
