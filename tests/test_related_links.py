"""Incidents of different services opened within the related window name each other's
service: linked per service as they open, the sets must be those of every pair."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detector.incidents import Incident, IncidentParams, IncidentTracker

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
    tracker = IncidentTracker(IncidentParams(related_window_s=WINDOW))
    now, opened = 0.0, []
    for n, (service, gap) in enumerate(openings):
        now += gap  # incidents open in stream order
        inc = incident(n, service, now)
        tracker._link_related(inc, now)
        opened.append(inc)
    for i, inc in enumerate(opened):
        # Each pair is linked when the later one opens, if the earlier is within the
        # window of it then.
        expected = {
            other.service
            for j, other in enumerate(opened)
            if other.service != inc.service
            and (
                (j < i and inc.opened_at - other.opened_at <= WINDOW)
                or (j > i and other.opened_at - inc.opened_at <= WINDOW)
            )
        }
        assert inc.related == expected, (i, inc.service)
