"""Bucket edges, lateness, zero buckets, and conservation (hypothesis)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.ingest.aggregator import MAX_BUCKETS_PER_CLOSE, MAX_CELLS_PER_CLOSE, Aggregator


def batch(rows: list[tuple[float, str, str | None, str | None, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "ts": pl.Float64,
            "service": pl.String,
            "region": pl.String,
            "problem": pl.String,
            "weight": pl.Int64,
        },
        orient="row",
    )


def closed(agg: Aggregator, now: float) -> dict[float, np.ndarray]:
    out: dict[float, np.ndarray] = {}
    for b in agg.close(now):
        for bucket in b:
            out[bucket.start] = bucket.counts
    return out


def test_bucket_edges_belong_to_the_bucket_they_start() -> None:
    agg = Aggregator(60, lateness=0)
    agg.add(batch([(59.999, "a", None, None, 1), (60.0, "a", None, None, 1)]))
    got = closed(agg, 120.0)
    assert got[0.0].tolist() == [1.0]
    assert got[60.0].tolist() == [1.0]


def test_regional_reports_count_toward_both_levels() -> None:
    agg = Aggregator(60, lateness=0)
    agg.add(batch([(1, "a", "IT", "login", 1), (2, "a", "FR", None, 2), (3, "a", None, None, 1)]))
    got = closed(agg, 60.0)
    ids = {k: agg.series.get(k) for k in [("a", "IT"), ("a", "FR"), ("a", None)]}
    counts = got[0.0]
    assert counts[ids[("a", "IT")]] == 1
    assert counts[ids[("a", "FR")]] == 2
    assert counts[ids[("a", None)]] == 4


def test_quiet_buckets_are_emitted_as_zeros() -> None:
    agg = Aggregator(60, lateness=0)
    agg.add(batch([(0, "a", None, None, 3)]))
    got = closed(agg, 300.0)
    assert sorted(got) == [0.0, 60.0, 120.0, 180.0, 240.0]
    assert [got[t][0] for t in sorted(got)] == [3, 0, 0, 0, 0]


def test_late_report_within_lateness_lands_in_its_own_bucket() -> None:
    agg = Aggregator(60, lateness=10)
    agg.add(batch([(50, "a", None, None, 1)]))
    assert closed(agg, 65.0) == {}  # bucket [0, 60) waits until 70
    agg.add(batch([(59, "a", None, None, 1)]))  # late by 6 s: still counted in [0, 60)
    got = closed(agg, 70.0)
    assert got[0.0].tolist() == [2.0]
    assert agg.add(batch([(10, "a", None, None, 5)])) == 5  # too late now
    assert agg.too_late == 5


def test_uncounted_reports_do_not_count() -> None:
    agg = Aggregator(60, lateness=0)
    agg.add(batch([(1, "a", None, None, 0), (2, "a", None, None, 1)]))
    assert closed(agg, 60.0)[0.0].tolist() == [1.0]


report = st.tuples(
    st.floats(min_value=0, max_value=3000, allow_nan=False),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from([None, "IT", "US"]),
    st.sampled_from([None, "login", "app"]),
    st.integers(min_value=1, max_value=5),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(report, min_size=1, max_size=80), seed=st.integers(0, 2**16))
def test_counts_are_conserved_and_order_independent(
    rows: list[tuple[float, str, str | None, str | None, int]], seed: int
) -> None:
    """Any arrival order, in any batching, gives the same buckets, and every report
    is counted once at each of its levels."""

    def run(order: list[int], cuts: int) -> dict[tuple[float, str, str | None], float]:
        # Arrivals are ordered in time up to the allowed lateness: feed the rows sorted
        # by ts with shuffles inside each lateness-sized group, in several batches.
        agg = Aggregator(60, lateness=3000)
        shuffled = [rows[i] for i in order]
        for part in np.array_split(np.arange(len(shuffled)), cuts):
            if len(part):
                agg.add(batch([shuffled[i] for i in part]))
        out: dict[tuple[float, str, str | None], float] = {}
        for t, counts in closed(agg, 10_000.0).items():
            for sid, c in enumerate(counts):
                if c:
                    key = agg.series.key(sid)
                    out[(t, key[0], key[1])] = float(c)
        return out

    rng = np.random.default_rng(seed)
    base = run(list(range(len(rows))), 1)
    other = run(list(rng.permutation(len(rows))), int(rng.integers(1, 5)))
    assert base == other
    total_wide = sum(c for (_, _, region), c in base.items() if region is None)
    assert total_wide == sum(r[4] for r in rows)
    total_regional = sum(c for (_, _, region), c in base.items() if region is not None)
    assert total_regional == sum(r[4] for r in rows if r[2] is not None)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 179),
                st.sampled_from(["a", "b", "zz", "ü", "a b"]),
                st.sampled_from([None, "PL", "ID", "FR"]),
                st.sampled_from([None, "login", "app"]),
                st.integers(1, 3),
            ),
            max_size=30,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_keys_are_matched_through_their_codes_to_the_series_they_name(
    batches: list[list[tuple[int, str, str | None, str | None, int]]],
) -> None:
    """Batch after batch (new services, new regions and new pairs of known ones among
    them), each series' counts are exactly the reports of its (service, region), and
    ids go to new keys in sorted order, service-wide first."""
    agg = Aggregator(60, lateness=0)
    expect: dict[tuple[float, str, str | None], int] = {}
    for i, rows in enumerate(batches):
        start = i * 180.0  # each batch its own three buckets
        known = len(agg.series)
        agg.add(batch([(start + ts, s, r, p, w) for ts, s, r, p, w in rows]))
        got = closed(agg, start + 180.0)
        for ts, s, r, _, w in rows:
            b = start + ts // 60 * 60
            for key in {(s, r), (s, None)}:
                expect[(b, *key)] = expect.get((b, *key), 0) + w
        new = agg.series.keys()[known:]
        assert new == sorted(new, key=lambda k: (k[0], k[1] is not None, k[1] or ""))
        for b, counts in got.items():
            for sid, k in enumerate(agg.series.keys()[: len(counts)]):
                assert counts[sid] == expect.get((b, *k), 0), (b, k)


def test_a_long_close_is_cut_by_the_size_of_its_matrix() -> None:
    """One series' three days close as one batch (its per-batch work paid once); with
    thousands of series a batch stays a day, so the dense matrix stays bounded. Either
    way every bucket is there once, with its count."""
    days = 3 * 1440
    few = Aggregator(60, lateness=0)
    few.add(batch([(60.0 * i, "a", None, None, 1 + i % 3) for i in range(days)]))
    batches = few.close(60.0 * days)
    assert [len(b.starts) for b in batches] == [days]
    assert batches[0].counts[:, 0].tolist() == [float(1 + i % 3) for i in range(days)]

    many = Aggregator(60, lateness=0)
    many.add(batch([(0.0, f"s{k}", None, None, 1) for k in range(5000)]))
    many.add(batch([(60.0 * i, "s0", None, None, 1) for i in range(1, days)]))
    batches = many.close(60.0 * days)
    assert max(len(b.starts) for b in batches) <= MAX_BUCKETS_PER_CLOSE
    assert max(b.counts.size for b in batches) > MAX_CELLS_PER_CLOSE  # the floor of a day
    starts = np.concatenate([b.starts for b in batches])
    assert starts.tolist() == [60.0 * i for i in range(days)]
    assert sum(float(b.counts.sum()) for b in batches) == 5000 + days - 1
