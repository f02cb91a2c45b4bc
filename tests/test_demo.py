"""The demo's simulator, driven on a manual clock: history is quiet, the cascade is seen."""

from __future__ import annotations

from outagewatch.app.demo import CASCADE, Demo
from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, settings


def test_demo_history_is_quiet_and_the_cascade_opens_incidents() -> None:
    clock = ManualClock(T0 + 3 * 86400 + 14 * 3600)
    app = create_app(settings(), clock)
    demo = Demo(app.runtime)
    assert demo.preload(hours=26) > 10_000
    assert app.runtime.store.open_incidents() == []
    demo.started_at = clock.now()
    last = clock.now()
    for _ in range(8 * 6):  # eight minutes, ten-second steps
        clock.advance(10)
        elapsed = clock.now() - demo.started_at
        surge = {s: m for s, (at, m) in CASCADE.items() if at <= elapsed < at + 600}
        rows = demo.traffic.rows(last, 10, surge)
        for i, (ts, service, region, problem) in enumerate(rows.iter_rows()):
            app.runtime.pipeline.submit(ts, service, region, problem, f"r{clock.now()}-{i}")
        last = clock.now()
        app.runtime.tick()
    services = {d["service"] for d in app.runtime.store.open_incidents()}
    assert {"aws", "netflix", "coinbase"} <= services
    aws = next(
        d for d in app.runtime.store.open_incidents() if d["service"] == "aws" and not d["region"]
    )
    assert "netflix" in aws["related"]
