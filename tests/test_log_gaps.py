"""Gaps in sequence numbers: found exactly, and once acknowledged, held (app/log_gaps.py)."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.log_gaps import missing_runs
from outagewatch.ingest.store import REPORT_COLUMNS, Store

seq_sets = st.sets(st.integers(min_value=1, max_value=60), max_size=40)


@given(after=st.integers(min_value=0, max_value=20), held=seq_sets)
def test_runs_are_exactly_the_missing_numbers(after: int, held: set[int]) -> None:
    top = max(held, default=after)
    runs = missing_runs(after, top, held)
    covered = [s for a, b in runs for s in range(a, b + 1)]
    assert covered == sorted(set(range(after + 1, top + 1)) - held)
    # maximal runs: none touches the next one
    assert all(b + 1 < c for (_, b), (c, _) in itertools.pairwise(runs))


def store_with(seqs: set[int]) -> Store:
    store = Store()
    rows = sorted(seqs)
    store.append_reports(
        pl.DataFrame(
            {
                "ts": [1.8e9] * len(rows),
                "service": ["aws"] * len(rows),
                "region": [None] * len(rows),
                "problem": [None] * len(rows),
                "reporter": [f"r{s}" for s in rows],
                "weight": [1] * len(rows),
                "counted": [True] * len(rows),
                "seq": rows,
            },
            schema=REPORT_COLUMNS,
        )
    )
    return store


@settings(max_examples=40, deadline=None)
@given(stored=seq_sets, after=st.integers(min_value=0, max_value=10))
def test_an_acknowledged_gap_counts_as_held(stored: set[int], after: int) -> None:
    """contiguous_seq over the real DuckDB tables is where the stored numbers and the
    recorded gaps together stop being 1..n."""
    stored |= set(range(1, after + 1))  # every one up to `after` is held, as promised
    store = store_with(stored)
    top = max(stored, default=0)
    runs = missing_runs(0, top, stored)
    before = store.contiguous_seq(after)
    assert before == (runs[0][0] - 1 if runs else top)
    store.record_seq_gaps(runs, 1.8e9, "")
    assert store.contiguous_seq(after) == top
    assert store.seqs_above(after) == frozenset(range(after + 1, top + 1))
    store.close()
