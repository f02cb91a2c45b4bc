"""One entry per outage: incidents (the feed objects of `/v1/outages`) grouped for people.

The detector watches every series on its own, so one provider's outage is a
service-wide incident plus one per region, and its dependants' incidents beside it.
People want one entry. Two steps, both pure (no web framework, no clock):

1. Per service, incidents whose times overlap become one `ServiceOutage` that names
   its regions (worst level first).
2. A cascade: a service in a service-wide outage is a root; another service's entry
   that overlaps it in time and whose incidents name the root in `related` (the
   detector links incidents opened within `related_window_s` of each other) joins the
   root's `OutageGroup` as a dependant. When two services are both in a service-wide
   outage, the one that started first is the root.

Every incident lands in exactly one group (tests/test_outage_groups.py checks it with
hypothesis). Times are the feed's ISO strings (UTC, second precision, `Z`), which
compare as text.

>>> def inc(id, service, region, level, start, end=None, related=()):
...     return {"id": id, "service": service, "region": region, "level": level,
...             "state": "open" if end is None else "resolved", "started_at": start,
...             "opened_at": start, "confirmed_at": None, "ended_at": end,
...             "resolved_at": end, "total_reports": 10, "related": list(related)}
>>> t = "2026-11-02T10:0{}:00Z".format
>>> found = group_incidents([
...     inc("a1", "aws", None, "outage", t(0), related=["shop"]),
...     inc("a2", "aws", "DE", "possible", t(1)),
...     inc("a3", "aws", "US", "outage", t(2)),
...     inc("s1", "shop", None, "possible", t(3), related=["aws"]),
...     inc("x1", "mail", None, "possible", t(1), t(5)),
... ])
>>> [(g.service, g.level, g.state, [s.service for s in g.dependants]) for g in found]
[('mail', 'possible', 'resolved', []), ('aws', 'outage', 'open', ['shop'])]
>>> found[1].root.regions
(('US', 'outage', 10), ('DE', 'possible', 10))
>>> found[1].id, found[1].started_at, found[1].ended_at
('a1', '2026-11-02T10:00:00Z', None)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from outagewatch.ingest.store import decode_cursor, encode_cursor
from outagewatch.ingest.windows import parse_iso

Incident = dict[str, Any]
RANK = {"possible": 1, "outage": 2}
# (region, level, reports) of one service's regional incidents.
RegionLevel = tuple[str, str, int]


def rank(level: str) -> int:
    return RANK.get(level, 0)


def updated(inc: Incident) -> str:
    """The latest moment the incident changed; ISO strings in UTC compare as text."""
    stamps = [str(inc[k]) for k in ("opened_at", "confirmed_at", "ended_at") if inc.get(k)]
    return max(stamps)


def end_of(inc: Incident) -> str | None:
    """When the incident's excess reports ended; None while it is open."""
    if inc.get("state") == "open":
        return None
    return str(inc.get("ended_at") or inc.get("resolved_at") or inc["started_at"])


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two ends, None (still going) beating any time."""
    return None if a is None or b is None else max(a, b)


@dataclass(frozen=True)
class ServiceOutage:
    """One service's incidents that overlap in time: service-wide and regional (immutable,
    so what is derived from them is computed once)."""

    service: str
    incidents: tuple[Incident, ...]

    @cached_property
    def level(self) -> str:
        return str(max((i["level"] for i in self.incidents), key=rank))

    @cached_property
    def state(self) -> str:
        return "open" if any(i["state"] == "open" for i in self.incidents) else "resolved"

    @cached_property
    def started_at(self) -> str:
        return min(str(i["started_at"]) for i in self.incidents)

    @cached_property
    def opened_at(self) -> str:
        return min(str(i["opened_at"]) for i in self.incidents)

    @cached_property
    def ended_at(self) -> str | None:
        ends = [end_of(i) for i in self.incidents]
        return None if None in ends else max(str(e) for e in ends)

    @cached_property
    def updated(self) -> str:
        return max(updated(i) for i in self.incidents)

    @cached_property
    def total_reports(self) -> int:
        """The service-wide incidents' totals where there are any (they already count
        every region's reports), else the regional incidents' sum."""
        wide = [i for i in self.incidents if i["region"] is None]
        return sum(int(i["total_reports"]) for i in (wide or self.incidents))

    @cached_property
    def regions(self) -> tuple[RegionLevel, ...]:
        """The regions with an incident of their own: worst level, then most reports first."""
        seen: dict[str, tuple[str, int]] = {}
        for i in self.incidents:
            if i["region"] is None:
                continue
            level, n = seen.get(i["region"], (i["level"], 0))
            seen[i["region"]] = (max(level, i["level"], key=rank), n + int(i["total_reports"]))
        ordered = sorted(seen.items(), key=lambda kv: (-rank(kv[1][0]), -kv[1][1], kv[0]))
        return tuple((r, level, n) for r, (level, n) in ordered)

    @cached_property
    def principal(self) -> Incident:
        """The incident that speaks for the entry: the worst service-wide one if any."""
        return max(
            self.incidents,
            key=lambda i: (i["region"] is None, rank(i["level"]), int(i["total_reports"])),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "level": self.level,
            "state": self.state,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "total_reports": self.total_reports,
            "regions": [{"region": r, "level": lv, "reports": n} for r, lv, n in self.regions],
            "incidents": [i["id"] for i in self.incidents],
        }


@dataclass(frozen=True)
class OutageGroup:
    """One entry for people: a root service's outage and the services that depend on it."""

    root: ServiceOutage
    dependants: tuple[ServiceOutage, ...] = ()

    @cached_property
    def services(self) -> tuple[ServiceOutage, ...]:
        return (self.root, *self.dependants)

    @cached_property
    def incidents(self) -> tuple[Incident, ...]:
        return tuple(i for s in self.services for i in s.incidents)

    @cached_property
    def service(self) -> str:
        return self.root.service

    @cached_property
    def id(self) -> str:
        """The id of the earliest opened incident (service-wide first on a tie): it stays
        as later incidents join."""
        first = min(
            self.incidents, key=lambda i: (i["opened_at"], i["region"] is not None, i["id"])
        )
        return str(first["id"])

    @cached_property
    def level(self) -> str:
        return max((s.level for s in self.services), key=rank)

    @cached_property
    def state(self) -> str:
        return "open" if any(s.state == "open" for s in self.services) else "resolved"

    @cached_property
    def started_at(self) -> str:
        return min(s.started_at for s in self.services)

    @cached_property
    def opened_at(self) -> str:
        return min(s.opened_at for s in self.services)

    @cached_property
    def ended_at(self) -> str | None:
        ends = [s.ended_at for s in self.services]
        return None if None in ends else max(str(e) for e in ends)

    @cached_property
    def updated(self) -> str:
        return max(s.updated for s in self.services)

    @cached_property
    def total_reports(self) -> int:
        """Each service's reports, summed: different services, different people's reports."""
        return sum(s.total_reports for s in self.services)

    def as_dict(self) -> dict[str, Any]:
        """The grouped view's object (docs/contracts.md): the incidents themselves inside."""
        return {
            "id": self.id,
            "service": self.service,
            "level": self.level,
            "state": self.state,
            "started_at": self.started_at,
            "opened_at": self.opened_at,
            "ended_at": self.ended_at,
            "total_reports": self.total_reports,
            "regions": self.root.as_dict()["regions"],
            "dependants": [s.service for s in self.dependants],
            "services": [s.as_dict() for s in self.services],
            "incidents": list(self.incidents),
        }


