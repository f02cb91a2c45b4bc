"""Where batches are cut changes no decision, opening from partial buckets included.

The same reports, fed in one advance, in one advance per bucket (a live server
closing every bucket as it ends) or cut at random moments (a replay's chunks, a
worker's fetches, a takeover re-reading messages in other batches), give the same
incidents (ids, times, levels, counts, causes) and the same per-bucket scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import T0
from tests.partial_traffic import HISTORY_S, TAIL_S, Burst, bursts, drive_at, new_pipeline, traffic

SPAN = HISTORY_S + TAIL_S
ON_BUSY = {"mid": ("busy",), "quiet": ("busy",)}


def fed(
    seed: int, burst_list: Sequence[Burst], width: int, times: Sequence[float]
) -> tuple[list[dict[str, Any]], pl.DataFrame]:
    """The incidents and per-bucket scores of the traffic fed with advances at `times`."""
    scores: list[pl.DataFrame] = []
    pipeline = new_pipeline(scores, width)
    pipeline.set_providers(ON_BUSY)  # so a cause (`because_of`) is decided alike too
    run = drive_at(pipeline, traffic(seed, burst_list), times)
    return run.pipeline.all_incidents(), born(pl.concat(scores))


def born(scores: pl.DataFrame) -> pl.DataFrame:
    """Per-bucket scores from each series' first counted report on, in key order.

    A batch registers the series of all its reports at once, so a long batch scores
    series before their first report (nothing known, nothing raised) where short
    ones have not met them yet: those rows are not decisions."""
    key = ["service", "region"]
    first = scores.filter(pl.col("count") > 0).group_by(key).agg(pl.col("ts").min().alias("born"))
    return (
        scores.join(first, on=key, how="inner", nulls_equal=True)
        .filter(pl.col("ts") >= pl.col("born"))
        .drop("born")
        .sort("ts", "service", "region", nulls_last=True)
    )


def per_bucket(width: int) -> list[float]:
    return (T0 + width * np.arange(1, SPAN // width + 1)).tolist()


cuts = st.one_of(
    st.just("one"),
    st.just("bucket"),
    st.lists(st.floats(0, SPAN), max_size=40),  # anywhere, the history included
    st.lists(st.floats(HISTORY_S, SPAN), min_size=1, max_size=120),  # around the bursts
)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), bursts=bursts, width=st.sampled_from([60, 300]), cut=cuts)
def test_batch_cuts_change_no_decision(
    seed: int, bursts: list[Burst], width: int, cut: str | list[float]
) -> None:
    if cut == "one":
        times: list[float] = []
    elif cut == "bucket":
        times = per_bucket(width)
    else:
        times = sorted(T0 + s for s in cut)
    # Against the live form: the history as one chunk, then an advance every check point.
    live = T0 + HISTORY_S + 15.0 * np.arange(TAIL_S // 15 + 1)
    want = fed(seed, bursts, width, live.tolist())
    got = fed(seed, bursts, width, times)
    assert got[0] == want[0]
    assert got[1].equals(want[1])


def test_an_early_opening_is_the_same_in_one_batch_and_per_bucket() -> None:
    """The property above is not vacuous: this input opens from a partial bucket."""
    burst = Burst("quiet", None, 600, 3, 150, aggregated=False)
    one = fed(3, [burst], 60, [])
    live = fed(3, [burst], 60, per_bucket(60))
    early = [o for o in one[0] if o["service"] == "quiet"]
    assert early and not early[0]["opened_at"].endswith("10Z")  # not at a bucket's close
    assert one[0] == live[0]
    assert one[1].equals(live[1])
