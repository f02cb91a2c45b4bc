"""Replay, beside floors measured in the same run: pre-aggregated rows (one row per
bucket carrying a count) and individual reports.

Three files, each replayed as `outagewatch replay FILE --bucket B --scores s.csv
--feed f.json` does (without the interpreter's start):

- AAPL, the single-series worst case: NAB's realTweets AAPL file (tweets per 5
  minutes, 15.9k rows standing for 1.36M tweets) turned into a replay file (ts,
  service "aapl", count) as a user would; `--bucket 5m`. Every row is a bucket of
  its own, so the per-bucket step is paid once per row.
- wide: 500 services x 3 days of 1-minute rows with small counts (1 + Poisson of a
  rate with a daily cycle; three services surge for 20 minutes on the last day),
  generated deterministically here; `--bucket 1m`. 500 rows share each bucket.
- reports: 3 weeks of individual reports (benchmarks/gen_reports.py: ~600k reports,
  40 services x 5 regions, seasonal Poisson), the file of issue 17's replay target
  (<= 4x its floor); `--bucket 1m`, every report deduplicated and aggregated.

Figures per file, each the best of `--repeats` runs in this process, wall clock and
CPU time of this process (the machine may be shared: CPU time is the steadier one):

- floor: polars reading the same file and summing it per (bucket, service) (the
  reports: counting them per minute, service and region);
- replay: `app.replay.replay`, scores CSV and feed written;
- replay without partial-bucket checks (`early_check_s=0`): what the per-bucket
  detector step costs on its own, so the checks' share is the difference.

    .venv/bin/python -m benchmarks.replay_bench [--nab PATH] [--repeats 3] [--json out.json]
        [--only aapl|wide|reports]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from outagewatch.app.engine.pipeline import PipelineConfig
from outagewatch.app.replay import replay

NAB = Path("../shared/data/nab-realtweets-dev/Twitter_volume_AAPL.csv")
BUCKET = 300
WIDE_SERVICES = 500
WIDE_DAYS = 3
WIDE_START = 1_767_225_600  # 2026-01-01T00:00:00Z


def to_replay_file(nab: Path, out: Path) -> int:
    """NAB's timestamp,value rows as a replay CSV: ts (ISO, Z), service, count."""
    df = pl.read_csv(nab).select(
        pl.col("timestamp")
        .str.to_datetime("%Y-%m-%d %H:%M:%S")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("ts"),
        pl.lit("aapl").alias("service"),
        pl.col("value").alias("count"),
    )
    df.write_csv(out)
    return len(df)


