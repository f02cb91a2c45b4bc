"""Partial-bucket checks: the fast path decides exactly as the straightforward one.

`Pipeline.advance` screens the grid of check points in one vectorised pass and runs
the exact test just before the bucket it waits for is stepped, inside one batch of
closed buckets. The reference below is the plain form it replaced (and the
definition of the behaviour): every grid point in turn, the buckets a live server
would have closed by then closed first, then the test. Both must give the same
incidents (ids, times, counts) and the same per-bucket scores, on any tick.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outagewatch.app.engine.early import PartialBuckets
from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.ingest.series import SeriesIndex
from tests.conftest import T0
from tests.partial_traffic import TAIL_S, Burst, bursts, replayed


class Reference(Pipeline):
    """Every grid point in turn: close up to it, screen with the bar of the model as it
    stands there, exact test (no crediting)."""

    def advance(self, now: float) -> list[dict[str, Any]]:
        with self._work:
            self.now = max(self.now, now)
            raw = self._drain()
            if raw is not None:
                counted = raw.with_columns(pl.col("weight") * pl.col("counted"))
                self.agg.add(counted)
                self.partial.add(counted)
            changed: dict[str, dict[str, Any]] = {}
            frames: list[pl.DataFrame] = []

            def close(until: float) -> None:
                for batch in self.agg.close(until):
                    frames.append(self._steps(batch, changed)[0])

            self._every_point(close, changed)
            close(self.now)
            if self.agg.closed_until is not None:
                self.partial.prune(self.agg.closed_until)
            self._write(frames, [], list(changed.values()))
            return list(changed.values())

    def _every_point(self, close: Any, changed: dict[str, dict[str, Any]]) -> None:
        ip = self.config.incidents
        width = self.config.bucket_seconds
        for g in self.partial.grid(self.now).tolist():
            n = len(self.agg.series)
            counts = self.partial.counts(g, n)
            # No model gives a bar below a zero peak's: skip the close where nothing can pass.
            if not (counts >= self._screen_bar(np.zeros(n))).any():
                continue
            close(g)
            n = len(self.agg.series)
            self.bank.ensure(n)
            # The bar as the model stands at g (stepped through what a live server had closed).
            screen = counts >= self._screen_bar(self.bank.daily_peak(np.arange(n)))
            allowed = self._allowed(n)
            cand = [
                int(s)
                for s in np.flatnonzero(screen[:n] & allowed)
                if int(s) not in self.tracker.open
            ]
            if not cand:
                continue
            b = math.floor(g / width) * width
            mu = self.bank.expected(b, n)[cand]
            ids = np.asarray(cand, dtype=np.int64)
            log_p = self.bank.bucket_logsf(b, counts[cand], ids)
            keys = self.agg.series.keys()
            cause = self.tracker.common_cause(b, g, keys)
            for sid, lp, m in zip(cand, log_p, mu, strict=True):
                if lp <= math.log(ip.p_outage):
                    inc = self.tracker.open_early(sid, keys[sid], b, g, float(m), cause.of.get(sid))
                    if inc is not None:
                        self.bank.restart_cusum([sid])
                        self.incidents[inc.id] = inc
                        changed[inc.id] = inc.to_dict()


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    bursts=bursts,
    width=st.sampled_from([60, 300]),
    tick_s=st.sampled_from([5.0, 20.0, 600.0, float(TAIL_S)]),
)
def test_fast_checks_decide_as_every_point(
    seed: int, bursts: list[Burst], width: int, tick_s: float
) -> None:
    fast = replayed(seed, bursts, width, tick_s)
    ref = replayed(seed, bursts, width, tick_s, Reference)
    assert fast.pipeline.all_incidents() == ref.pipeline.all_incidents()
    assert fast.score_frame().equals(ref.score_frame())


def test_a_burst_opens_early_on_both_paths() -> None:
    """The property above is not vacuous: this input opens from a partial bucket."""
    burst = Burst("quiet", None, 600, 3, 150, aggregated=False)
    fast = replayed(3, [burst], 60, 5.0)
    ref = replayed(3, [burst], 60, 5.0, Reference)
    early = [o for o in fast.pipeline.all_incidents() if o["service"] == "quiet"]
    assert early and not early[0]["opened_at"].endswith("10Z")  # not at a bucket's close
    assert fast.pipeline.all_incidents() == ref.pipeline.all_incidents()


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(  # on grid points and bucket edges too
        st.floats(0, 600, allow_nan=False) | st.integers(0, 40).map(lambda k: 15.0 * k),
        max_size=60,
    ),
    seed=st.integers(0, 2**16),
    width=st.sampled_from([30, 60, 300]),
    start=st.sampled_from([0.0, 45.0, 290.0]),
    points=st.integers(1, 40),
)
def test_screen_by_report_equals_screen_by_point(
    stamps: list[float], seed: int, width: int, start: float, points: int
) -> None:
    rng = np.random.default_rng(seed)
    n = len(stamps)
    rows = pl.DataFrame(
        {
            "ts": [T0 + s for s in stamps],
            "service": [f"s{k}" for k in rng.integers(0, 3, n)],
            "region": [[None, "DE", "FR"][k] for k in rng.integers(0, 3, n)],
            "problem": [None] * n,
            "weight": rng.integers(1, 6, n),
        },
        schema={"ts": pl.Float64, "service": pl.String, "region": pl.String,
                "problem": pl.String, "weight": pl.Int64},
    )  # fmt: skip
    held = PartialBuckets(width, 15.0, SeriesIndex())
    held.add(rows)
    grid = T0 + start + 15.0 * np.arange(1, points + 1)
    grid = grid[grid % width != 0]
    bar = rng.integers(1, 12, len(held.series)).astype(np.float64)
    by_point = held.crossings_by_point(grid, bar)
    by_report = held.crossings_by_report(grid, bar)
    assert by_point[0].tolist() == by_report[0].tolist()
    assert by_point[1].tolist() == by_report[1].tolist()
