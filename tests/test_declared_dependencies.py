"""Declared dependencies in the incident tracker: a service that runs on a provider in
outage confirms sooner and names the provider (also when it opens from a partial
bucket); a stranger rising beside a provider (a service anyone declares running on)
confirms sooner than beside any other service, and names no one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detector.incidents import Incident, IncidentParams, IncidentTracker
from outagewatch.detector.model import Step
from tests.partial_traffic import Burst, drive, new_pipeline, traffic

# aws (the provider), netflix (declares it runs on aws), spotify (a stranger).
KEYS = [("aws", None), ("netflix", None), ("spotify", None)]
ON_AWS = {"netflix": ("aws",)}


def step(p: list[float], recent: list[float]) -> Step:
    n = len(p)
    return Step(
        expected=np.full(n, 1.0),
        p=np.array(p),
        p1=np.array(p),
        p_short=np.array(p),
        p_mid=np.array(p),
        cusum=np.zeros(n),
        rising=np.zeros(n, dtype=bool),
        recent=np.array(recent, dtype=float),
    )


def observe(
    tr: IncidentTracker, t: float, p: list[float], counts: list[float], recent: list[float]
) -> list[Incident]:
    changed, _, _ = tr.observe(t, t + 70, step(p, recent), np.array(counts), KEYS)
    return changed


def tracker(providers: dict[str, tuple[str, ...]] | None = ON_AWS) -> IncidentTracker:
    tr = IncidentTracker(IncidentParams(), bucket_seconds=60)
    if providers is not None:
        tr.set_providers(providers)
    return tr


def aws_down(tr: IncidentTracker) -> Incident:
    """aws opens a hard outage in bucket 0 (400 reports against 1 expected)."""
    (inc,) = observe(tr, 0, [1e-30, 1, 1], [400, 0, 0], [400, 0, 0])
    assert inc.service == "aws" and inc.level == "outage"
    return inc


def test_a_declared_dependant_confirms_sooner_than_a_stranger_and_names_its_provider() -> None:
    tr = tracker()
    cause = aws_down(tr)
    # The same rise for both: p = 1e-3 with 4 reporters in the last 15 minutes.
    changed = observe(tr, 60, [1e-30, 1e-3, 1e-3], [400, 4, 4], [800, 4, 4])
    netflix = tr.open[1]
    assert netflix in changed and netflix.level == "outage" and netflix.confirmed_at == 130
    assert netflix.to_dict()["because_of"] == [{"service": "aws", "incident": cause.id}]
    assert 2 not in tr.open  # spotify: a stranger needs 5 people, not 3
    # aws is a provider (netflix runs on it): a stranger's rise beside it confirms at
    # the declared p once 5 people report it, and names no provider.
    observe(tr, 120, [1e-30, 1e-3, 1e-3], [400, 4, 4], [1200, 8, 8])
    spotify = tr.open[2]
    assert spotify.level == "outage" and spotify.confirmed_at == 190
    assert spotify.to_dict()["because_of"] == []


def test_without_declarations_a_dependant_is_a_stranger() -> None:
    """No one runs on aws: a rise beside its outage meets the generic bar (p <= 1e-4
    for an outage, 1e-3 for a possible sustained two buckets), nothing lower."""
    tr = tracker(providers=None)
    aws_down(tr)
    observe(tr, 60, [1e-30, 1e-3, 1e-3], [400, 4, 4], [800, 6, 6])
    assert 1 not in tr.open and 2 not in tr.open
    observe(tr, 120, [1e-30, 1e-3, 1e-3], [400, 4, 4], [1200, 10, 10])
    assert [tr.open[1].level, tr.open[2].level] == ["possible", "possible"]
    observe(tr, 180, [1e-30, 1e-3, 1e-4], [400, 4, 4], [1600, 14, 14])
    assert [tr.open[1].level, tr.open[2].level] == ["possible", "outage"]


def test_a_single_reporter_cannot_open_through_the_prior() -> None:
    """Dedup counts a reporter once an hour: `recent` is distinct reporters. However
    unlikely their reports, one or two people beside a provider's outage open nothing."""
    tr = tracker()
    aws_down(tr)
    for k in range(1, 6):
        observe(tr, 60 * k, [1e-30, 1e-12, 1], [400, 1, 0], [400 * (k + 1), 2, 0])
    assert 1 not in tr.open
    observe(tr, 360, [1e-30, 1e-3, 1], [400, 1, 0], [2800, 3, 0])
    assert tr.open[1].level == "outage"  # a third person: the prior applies


