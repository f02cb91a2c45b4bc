"""Outage shapes through the real app: regional outages and slow degradations."""

from __future__ import annotations

import numpy as np

from outagewatch.detector.incidents import IncidentTracker
from outagewatch.detector.model import SeriesBank
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, running, tick_to, warm_up


def test_regional_outage_is_reported_for_those_regions(clock: ManualClock) -> None:
    with running(clock) as (app, client):
        warm_up(app, client, clock)
        for i in range(120):  # IT and FR down for busy; US carries on as usual
            region = "IT" if i % 2 else "FR"
            body = {"service": "busy", "region": region, "problem": "app", "reporter": f"r{i}"}
            assert client.post("/v1/reports", json=body).status_code == 202
            clock.advance(1.0)
        tick_to(app, clock, clock.now() + 120)
        open_now = client.get("/v1/outages").json()["outages"]
    by_region = {o["region"]: o for o in open_now if o["service"] == "busy"}
    assert {"IT", "FR"} <= set(by_region) and "US" not in by_region
    wide = by_region.get(None)
    assert wide is not None, open_now
    listed = {r["region"]: r for r in wide["regions"]}
    assert listed["IT"]["level"] is not None and listed["FR"]["level"] is not None
    assert listed.get("US", {}).get("level") is None


def test_slow_degradation_is_caught_by_the_cumulative_test() -> None:
    """A business tool at 2.5x normal during working hours, never one striking bucket.

    Real crowds swing 2x for hours on a news day (NAB realTweets), so a rise is judged
    hour by hour against the swings a series shows; 2.5x through a working morning is
    beyond them, a plain 2x is not (it is learned as the new normal within the day:
    docs/accuracy.md says what that costs)."""
    rng = np.random.default_rng(4)
    bank, tracker = SeriesBank(), IncidentTracker()
    keys = [("erp", None)]
    opened = None
    for i in range(10 * 1440):
        t = T0 + i * 60.0
        hour = int(t // 3600) % 24
        rate = 3.0 if 9 <= hour < 17 else 0.375
        degraded = i >= 8 * 1440 and 9 <= hour < 17
        counts = rng.poisson([rate * (2.5 if degraded else 1.0)]).astype(float)
        warm = np.array([bank.warm])  # the pipeline's gating: nothing alarms on day one
        step = bank.score(t, counts)
        changed, learn, _ = tracker.observe(t, t + 70, step, counts, keys, allowed=warm)
        bank.learn(learn)
        if not warm[0]:
            bank.restart_cusum([0])
        if changed and opened is None and i >= 8 * 1440:
            opened = changed[0]
            assert float(step.p1[0]) > 1e-6  # no single bucket gave it away
        assert not (changed and i < 8 * 1440), "no false alarm before the degradation"
    assert opened is not None
    delay_h = (opened.opened_at - (T0 + 8 * 86400 + 9 * 3600)) / 3600
    # A 2.5x rise of ~270 reports an hour, never one striking bucket: found within hours
    # (a 15-minute ratio rule with a 3x bar never fires on it at all). Smaller and
    # slower rises can be learned as the new normal: see docs/accuracy.md.
    assert delay_h < 4, f"degradation found after {delay_h:.1f} h"
