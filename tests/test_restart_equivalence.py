"""A restart, clean or after a crash, carries on as if the pipeline had never stopped:
the same incidents, to the last field, as one run from start to end. The restarted
pipeline is restored from its store as the server restores it (app/engine/restore.py),
from a snapshot taken at the stop or, after a crash, some seconds before it (the
buckets closed since are stepped again from the stored reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.app.engine.restore import restore
from outagewatch.ingest.store import Store
from tests.conftest import T0
from tests.partial_traffic import HISTORY_S, TAIL_S, Burst, bursts, drive_at, traffic

CUT = T0 + HISTORY_S
TIMES = [CUT, *np.arange(CUT + 10, CUT + TAIL_S + 10, 10.0).tolist()]
# Four services rising within minutes of each other: their incidents name each other.
WAVE = [
    Burst("busy", None, 600, 6, 150, False),
    Burst("mid", None, 640, 5, 40, False),
    Burst("quiet", None, 700, 4, 12, False),
    Burst("mid", "DE", 900, 3, 40, False),
]


def feed(store: Store) -> list[dict[str, Any]]:
    found, _ = store.incidents(state=None, limit=100_000)
    return sorted(found, key=lambda o: str(o["id"]))


def pipeline(path: Path) -> tuple[Pipeline, Store]:
    store = Store(path / "db.duckdb")
    return Pipeline(PipelineConfig(bucket_seconds=60), store=store), store


def never_stopped(rows: pl.DataFrame, path: Path) -> list[dict[str, Any]]:
    p, store = pipeline(path)
    drive_at(p, rows, TIMES)
    return feed(store)


def restarted(rows: pl.DataFrame, path: Path, stop: float, lag: float) -> list[dict[str, Any]]:
    """Stopped at `stop` with its last snapshot `lag` seconds older, then restored."""
    before = [t for t in TIMES if t <= stop]
    p, store = pipeline(path)
    ts = rows["ts"].to_numpy()
    start, blob, taken = 0, None, 0.0
    for now, end in zip(before, np.searchsorted(ts, before, side="right").tolist(), strict=True):
        if end > start:
            p.ingest(rows.slice(start, end - start))
            start = end
        p.advance(now)
        if now <= stop - lag:
            blob, taken = p.snapshot(), now
    assert blob is not None
    store.save_snapshot("pipeline", taken, blob)
    store.close()
    p, store = pipeline(path)
    restore(p, store, "pipeline")
    drive_at(p, rows.slice(start), [t for t in TIMES if t > stop])
    return feed(store)


def test_a_wave_restarted_anywhere_gives_the_same_incidents(tmp_path: Path) -> None:
    """Stops in the wave: as its incidents open (each then names services that open
    after the restart), after a crash whose snapshot predates incidents the store has
    (opened again from the same reports, not counted twice), and while they resolve."""
    rows = traffic(3, WAVE)
    reference = never_stopped(rows, tmp_path / "ref")
    assert {o["service"] for o in reference} == {"busy", "mid", "quiet"}
    assert all(len(o["related"]) == 2 for o in reference)
    for k, (stop, lag) in enumerate([(650, 0), (800, 0), (700, 40), (650, 130), (1000, 60)]):
        assert restarted(rows, tmp_path / str(k), CUT + stop, lag) == reference, (stop, lag)


@settings(max_examples=4, deadline=None)
@given(
    bursts,
    st.integers(0, (TAIL_S - 100) // 10),
    st.sampled_from([0.0, 30.0, 90.0]),
    st.integers(0, 2**16),
)
def test_any_restart_gives_the_same_incidents(
    tmp_path_factory: Any, given_bursts: list[Burst], stop_at: int, lag: float, seed: int
) -> None:
    rows = traffic(seed, given_bursts)
    path = tmp_path_factory.mktemp("restart")
    reference = never_stopped(rows, path / "ref")
    # The stop comes at least `lag` after the first tick, so a snapshot was taken.
    stop = CUT + lag + 10 * stop_at
    assert restarted(rows, path / "restarted", stop, lag) == reference
