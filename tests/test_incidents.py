"""The incident state machine, driven with hand-made evidence."""

from __future__ import annotations

import numpy as np

from outagewatch.detector.incidents import Incident, IncidentParams, IncidentTracker
from outagewatch.detector.model import Step

KEYS = [("aws", None), ("netflix", None), ("aws", "US")]


def step(p: list[float], recent: float = 50.0, p1: list[float] | None = None) -> Step:
    n = len(p)
    pa = np.array(p)
    p1a = np.array(p1) if p1 is not None else pa
    return Step(
        expected=np.full(n, 1.0),
        p=pa,
        p1=p1a,
        p_short=p1a,
        p_mid=p1a,
        cusum=np.zeros(n),
        rising=np.zeros(n, dtype=bool),
        recent=np.full(n, recent),
    )


def run(
    tracker: IncidentTracker, t: float, p: list[float], counts: list[float], **kw
) -> list[Incident]:  # type: ignore[no-untyped-def]
    changed, _, _ = tracker.observe(t, t + 70, step(p, **kw), np.array(counts), KEYS)
    return changed


def test_outage_opens_at_once_and_resolves_after_a_quiet_spell() -> None:
    tr = IncidentTracker(IncidentParams(quiet_s=300), bucket_seconds=60)
    opened = run(tr, 0, [1e-12, 1, 1], [90, 1, 1])
    assert [(i.service, i.level, i.state) for i in opened] == [("aws", "outage", "open")]
    inc = opened[0]
    assert inc.confirmed_at == inc.opened_at == 70
    for k in range(1, 5):
        run(tr, 60 * k, [1, 1, 1], [1, 1, 1])
    assert inc.state == "open"  # 4 quiet buckets < 5
    run(tr, 300, [1, 1, 1], [1, 1, 1])
    assert inc.state == "resolved" and inc.ended_at == 60 and inc.resolved_at == 370


def test_possible_needs_to_be_sustained_then_escalates() -> None:
    tr = IncidentTracker(IncidentParams(), bucket_seconds=60)
    assert run(tr, 0, [1e-6, 1, 1], [8, 1, 1]) == []
    opened = run(tr, 60, [1e-6, 1, 1], [8, 1, 1])
    assert opened[0].level == "possible" and opened[0].started_at == 0
    run(tr, 120, [1e-9, 1, 1], [30, 1, 1])
    assert opened[0].level == "outage" and opened[0].confirmed_at == 190


def test_a_brief_dip_does_not_split_an_outage() -> None:
    tr = IncidentTracker(IncidentParams(quiet_s=600), bucket_seconds=60)
    first = run(tr, 0, [1e-12, 1, 1], [90, 1, 1])[0]
    for k in range(1, 4):  # three normal buckets
        run(tr, 60 * k, [1, 1, 1], [1, 1, 1])
    run(tr, 240, [1e-12, 1, 1], [90, 1, 1])
    assert list(tr.open.values()) == [first]


def test_too_few_reporters_open_nothing() -> None:
    tr = IncidentTracker(IncidentParams(), bucket_seconds=60)
    for k in range(5):
        assert run(tr, 60 * k, [1e-15, 1, 1], [4, 0, 0], recent=4) == []


def test_related_services_and_regions_are_linked() -> None:
    tr = IncidentTracker(IncidentParams(), bucket_seconds=60)
    run(tr, 0, [1e-12, 1, 1e-12], [90, 1, 60])
    run(tr, 60, [1e-12, 1e-12, 1e-12], [90, 40, 60])
    aws = tr.open[0].to_dict()
    netflix = tr.open[1].to_dict()
    assert aws["related"] == ["netflix"] and netflix["related"] == ["aws"]
    assert aws["regions"] == [{"region": "US", "reports": 120, "level": "outage"}]


def test_feed_object_round_trips() -> None:
    tr = IncidentTracker(IncidentParams(), bucket_seconds=60)
    inc = run(tr, 0, [1e-12, 1, 1], [90, 1, 1])[0]
    d = inc.to_dict()
    assert set(d) >= {"id", "service", "region", "level", "state", "started_at", "opened_at",
                      "confirmed_at", "ended_at", "peak", "total_reports", "top_problems",
                      "regions", "related"}  # fmt: skip
    assert d["opened_at"].endswith("Z")
    again = Incident.from_dict(d).to_dict()
    assert {k: again[k] for k in ("id", "level", "state", "opened_at", "peak")} == {
        k: d[k] for k in ("id", "level", "state", "opened_at", "peak")
    }


def test_nothing_opens_in_an_empty_bucket() -> None:
    """Window evidence can stay strong for a minute without reports (here a service
    beside a provider's outage, boosted by the common cause): the incident waits for a
    bucket with reports, so it is never published as '0 reports'."""
    tr = IncidentTracker(IncidentParams(), bucket_seconds=60)
    run(tr, 0, [1e-12, 1, 1], [400, 0, 0], p1=[1e-12, 0.01, 1])
    # netflix: window evidence only strong enough with aws's outage as a common cause
    run(tr, 60, [1e-12, 1e-5, 1], [400, 0, 0], p1=[1e-12, 0.01, 1], recent=8)
    assert 1 not in tr.open
    opened = run(tr, 120, [1e-12, 1e-5, 1], [400, 3, 0], p1=[1e-12, 0.01, 1], recent=11)
    netflix = [i for i in opened if i.service == "netflix"]
    assert [i.level for i in netflix] == ["outage"]
    d = netflix[0].to_dict()
    assert d["total_reports"] >= d["peak"]["reports"] == 3
