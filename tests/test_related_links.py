"""Incidents of different services opened within the related window name each other's
service: linked per service as they open, with sets shared between incidents, the
sets must be those of every pair, each as it stood when that incident left the window."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detector.incidents import Incident, IncidentParams, IncidentTracker
from outagewatch.detector.related import RelatedWindow

WINDOW = 600.0


def incident(n: int, service: str, at: float) -> Incident:
    return Incident(id=f"{service}-{n}", service=service, region=None, level="possible",
                    started_at=at, opened_at=at, confirmed_at=None, last_active_end=at,
                    peak_at=at, peak_expected=1.0)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    openings=st.lists(
        st.tuples(st.sampled_from("abcdef"), st.floats(0.0, 400.0)), min_size=1, max_size=60
    )
)
def test_related_services_are_those_of_every_pair_in_the_window(
    openings: list[tuple[str, float]],
) -> None:
    window = RelatedWindow(WINDOW)
    now, opened = 0.0, []
    for n, (service, gap) in enumerate(openings):
        now += gap  # incidents open in stream order
        inc = incident(n, service, now)
        window.link(inc, now)
        opened.append(inc)
        # After every opening, not only at the end: a shared set grown for the window
        # must not reach an incident that has left it.
        for i, earlier in enumerate(opened):
            assert earlier.related == pairs(opened, i), (n, i, earlier.service)


def pairs(opened: list[Incident], i: int) -> set[str]:
    """Each pair is linked when the later one opens, if the earlier is within the
    window of it then."""
    inc = opened[i]
    return {
        other.service
        for j, other in enumerate(opened)
        if other.service != inc.service
        and (
            (j < i and inc.opened_at - other.opened_at <= WINDOW)
            or (j > i and other.opened_at - inc.opened_at <= WINDOW)
        )
    }


def test_a_wave_shares_its_sets() -> None:
    """400 services' outages and their 40 regions each: one set per service, not per
    incident (a wave's sets were most of its memory)."""
    window = RelatedWindow(WINDOW)
    opened = []
    for n in range(400):  # the service-wide incidents, one after another
        opened.append(incident(n, f"s{n}", 1.0 + n * 0.1))
        window.link(opened[-1], opened[-1].opened_at)
    for n in range(400 * 40):  # then every region of every service, a minute later
        opened.append(incident(400 + n, f"s{n % 400}", 60.0 + n * 0.001))
        window.link(opened[-1], opened[-1].opened_at)
    assert len({id(inc.related) for inc in opened}) <= 2 * 400
    assert all(inc.related == {f"s{k}" for k in range(400)} - {inc.service} for inc in opened)


def test_a_restore_shares_equal_sets_again() -> None:
    """Restored from their records, a wave's incidents get one set per distinct list
    of names again (each record carries its own list)."""
    records = []
    for n in range(200):
        inc = incident(n, f"s{n % 20}", 60.0)
        inc.related = {f"s{k}" for k in range(20)} - {inc.service}
        records.append(inc.to_record())
    restored = [Incident.from_record(r) for r in records]
    tracker = IncidentTracker(IncidentParams())
    keys = {(inc.service, inc.region): k for k, inc in enumerate(restored)}
    tracker.restore(restored, keys.get)
    assert len({id(inc.related) for inc in restored}) == 20
    assert [inc.to_record() for inc in restored] == records
