"""A service's problems over the last hour, served from the writer's published counts,
are what the store's query over problem buckets says, from whenever they are asked; after
a restart, until an hour has been held again, they come from the store."""

from __future__ import annotations

import random
from pathlib import Path

from outagewatch.ingest.clock import ManualClock
from tests.conftest import T0, import_rows, running, tick_to

SERVICES = ["aws", "netflix", "tinyapp", "svc-a1"]
PROBLEMS = ["login", "app", "payments", None, "odd-slug", "website"]


def history(minutes: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for m in range(minutes):
        for _ in range(rng.randrange(0, 12)):
            row: dict[str, object] = {
                "ts": T0 + m * 60 + rng.random() * 59,
                "service": rng.choice(SERVICES),
                "region": rng.choice(["DE", "PL", "FR", None]),
            }
            if (problem := rng.choice(PROBLEMS)) is not None:
                row["problem"] = problem
            rows.append(row)
    return rows


def test_the_last_hours_problems_match_the_store(clock: ManualClock, tmp_path: Path) -> None:
    end = T0 + 150 * 60 + 20
    with running(clock, tmp_path) as (app, client):
        clock.set(end)
        import_rows(client, history(150, seed=1))
        tick_to(app, clock, end + 5)
        rt = app.runtime
        view = rt.view
        asked = 0
        for service in SERVICES:
            sid = view.sid((service, None))
            assert sid is not None
            # some on a bucket's start: the bucket is in
            for since in (end + 5 - 3600, end - 3600, end - 1800, T0 + 120 * 60, T0 + 149 * 60,
                          T0 + 149 * 60 + 1, end + 5):  # fmt: skip
                held = view.problems.top(sid, since)
                assert held is not None
                assert held == rt.store.top_problems(service, since), (service, since)
                asked += bool(held)
        assert asked > 10  # most answers are not empty
        # The detail that pages are drawn from carries them, shares and all.
        detail = client.get("/v1/services/aws").json()
        expected = rt.store.top_problems("aws", rt.clock.now() - 3600)
        assert [(p["problem"], p["reports"]) for p in detail["top_problems"]] == expected[:6]

    # A restart holds no hour yet: the store answers until one has been held again.
    with running(clock, tmp_path) as (app, client):
        rt = app.runtime
        sid = rt.view.sid(("aws", None))
        assert sid is not None
        now = rt.clock.now()
        assert rt.view.problems.top(sid, now - 3600) is None
        detail = client.get("/v1/services/aws").json()
        expected = rt.store.top_problems("aws", now - 3600)
        assert expected
        assert [(p["problem"], p["reports"]) for p in detail["top_problems"]] == expected[:6]