def test_a_provider_down_softly_or_long_ago_is_no_cause() -> None:
    params = IncidentParams()
    tr = tracker()
    aws_down(tr)
    later = params.related_window_s + 60
    observe(tr, later, [1e-30, 1e-3, 1], [400, 4, 0], [6000, 6, 0])
    assert 1 not in tr.open  # its outage opened too long ago to explain a new rise
    soft = tracker()
    observe(soft, 0, [1e-30, 1, 1], [12, 0, 0], [12, 0, 0])  # reports < 10x expected
    observe(soft, 60, [1e-30, 1e-3, 1], [3, 4, 0], [15, 6, 0])
    assert 1 not in soft.open


def test_declarations_are_replaced_whole_and_ignore_a_service_naming_itself() -> None:
    tr = tracker()
    tr.set_providers({"spotify": ("aws", "spotify")})
    aws_down(tr)
    observe(tr, 60, [1e-30, 1e-3, 1e-3], [400, 4, 4], [800, 4, 4])
    assert 1 not in tr.open and tr.open[2].level == "outage"  # netflix: a stranger now


def test_because_of_survives_a_restart_record_and_the_feed_object() -> None:
    tr = tracker()
    aws_down(tr)
    observe(tr, 60, [1e-30, 1e-3, 1], [400, 4, 0], [800, 6, 0])
    netflix = tr.open[1]
    assert Incident.from_record(netflix.to_record()) == netflix
    assert Incident.from_dict(netflix.to_dict()).because_of == netflix.because_of


LEVELS = st.lists(
    st.tuples(
        st.sampled_from([1.0, 0.5, 1e-2, 1e-3, 1e-5, 1e-7, 1e-9]),  # spotify's p
        st.integers(0, 12),  # its counts this bucket
        st.sampled_from([1.0, 1e-2, 1e-5, 1e-30]),  # aws's p
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(LEVELS)
def test_a_strangers_incidents_depend_only_on_whether_the_cause_is_a_provider(
    buckets: list,  # type: ignore[type-arg]
) -> None:
    """Whatever happens to aws, spotify (who declares nothing) gets the same incidents
    whoever declares running on aws (netflix, or a service this tracker never saw),
    and the same with no declarations as with declarations that leave aws out."""
    assert strangers_incidents(buckets, ON_AWS) == strangers_incidents(buckets, {"x": ("aws",)})
    assert strangers_incidents(buckets, None) == strangers_incidents(buckets, {"netflix": ("gcp",)})


def strangers_incidents(buckets: list, providers: dict | None) -> list[dict]:  # type: ignore[type-arg]
    """spotify's incidents, as published, over `buckets` (its p and counts, aws's p)."""
    tr = tracker(providers)
    seen: list[dict] = []  # type: ignore[type-arg]
    recent = 0.0
    for k, (p, c, p_aws) in enumerate(buckets):
        recent = recent * 0.9 + c
        counts = [400 if p_aws < 1e-20 else 1, c, c]
        changed = observe(tr, 60 * k, [p_aws, p, p], counts, [400.0, recent, recent])
        seen += [i.to_dict() for i in changed if i.service == "spotify"]
    return seen


def early_pair(providers: dict[str, tuple[str, ...]]) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """busy surges (a provider's outage), then quiet (its dependant, if declared) opens
    from a partial bucket: the real pipeline, ticking every 5 seconds."""
    surges = [Burst("busy", None, 600, 5, 400, False), Burst("quiet", None, 700, 3, 150, False)]
    pipeline = new_pipeline([], 60)
    pipeline.set_providers(providers)
    drive(pipeline, traffic(3, surges), 5.0)
    found = pipeline.all_incidents()
    busy = next(o for o in found if o["service"] == "busy")
    quiet = next(o for o in found if o["service"] == "quiet")
    assert busy["opened_at"] < quiet["opened_at"]
    assert not quiet["opened_at"].endswith("10Z")  # not at a bucket's close: opened early
    return busy, quiet


def test_a_declared_dependant_opened_early_names_its_provider() -> None:
    busy, quiet = early_pair({"quiet": ("busy",)})
    assert quiet["because_of"] == [{"service": "busy", "incident": busy["id"]}]
    _, stranger = early_pair({})
    assert stranger["because_of"] == []
