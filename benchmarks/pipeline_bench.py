"""In-process figures: detector update cost, memory per series, aggregator and bulk
validation throughput. Machines here are shared and noisy, so each figure is the
best of a few repeats, and ratios are taken within one run.

    .venv/bin/python -m benchmarks.pipeline_bench [--series 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import polars as pl

from outagewatch.detector.incidents import IncidentTracker
from outagewatch.detector.model import SeriesBank
from outagewatch.ingest.aggregator import Aggregator
from outagewatch.ingest.batch import normalize

T0 = 1_793_577_600.0


def best(fn: Callable[[], float], repeats: int = 3) -> float:
    return min(fn() for _ in range(repeats))


def detector_update(series: int, buckets: int = 200) -> dict[str, float]:
    """Cost of score + incidents + learn per series per bucket, all series at once."""
    rng = np.random.default_rng(0)
    rates = np.exp(rng.uniform(np.log(0.001), np.log(50), series))
    bank = SeriesBank(capacity=series)
    tracker = IncidentTracker()
    keys = [(f"s{i}", None) for i in range(series)]
    counts = rng.poisson(rates, size=(buckets * 2, series)).astype(np.float64)
    for i in range(buckets):  # warm the state first
        bank.step(T0 + i * 60, counts[i])

    def run() -> float:
        start = time.perf_counter()
        for i in range(buckets, 2 * buckets):
            t = T0 + i * 60
            step = bank.score(t, counts[i])
            _, learn, _ = tracker.observe(t, t + 70, step, counts[i], keys)
            bank.learn(learn)
        return (time.perf_counter() - start) / (buckets * series)

    per = best(run, 2)
    return {
        "series": series,
        "us_per_series_bucket": per * 1e6,
        "series_buckets_per_s": 1 / per,
        "state_bytes_per_series": bank.nbytes_per_series(),
    }


def memory_100k() -> dict[str, float]:
    """Resident memory of 100k watched series (bank + tracker + registry)."""
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = 100_000
    bank = SeriesBank(capacity=n)
    bank.ensure(n)
    for arr in bank.state().values():  # touch every page
        arr.fill(0)
    tracker = IncidentTracker()
    keys = [(f"service-{i // 4}", None if i % 4 == 0 else "IT") for i in range(n)]
    step = bank.step(T0, np.ones(n))
    tracker.observe(T0, T0 + 70, step, np.ones(n), keys)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grown_mb = (after - before) / 1024
    return {"series": n, "rss_growth_mb": grown_mb, "bytes_per_series": grown_mb * 2**20 / n}


def aggregator_rows(rows: int = 600_000) -> dict[str, float]:
    rng = np.random.default_rng(1)
    df = pl.DataFrame(
        {
            "ts": np.sort(T0 + rng.uniform(0, 3 * 86400, rows)),
            "service": rng.choice([f"svc{i}" for i in range(500)], rows),
            "region": rng.choice(["US", "IT", "FR", None], rows),
            "problem": rng.choice(["login", "app", None], rows),
            "weight": np.ones(rows, dtype=np.int64),
        }
    )

    def run() -> float:
        agg = Aggregator(60, 10)
        start = time.perf_counter()
        for chunk in df.iter_slices(100_000):
            agg.add(chunk)
            agg.close(float(chunk["ts"].max()))  # type: ignore[arg-type]
        return rows / (time.perf_counter() - start)

    return {"rows": rows, "rows_per_s": best(run)}


def bulk_validation(rows: int = 200_000) -> dict[str, float]:
    """The import endpoint's parse + vectorised validation, without HTTP."""
    from outagewatch.app.import_body import parse_import_body

    rng = np.random.default_rng(2)
    body = b"\n".join(
        orjson.dumps({"ts": T0 + i, "service": f"svc{i % 300}", "region": "IT", "count": int(c)})
        for i, c in enumerate(rng.integers(1, 5, rows))
    )

    def run() -> float:
        start = time.perf_counter()
        normalize(parse_import_body(body))
        return rows / (time.perf_counter() - start)

    return {"rows": rows, "rows_per_s": best(run)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    out: dict[str, Any] = {
        "detector": detector_update(args.series),
        "memory": memory_100k(),
        "aggregator": aggregator_rows(),
        "bulk_validation": bulk_validation(),
    }
    for name, figures in out.items():
        print(name, {k: round(v, 2) for k, v in figures.items()})
    if args.json:
        with open(args.json, "wb") as fh:
            fh.write(orjson.dumps(out, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
