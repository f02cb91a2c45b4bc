"""A plain report file for throughput runs: N weeks of seasonal Poisson traffic for
many services (no labelled incidents: see benchmarks/accuracy for those).

    python -m benchmarks.gen_reports OUT.csv [--weeks 3] [--reports 600000] [--services 40]
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

T0 = 1_793_577_600.0  # a Monday, 00:00 UTC
REGIONS = np.array(["US", "GB", "DE", "IT", "FR"])
PROBLEMS = np.array(["login", "app", "website"])


def generate(weeks: int, reports: int, services: int, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = weeks * 7 * 1440
    names = np.array([f"svc{i:03d}" for i in range(services)])
    rates = np.exp(rng.uniform(np.log(4 / 1440), np.log(3.0), services))
    hour = (np.arange(minutes) // 60) % 24
    daily = 0.3 + 1.4 * ((hour >= 8) & (hour < 23))
    rates *= reports / (rates.sum() * daily.sum())
    counts = rng.poisson(rates[None, :] * daily[:, None])
    minute, svc = np.nonzero(counts)
    reps = counts[minute, svc]
    minute, svc = np.repeat(minute, reps), np.repeat(svc, reps)
    n = len(minute)
    df = pl.DataFrame(
        {
            "ts": T0 + minute * 60 + rng.uniform(0, 60, n),
            "service": names[svc],
            "region": REGIONS[rng.integers(0, len(REGIONS), n)],
            "problem": PROBLEMS[rng.integers(0, len(PROBLEMS), n)],
            "reporter": pl.int_range(n, eager=True).cast(pl.String).str.pad_start(8, "0"),
        }
    ).sort("ts")
    return df.with_columns(
        pl.from_epoch((pl.col("ts") * 1000).cast(pl.Int64), time_unit="ms")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .alias("ts")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument("--reports", type=int, default=600_000)
    parser.add_argument("--services", type=int, default=40)
    args = parser.parse_args()
    df = generate(args.weeks, args.reports, args.services)
    df.write_csv(args.out)
    print(f"{len(df):,} reports -> {args.out}")


if __name__ == "__main__":
    main()
