"""A partition's restore set (what a NATS worker copies to JetStream for a takeover on
another host) restores the pipeline it was taken from: seeded into an empty store,
with the rest of the stream applied after it, it ends exactly where the partition
would have ended without the takeover, wherever the copy was taken."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import settings as app_settings
from tests.test_drive import MESSAGES

worker = pytest.importorskip("outagewatch.app.broker.worker", reason="pip install '.[nats]'")
STREAM = [(seq, orjson.dumps(m)) for seq, m in enumerate(MESSAGES, 1)]
BUCKETS = (
    "SELECT epoch(ts), service, region, count, expected, score, level "
    "FROM series_buckets WHERE epoch(ts) >= ? ORDER BY ALL"
)


def partition() -> Any:
    return worker.PartitionState(0, app_settings(None))


def run(state: Any, bounds: list[int]) -> dict[str, dict[str, Any]]:
    """Apply the stream in these batches; the incidents they changed, as they ended."""
    changed: dict[str, dict[str, Any]] = {}
    for a, b in itertools.pairwise(bounds):
        changed |= {inc["id"]: inc for inc in state.apply(STREAM[a:b]) or []}
    return changed


# Each example runs a day of stream three times: no shrinking (minutes per step).
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(
    # Copies after the history, in the surge or in the quiet after it (where it matters),
    # and anywhere in the history.
    at=st.one_of(
        st.integers(len(STREAM) - 360, len(STREAM) - 1), st.integers(1, len(STREAM) - 361)
    ),
    cuts=st.lists(st.integers(1, len(STREAM) - 1), max_size=20, unique=True),
)
def test_a_restore_set_carries_on_as_the_partition_would_have(at: int, cuts: list[int]) -> None:
    bounds = sorted({0, at, *cuts, len(STREAM)})
    before = [b for b in bounds if b <= at]
    after = [b for b in bounds if b >= at]

    whole = partition()
    whole.restore()
    run(whole, before)
    expected = run(whole, after)

    first = partition()
    first.restore()
    run(first, before)
    copy = first.restore_set()
    closed_until = first.pipeline.agg.closed_until
    taken = partition()  # another host: an empty store, seeded from the copy
    taken.restore(copy)
    assert taken.seq == at
    assert run(taken, after) == expected  # what a worker publishes to KV after the copy

    def counted(state: Any) -> list[tuple[Any, ...]]:
        return state.store.query(
            "SELECT seq, counted FROM reports WHERE seq > ? ORDER BY seq", [at]
        )

    assert counted(taken) == counted(whole)
    since = [closed_until or 0.0]
    assert taken.store.query(BUCKETS, since) == whole.store.query(BUCKETS, since)
    # Its file: the incidents open at the copy and all after it, as uninterrupted.
    stored = taken.store.incidents(state=None, limit=1000)[0]
    open_at_copy = {inc["id"] for inc in first.store.open_incidents()}
    assert {inc["id"] for inc in stored} == open_at_copy | expected.keys()
    assert [i for i in whole.store.incidents(state=None, limit=1000)[0] if i in stored] == stored
    # The copy holds what a restore reads (the open buckets, the dedup window), not
    # the partition's whole day.
    carried = taken.store.query("SELECT min(ts), max(ts) FROM reports WHERE seq <= ?", [at])
    (oldest, newest), window = carried[0], app_settings(None).dedup_window_s
    assert oldest is None or (newest - oldest).total_seconds() <= window + 120