def _per_service(incidents: Iterable[Incident]) -> list[ServiceOutage]:
    """Each service's incidents, split where one ends before the next starts."""
    by_service: dict[str, list[Incident]] = {}
    for inc in incidents:
        by_service.setdefault(str(inc["service"]), []).append(inc)
    out: list[ServiceOutage] = []
    for service, items in by_service.items():
        items.sort(key=lambda i: (i["started_at"], i["id"]))
        run: list[Incident] = []
        end: str | None = ""
        for inc in items:
            if run and end is not None and inc["started_at"] > end:
                out.append(ServiceOutage(service, tuple(run)))
                run = []
            end = end_of(inc) if not run else _later(end, end_of(inc))
            run.append(inc)
        out.append(ServiceOutage(service, tuple(run)))
    return out


def _overlap(a: ServiceOutage, b: ServiceOutage) -> bool:
    a_end, b_end = a.ended_at, b.ended_at
    return (a_end is None or b.started_at <= a_end) and (b_end is None or a.started_at <= b_end)


def _related(entry: ServiceOutage) -> set[str]:
    """The services the detector linked to this entry's incidents."""
    return {str(s) for i in entry.incidents for s in i.get("related", ())}


def _is_cause(entry: ServiceOutage) -> bool:
    return any(i["region"] is None and i["level"] == "outage" for i in entry.incidents)


