"""One entry per outage (app/outage_groups.py): the invariants, for any incidents."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.outage_groups import end_of, group_incidents, page_of, rank

SERVICES = ("aws", "shop", "mail", "bank")
REGIONS = (None, "US", "DE", "FR", "IT")


def at(minute: int) -> str:
    return f"2026-11-02T{minute // 60:02d}:{minute % 60:02d}:00Z"


@st.composite
def incidents(draw: Any) -> list[dict[str, Any]]:
    out = []
    for n in range(draw(st.integers(0, 25))):
        service = draw(st.sampled_from(SERVICES))
        start = draw(st.integers(0, 600))
        opened = start + draw(st.integers(0, 5))
        length = draw(st.one_of(st.none(), st.integers(0, 120)))
        others = [s for s in SERVICES if s != service]
        out.append(
            {
                "id": f"{service}-{n}",
                "service": service,
                "region": draw(st.sampled_from(REGIONS)),
                "level": draw(st.sampled_from(("possible", "outage"))),
                "state": "open" if length is None else "resolved",
                "started_at": at(start),
                "opened_at": at(opened),
                "confirmed_at": None,
                "ended_at": None if length is None else at(opened + length),
                "resolved_at": None if length is None else at(opened + length + 5),
                "total_reports": draw(st.integers(0, 500)),
                "related": sorted(draw(st.sets(st.sampled_from(others)))),
            }
        )
    return out


@settings(max_examples=150, deadline=None)
@given(incidents())
def test_every_incident_lands_in_exactly_one_group(items: list[dict[str, Any]]) -> None:
    groups = group_incidents(items)
    seen = Counter(i["id"] for g in groups for i in g.incidents)
    assert seen == Counter(i["id"] for i in items)
    assert all(n == 1 for n in seen.values())


@settings(max_examples=150, deadline=None)
@given(incidents())
def test_a_group_is_as_bad_as_its_worst_member_and_covers_every_member(
    items: list[dict[str, Any]],
) -> None:
    for g in group_incidents(items):
        members = g.incidents
        assert rank(g.level) == max(rank(i["level"]) for i in members)
        assert g.started_at == min(i["started_at"] for i in members)
        assert g.opened_at == min(i["opened_at"] for i in members)
        for i in members:
            assert g.started_at <= i["started_at"]
            end = end_of(i)
            if g.ended_at is not None:
                assert end is not None and end <= g.ended_at
        assert (g.ended_at is None) == (g.state == "open")
        # Each service's part is that service's incidents only, and a dependant is
        # another service than its root, named by the detector's links.
        for part in g.services:
            assert {i["service"] for i in part.incidents} == {part.service}
        for d in g.dependants:
            assert d.service != g.service
            assert any(g.service in i["related"] for i in d.incidents) or any(
                d.service in i["related"] for i in g.root.incidents
            )
        assert g.id in {i["id"] for i in members}


@settings(max_examples=100, deadline=None)
@given(incidents(), st.integers(1, 4))
def test_paging_visits_every_group_once_newest_first(
    items: list[dict[str, Any]], limit: int
) -> None:
    groups = group_incidents(items)
    cursor, pages = None, []
    while True:
        page, cursor = page_of(groups, cursor, limit)
        assert len(page) <= limit
        pages += page
        if cursor is None:
            break
    assert [g.id for g in pages] == [g.id for g in groups]
    assert [g.opened_at for g in pages] == sorted((g.opened_at for g in pages), reverse=True)


def test_regions_worst_first_and_reports_from_the_service_wide_incident() -> None:
    def inc(id_: str, region: str | None, level: str, reports: int) -> dict[str, Any]:
        return {
            "id": id_, "service": "aws", "region": region, "level": level, "state": "open",
            "started_at": at(0), "opened_at": at(1), "ended_at": None,
            "total_reports": reports, "related": [],
        }  # fmt: skip

    items = [
        inc("w", None, "outage", 900),
        inc("de", "DE", "possible", 500),
        inc("us", "US", "outage", 100),
        inc("fr", "FR", "outage", 300),
    ]
    (g,) = group_incidents(items)
    assert [r for r, _, _ in g.root.regions] == ["FR", "US", "DE"]
    assert g.total_reports == 900 and g.root.principal["id"] == "w" and g.id == "w"
    # Without a service-wide incident, the regions' reports add up.
    (g,) = group_incidents(items[1:])
    assert g.total_reports == 900 and g.root.principal["id"] == "fr"