def wide_file(out: Path, services: int = WIDE_SERVICES, days: int = WIDE_DAYS) -> int:
    """Many series sharing each 1-minute bucket, deterministic: ts (ISO, Z), service, count.

    Each service has its own rate (log-normal, median 1 a minute) on a daily cycle
    (quietest at 04:00 UTC, 3x busier at 16:00); a row's count is 1 + Poisson of it.
    On the last day services 0-2 run at 20x for 20 minutes from 12:00.
    """
    rng = np.random.default_rng(13)
    minutes = days * 1440
    t = WIDE_START + 60 * np.arange(minutes)
    hour = (t % 86400) / 3600
    cycle = 2.0 - np.cos(2 * np.pi * (hour - 4) / 24)  # 1 at 04:00, 3 at 16:00
    rate = rng.lognormal(0.0, 1.0, services)[None, :] * cycle[:, None] / 2
    surge = (t >= WIDE_START + (days - 1) * 86400 + 12 * 3600)[:, None] & (
        t < WIDE_START + (days - 1) * 86400 + 12 * 3600 + 1200
    )[:, None]
    rate = np.where(surge & (np.arange(services) < 3)[None, :], rate * 20, rate)
    counts = 1 + rng.poisson(rate)
    df = pl.DataFrame(
        {
            "ts": np.repeat(t, services),
            "service": np.tile(np.array([f"svc-{i:03d}" for i in range(services)]), minutes),
            "count": counts.ravel(),
        }
    ).with_columns(pl.from_epoch("ts", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"))
    df.write_csv(out)
    return len(df)


def reports_file(out: Path) -> int:
    """Three weeks of individual reports (ts as ISO times, service, region, problem,
    reporter), as benchmarks/gen_reports.py writes them."""
    from benchmarks.gen_reports import generate

    df = generate(3, 600_000, 40)
    df.write_csv(out)
    return len(df)


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """The best wall time and the best CPU time (of this process) over `repeats` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def floor(path: Path, every: str) -> pl.DataFrame:
    """Read the file and sum counts per (bucket, service): the least any replay does."""
    return (
        pl.read_csv(path)
        .with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ").dt.truncate(every))
        .group_by("ts", "service")
        .agg(pl.col("count").sum())
    )


def floor_reports(path: Path) -> pl.DataFrame:
    """Read the reports (ISO times) and count them per (minute, service, region)."""
    return (
        pl.read_csv(path)
        .with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ").dt.truncate("1m"))
        .group_by("ts", "service", "region")
        .agg(pl.len())
    )


def measure(
    name: str,
    path: Path,
    rows: int,
    bucket: int,
    repeats: int,
    floor_fn: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    d = path.parent

    def run(early_check_s: float) -> Callable[[], Any]:
        cfg = PipelineConfig(bucket_seconds=bucket, early_check_s=early_check_s)
        return lambda: replay(path, config=cfg, feed=d / "f.json", scores=d / "s.csv")

    every = f"{bucket // 60}m"
    floor_s, floor_cpu = best(floor_fn or (lambda: floor(path, every)), repeats)
    replay_s, replay_cpu = best(run(PipelineConfig.early_check_s), repeats)
    plain_s, plain_cpu = best(run(0.0), repeats)
    return {
        "file": name,
        "rows": rows,
        "bucket_s": bucket,
        "floor_polars_read_group_s": floor_s,
        "floor_cpu_s": floor_cpu,
        "floor_rows_per_s": rows / floor_s,
        "replay_s": replay_s,
        "replay_cpu_s": replay_cpu,
        "replay_rows_per_s": rows / replay_s,
        "replay_rows_per_cpu_s": rows / replay_cpu,
        "replay_without_partial_checks_s": plain_s,
        "replay_without_partial_checks_cpu_s": plain_cpu,
        "replay_without_partial_checks_rows_per_s": rows / plain_s,
        "replay_without_partial_checks_rows_per_cpu_s": rows / plain_cpu,
        "replay_vs_floor": floor_s / replay_s,
        "replay_over_floor": replay_s / floor_s,
        "replay_over_floor_cpu": replay_cpu / floor_cpu,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nab", type=Path, default=NAB)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/replay.json"))
    ap.add_argument("--only", choices=["aapl", "wide", "reports"], default=None)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if args.only in (None, "aapl"):
            path = d / "aapl.csv"
            rows = to_replay_file(args.nab, path)
            results.append(measure(str(args.nab), path, rows, BUCKET, args.repeats))
        if args.only in (None, "wide"):
            path = d / "wide.csv"
            rows = wide_file(path)
            name = f"wide: {WIDE_SERVICES} services x {WIDE_DAYS} days of 1-minute rows"
            results.append(measure(name, path, rows, 60, args.repeats))
        if args.only in (None, "reports"):
            path = d / "reports.csv"
            rows = reports_file(path)
            name = "reports: 3 weeks of individual reports, 40 services x 5 regions"
            results.append(measure(name, path, rows, 60, args.repeats, lambda: floor_reports(path)))
    for out in results:
        for k, v in out.items():
            print(f"{k:44} {v:,.3f}" if isinstance(v, float) else f"{k:44} {v}")
        print()
    for out in results:  # the figure issue 17 sets a target for: <= 4x the floor
        floor_s = out["floor_polars_read_group_s"]
        print(
            f"{out['file'][:60]:60} replay {out['replay_s']:6.2f} s = "
            f"{out['replay_over_floor']:5.1f}x its floor ({floor_s:.3f} s; "
            f"CPU {out['replay_over_floor_cpu']:.1f}x), {out['replay_rows_per_s']:,.0f} rows/s"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
