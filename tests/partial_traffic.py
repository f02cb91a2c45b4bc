"""Small generated traffic that exercises opening from partial buckets, and a driver
that feeds it to the pipeline the way the server or a replay does (real pipeline,
no mocks): history in one batch, then ingest + advance on a tick."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from hypothesis import strategies as st

from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.ingest.batch import OUT_SCHEMA
from tests.conftest import T0

HISTORY_S = 25 * 3600  # the system raises nothing before it has seen a day
TAIL_S = 3600
RATES = {"busy": 4.0, "mid": 0.8, "quiet": 0.05}  # reports per minute, service-wide
REGIONS = ["DE", "FR", "US"]
PROBLEMS = ["login", "app", "payments"]


@dataclass(frozen=True)
class Burst:
    service: str
    region: str | None
    start_s: int  # after the history
    minutes: int
    per_minute: int
    aggregated: bool  # one row with a count per minute, else one row per report


@dataclass
class Run:
    pipeline: Pipeline
    published: list[dict[str, Any]] = field(default_factory=list)  # every event, in order
    scores: list[pl.DataFrame] = field(default_factory=list)

    def score_frame(self) -> pl.DataFrame:
        return pl.concat(self.scores)


# A few bursts over an hour of background traffic (for the property tests).
bursts = st.lists(
    st.builds(
        Burst,
        service=st.sampled_from(["busy", "mid", "quiet"]),
        region=st.sampled_from([None, "DE", "FR"]),
        start_s=st.integers(0, TAIL_S - 900),
        minutes=st.integers(1, 6),
        per_minute=st.sampled_from([3, 12, 40, 150]),
        aggregated=st.booleans(),
    ),
    max_size=3,
)


def traffic(seed: int, bursts: Sequence[Burst]) -> pl.DataFrame:
    """Rows as `ingest.batch.normalize` returns them, sorted by ts."""
    rng = np.random.default_rng(seed)
    minutes = (HISTORY_S + TAIL_S) // 60
    cols: dict[str, list[Any]] = {k: [] for k in ("ts", "service", "region", "problem", "count")}
    cols["reporter"] = []
    for service, rate in RATES.items():
        counts = rng.poisson(rate, minutes)
        for m in np.flatnonzero(counts).tolist():
            cols["ts"].append(T0 + m * 60 + float(rng.uniform(0, 60)))
            cols["service"].append(service)
            cols["region"].append(str(rng.choice(REGIONS)) if rng.random() < 0.8 else None)
            cols["problem"].append(str(rng.choice(PROBLEMS)))
            cols["count"].append(int(counts[m]))
            cols["reporter"].append(None)
    for k, burst in enumerate(bursts):
        at = T0 + HISTORY_S + burst.start_s
        for m in range(burst.minutes):
            if burst.aggregated:
                stamps = [at + m * 60 + float(rng.uniform(0, 60))]
                sizes = [burst.per_minute]
            else:
                stamps = sorted((at + m * 60 + rng.uniform(0, 60, burst.per_minute)).tolist())
                sizes = [1] * burst.per_minute
            for i, (ts, size) in enumerate(zip(stamps, sizes, strict=True)):
                cols["ts"].append(round(ts, 3))
                cols["service"].append(burst.service)
                cols["region"].append(burst.region)
                cols["problem"].append(PROBLEMS[i % 2])
                cols["count"].append(size)
                cols["reporter"].append(None if burst.aggregated else f"b{k}-{m}-{i}")
    return pl.DataFrame(cols, schema=OUT_SCHEMA).sort("ts")


def drive(pipeline: Pipeline, rows: pl.DataFrame, tick_s: float) -> Run:
    """History in one ingest + advance (as a replay chunk), then one tick every `tick_s`
    seconds of stream time (as the server), then the end closes the last bucket."""
    cut = T0 + HISTORY_S
    ticks = np.arange(cut + tick_s, cut + TAIL_S + tick_s, tick_s).tolist()
    return drive_at(pipeline, rows, [cut, *ticks])


def drive_at(pipeline: Pipeline, rows: pl.DataFrame, times: Sequence[float]) -> Run:
    """One advance at each of `times` (increasing), each after ingesting the rows stamped
    up to it, then an hour of silence after the traffic: what was open resolves."""
    run = Run(pipeline)
    pipeline.listeners.append(run.published.extend)
    ends = np.searchsorted(rows["ts"].to_numpy(), times, side="right")
    start = 0
    for now, end in zip(times, ends.tolist(), strict=True):
        if end > start:
            pipeline.ingest(rows.slice(start, end - start))
            start = end
        pipeline.advance(now)
    if start < len(rows):
        pipeline.ingest(rows.slice(start))
    pipeline.advance(T0 + HISTORY_S + TAIL_S + 3600)
    return run


def new_pipeline(run: list[pl.DataFrame], width: int, cls: type[Pipeline] = Pipeline) -> Pipeline:
    return cls(PipelineConfig(bucket_seconds=width), scores_sink=run.append)


def replayed(
    seed: int, bursts: Sequence[Burst], width: int, tick_s: float, cls: type[Pipeline] = Pipeline
) -> Run:
    scores: list[pl.DataFrame] = []
    run = drive(new_pipeline(scores, width, cls), traffic(seed, bursts), tick_s)
    run.scores = scores
    return run
