"""An open incident comes back from a restart exactly as the detector held it: its
problems, regions, quiet count and end evidence, not a lossy copy rebuilt from the
feed object. And a long-running server forgets old resolved incidents (the store
keeps them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.detector.incidents import Incident
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, backfill, running, tick_to
from tests.scenario import background

HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0


def open_records(app: Any) -> dict[str, dict[str, Any]]:
    return {inc.id: inc.to_record() for inc in app.runtime.pipeline.tracker.open.values()}


def test_open_incident_state_survives_a_restart(clock: ManualClock, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(clock, data) as (app, client):
        backfill(app, client, clock, background(T0, HISTORY_MIN), SURGE_AT)
        for i in range(240):
            body = {
                "service": "tinyapp",
                "region": ("IT", "DE", "PL")[i % 3],
                "problem": ("login", "app")[i % 2],
                "reporter": f"s{i}",
            }
            assert client.post("/v1/reports", json=body).status_code == 202
            clock.advance(0.2)
        # Two minutes back to normal: the outage is open, counting quiet buckets.
        tick_to(app, clock, SURGE_AT + 180)
        before = open_records(app)
        feed_before = client.get("/v1/outages").json()["outages"]
    wide = [r for r in before.values() if r["service"] == "tinyapp" and r["region"] is None]
    assert len(wide) == 1
    inc = wide[0]
    # What the feed object alone cannot carry, and a restart used to lose:
    assert inc["quiet"] >= 1 and inc["state"] == "open"
    assert inc["problems"] == {"login": 120, "app": 120}  # raw counts, not shares
    assert set(inc["regions"]) == {"IT", "DE", "PL"}
    assert inc["last_active_end"] > inc["opened_at"]

    with running(clock, data) as (app, client):
        assert open_records(app) == before
        assert client.get("/v1/outages").json()["outages"] == feed_before
        # It carries on from there: quiet buckets go on being counted, and it ends.
        tick_to(app, clock, clock.now() + 60)
        after = open_records(app).get(inc["id"])
        assert after is None or after["quiet"] == inc["quiet"] + 1
        tick_to(app, clock, clock.now() + 30 * 60)
        resolved = client.get("/v1/outages", params={"state": "resolved"}).json()["outages"]
        assert inc["id"] in {o["id"] for o in resolved}


names = st.text(alphabet="abcxyz-", min_size=1, max_size=8)
times = st.floats(0, 2e9, allow_nan=False)


@given(
    st.builds(
        Incident,
        id=names,
        service=names,
        region=st.none() | names,
        level=st.sampled_from(["possible", "outage"]),
        started_at=times,
        opened_at=times,
        confirmed_at=st.none() | times,
        quiet=st.integers(0, 100),
        problems=st.dictionaries(names, st.integers(0, 10**6), max_size=4),
        regions=st.dictionaries(names, st.integers(0, 10**6), max_size=4),
        related=st.sets(names, max_size=3),
        x_sum=times,
        end_llr=st.floats(0, 100, allow_nan=False),
        faded=st.integers(0, 50),
    )
)
def test_record_round_trips_every_field(inc: Incident) -> None:
    import orjson

    again = Incident.from_record(orjson.loads(orjson.dumps(inc.to_record())))
    assert again == inc


def test_a_long_running_pipeline_keeps_a_bounded_memory_of_resolved_incidents() -> None:
    pipe = Pipeline(PipelineConfig(keep_resolved=3))
    for k in range(10):
        inc = Incident(f"s--all--{k}", "s", None, "outage", k, k, state="resolved")
        pipe.incidents[inc.id] = inc
    live = Incident("t--all--0", "t", None, "outage", 0.0, 0.0)
    pipe.incidents[live.id] = live
    pipe.tracker.open[0] = live
    pipe._write([], [], [live.to_dict()])
    assert sorted(pipe.incidents) == ["s--all--7", "s--all--8", "s--all--9", "t--all--0"]
