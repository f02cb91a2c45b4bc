"""The planned partial-bucket checks (app/engine/early.py): grouped by bucket and model
state as the live server meets them, with each series' largest partial count as
`series_counts` counts it (what the compiled screen between buckets reads)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.engine.early import PartialBuckets, plan_checks
from outagewatch.ingest.series import SeriesIndex

WIDTH = 60
reports = st.lists(
    st.tuples(
        st.floats(0.0, 4 * WIDTH - 1e-3),  # seconds into the stream
        st.sampled_from(["aws", "netflix", "quiet"]),
        st.sampled_from([None, "DE", "FR"]),
        st.sampled_from([1.0, 0.5, 3.0]),  # weight
    ),
    min_size=1,
    max_size=120,
)


def reference(grid: np.ndarray, gi: np.ndarray, sid: np.ndarray, lateness: float) -> list:
    """The plan by its definition: from a bucket's first passing point, one check per
    run of points sharing the model state they need, holding the series passed by then."""
    out = []
    buckets = np.floor(grid / WIDTH)
    ready = np.floor((grid - lateness) / WIDTH) * WIDTH
    for b in sorted(set(buckets[gi].tolist())):
        mine = buckets[gi] == b
        points = [j for j in range(len(grid)) if buckets[j] == b and j >= gi[mine].min()]
        runs: list[list[int]] = []
        for j in points:
            if runs and ready[runs[-1][-1]] == ready[j]:
                runs[-1].append(j)
            else:
                runs.append([j])
        for run in runs:
            passed = mine & (gi <= run[-1])
            out.append((ready[run[0]], b * WIDTH, grid[run].tolist(), sid[passed].tolist()))
    return out


@settings(max_examples=200, deadline=None)
@given(rows=reports, bar=st.sampled_from([1.0, 2.0, 4.0]), lateness=st.sampled_from([0.0, 25.0]))
def test_checks_are_planned_as_met_with_their_largest_counts(
    rows: list, bar: float, lateness: float
) -> None:
    t0 = 1_700_000_000.0
    held = PartialBuckets(WIDTH, 15.0, SeriesIndex())
    held.add(
        pl.DataFrame(
            {
                "ts": [t0 + r[0] for r in rows],
                "service": [r[1] for r in rows],
                "region": [r[2] for r in rows],
                "weight": [r[3] for r in rows],
            },
            schema={
                "ts": pl.Float64,
                "service": pl.String,
                "region": pl.String,
                "weight": pl.Float64,
            },
        )
    )
    n = len(held.series)
    grid = held.grid(t0 + 4 * WIDTH)
    gi, sid = held.crossings(grid, np.full(n, bar))
    plan = plan_checks(grid, gi, sid, WIDTH, lateness, held)

    checks = [plan[i] for i in range(len(plan))]
    got = [(c.ready_at, c.bucket, c.points.tolist(), c.sids.tolist()) for c in checks]
    assert got == reference(grid, gi, sid, lateness)
    for i, c in enumerate(checks):
        counts = held.series_counts(c.sids, c.points)
        most = plan.most[plan.ptr[i] : plan.ptr[i + 1]]
        np.testing.assert_array_equal(most, counts.max(axis=1))
        assert (most >= bar).all()  # every series in a check passed the lowest bar
    if len(gi):
        assert math.isclose(checks[0].points[0], grid[gi[0]])
