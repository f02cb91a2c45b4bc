"""The one driver: a NATS worker's batches, however a fetch cut them, give the
incidents of the whole stream in one go (the reason a worker once stepped one bucket
at a time is gone), and a replay of the same reports gives them too."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.app.replay import replay
from tests.conftest import T0
from tests.scenario import background, to_csv

worker = pytest.importorskip("outagewatch.app.broker.worker", reason="pip install '.[nats]'")
TICK = "_tick"
HISTORY_MIN = 26 * 60
SURGE_AT = T0 + HISTORY_MIN * 60 + 7.0


def stream() -> list[list[Any]]:
    """Partition messages as intake nodes publish them: reports, then ticks."""
    rows = background(T0, HISTORY_MIN)
    rows += [
        {"ts": SURGE_AT + 0.15 * i, "service": "tinyapp", "region": "IT", "problem": "login",
         "reporter": f"s{i}"}
        for i in range(300)
    ]  # fmt: skip
    out = [[r["ts"], r["service"], r["region"], r["problem"], r["reporter"]] for r in rows]
    last = out[-1][0]
    return out + [[last + 60.0 * k, TICK, None, None, None] for k in range(1, 40)]


MESSAGES = stream()


def incidents(batches: list[list[list[Any]]]) -> list[dict[str, Any]]:
    pipeline = Pipeline()
    for batch in batches:
        reports, now = worker.reports_of(batch)
        drive(pipeline, now, reports)
    return pipeline.all_incidents()


@cache
def whole() -> list[dict[str, Any]]:
    return incidents([MESSAGES])


def test_the_stream_in_one_batch_opens_and_resolves_the_surge(tmp_path: Path) -> None:
    expected = whole()
    tiny = [o for o in expected if o["service"] == "tinyapp"]
    assert tiny and all(o["state"] == "resolved" for o in tiny)
    assert not [o for o in expected if o["service"] == "busy"]
    # A replay of the same reports (the file's end closes its last bucket) agrees.
    reports = [m for m in MESSAGES if m[1] != TICK]
    cols = ("ts", "service", "region", "problem", "reporter")
    csv = tmp_path / "reports.csv"
    csv.write_text(to_csv([dict(zip(cols, m, strict=True)) for m in reports]))
    _, replayed = replay(csv)
    assert [o["id"] for o in replayed] == [o["id"] for o in expected]
    assert [o["opened_at"] for o in replayed] == [o["opened_at"] for o in expected]


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(cuts=st.lists(st.integers(1, len(MESSAGES) - 1), min_size=1, max_size=40, unique=True))
def test_fetch_sizes_do_not_change_the_incidents(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(MESSAGES)]
    batches = [MESSAGES[a:b] for a, b in itertools.pairwise(bounds)]
    assert incidents(batches) == whole()