def _cause_order(entry: ServiceOutage) -> tuple[str, str, str]:
    """Causes by their service-wide outage's start, then opening: the first one down."""
    first = min(
        (i["started_at"], i["opened_at"])
        for i in entry.incidents
        if i["region"] is None and i["level"] == "outage"
    )
    return (*first, entry.service)


def group_incidents(incidents: Sequence[Incident]) -> list[OutageGroup]:
    """Incidents as outage groups, newest opened first (as `/v1/outages` orders)."""
    entries = _per_service(incidents)
    causes_first = sorted(filter(_is_cause, entries), key=_cause_order)
    others = [e for e in entries if not _is_cause(e)]
    roots: list[ServiceOutage] = []
    members: dict[str, list[ServiceOutage]] = {}
    # The causes found so far, by service and by the services they name, in order:
    # an entry looks only at the causes it could be linked to.
    by_service: dict[str, list[tuple[int, ServiceOutage]]] = {}
    naming: dict[str, list[tuple[int, ServiceOutage]]] = {}
    # Causes first, earliest first: a cause linked to an earlier cause depends on it.
    for entry in causes_first + others:
        linked = [c for r in _related(entry) for c in by_service.get(r, ())]
        linked += naming.get(entry.service, ())
        cause = min(((n, c) for n, c in linked if _overlap(entry, c)), default=None)
        if cause is not None:
            members[_key(cause[1])].append(entry)
            continue
        roots.append(entry)
        members[_key(entry)] = []
        if _is_cause(entry):
            found = (len(roots), entry)
            by_service.setdefault(entry.service, []).append(found)
            for name in _related(entry):
                naming.setdefault(name, []).append(found)
    groups = [
        OutageGroup(
            r,
            tuple(
                sorted(
                    members[_key(r)],
                    key=lambda e: (-rank(e.level), -e.total_reports, e.service),
                )
            ),
        )
        for r in roots
    ]
    groups.sort(key=lambda g: (g.opened_at, g.id), reverse=True)
    return groups


def _key(entry: ServiceOutage) -> str:
    return str(entry.incidents[0]["id"])


def involving(groups: Iterable[OutageGroup], service: str) -> list[OutageGroup]:
    """The groups a service is part of, as its root or as a dependant."""
    return [g for g in groups if any(s.service == service for s in g.services)]


def page_of(
    groups: Sequence[OutageGroup], cursor: str | None, limit: int
) -> tuple[list[OutageGroup], str | None]:
    """One page of groups, newest opened first, with the cursor of `/v1/outages` (a
    group's earliest opening and its id), so a client pages both views alike."""
    after = decode_cursor(cursor) if cursor is not None else None
    keyed = sorted(((parse_iso(g.opened_at), g.id, g) for g in groups), reverse=True)
    if after is not None:
        keyed = [k for k in keyed if (k[0], k[1]) < after]
    page = keyed[:limit]
    nxt = encode_cursor(page[-1][0], page[-1][1]) if len(keyed) > limit and page else None
    return [g for _, _, g in page], nxt
