"""The demo's simulator, driven on a manual clock: history is quiet, the cascade is seen,
and its reports take the path of real ones (intake, the log, DuckDB)."""

from __future__ import annotations

from pathlib import Path

from outagewatch.app.demo import Demo
from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, running, settings

START = T0 + 3 * 86400 + 14 * 3600


def test_demo_history_is_quiet_and_the_cascade_opens_incidents() -> None:
    clock = ManualClock(START)
    app = create_app(settings(), clock)
    demo = Demo(app)
    try:
        assert demo.preload(hours=26) > 10_000
        assert app.runtime.store.open_incidents() == []
        demo.started_at = demo.last = clock.now()
        for _ in range(8 * 6):  # eight minutes, ten-second steps
            clock.advance(10)
            demo.step()
            app.runtime.tick()
    finally:
        demo.stop()
    services = {d["service"] for d in app.runtime.store.open_incidents()}
    assert {"aws", "netflix", "coinbase"} <= services
    aws = next(
        d for d in app.runtime.store.open_incidents() if d["service"] == "aws" and not d["region"]
    )
    assert "netflix" in aws["related"]


def test_demo_reports_are_logged_stored_and_survive_a_restart(tmp_path: Path) -> None:
    clock = ManualClock(START)
    # The server's own limits, as `outagewatch demo` runs: the crowd must pass them.
    defaults = {"prefix_cap": 2, "rate_address_per_s": 20.0, "accept_unknown_services": False}
    with running(clock, tmp_path, **defaults) as (app, client):
        demo = Demo(app)
        try:
            history = demo.preload(hours=2)
            demo.started_at = demo.last = clock.now()
            live = 0
            for _ in range(12):  # two minutes, the cascade's first rise included
                clock.advance(10)
                live += demo.step()
                app.runtime.tick()
        finally:
            demo.stop()
        assert history > 100 and live > 20 and demo.refused == {}
        rt = app.runtime
        stored = rt.store.query("SELECT sum(weight), count(DISTINCT seq), max(seq) FROM reports")
        assert stored == [(history + live, history + live, history + live)]
        logged = list(rt.wal.replay(0)) if rt.wal is not None else []
        assert [r[0] for r in logged] == list(range(1, history + live + 1))
        assert sum(r[7] if len(r) > 7 else 1 for r in logged) == history + live
        before = client.get("/v1/services", params={"limit": 1000}).json()
        health = client.get("/healthz").json()
        assert health["reports_accepted"] == history + live
    with running(clock, tmp_path, **defaults) as (app, client):
        assert client.get("/v1/services", params={"limit": 1000}).json() == before
        assert app.runtime.store.query("SELECT sum(weight) FROM reports") == [(history + live,)]
