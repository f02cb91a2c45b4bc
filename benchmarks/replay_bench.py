"""Replay of pre-aggregated rows (one row per bucket carrying a count), beside floors
measured in the same run.

The input is NAB's realTweets AAPL file (tweets per 5 minutes, 15.9k rows standing
for 1.36M tweets), turned into a replay file (ts, service "aapl", count) as a user
would. Figures, each the best of `--repeats` runs in this process:

- floor: polars reading the same file and grouping it into 5-minute buckets;
- replay: `app.replay.replay` with `--bucket 5m`, scores CSV and feed written, as
  `outagewatch replay FILE --bucket 5m --scores s.csv --feed f.json` does (without
  the interpreter's start);
- replay without partial-bucket checks (`early_check_s=0`): what the per-bucket
  detector step costs on its own, so the checks' share is the difference.

    .venv/bin/python -m benchmarks.replay_bench [--nab PATH] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from outagewatch.app.engine.pipeline import PipelineConfig
from outagewatch.app.replay import replay

NAB = Path("../shared/data/nab-realtweets-dev/Twitter_volume_AAPL.csv")
BUCKET = 300


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


def best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def floor(path: Path) -> pl.DataFrame:
    """Read the file and sum counts per (bucket, service): the least any replay does."""
    return (
        pl.read_csv(path)
        .with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%SZ").dt.truncate("5m"))
        .group_by("ts", "service")
        .agg(pl.col("count").sum())
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nab", type=Path, default=NAB)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/replay.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        path = d / "aapl.csv"
        rows = to_replay_file(args.nab, path)

        def run(early_check_s: float) -> Callable[[], Any]:
            cfg = PipelineConfig(bucket_seconds=BUCKET, early_check_s=early_check_s)
            return lambda: replay(path, config=cfg, feed=d / "f.json", scores=d / "s.csv")

        floor_s = best(lambda: floor(path), args.repeats)
        replay_s = best(run(PipelineConfig.early_check_s), args.repeats)
        plain_s = best(run(0.0), args.repeats)
    out = {
        "file": str(args.nab),
        "rows": rows,
        "floor_polars_read_group_s": floor_s,
        "floor_rows_per_s": rows / floor_s,
        "replay_s": replay_s,
        "replay_rows_per_s": rows / replay_s,
        "replay_without_partial_checks_s": plain_s,
        "replay_without_partial_checks_rows_per_s": rows / plain_s,
        "replay_vs_floor": floor_s / replay_s,
    }
    for k, v in out.items():
        print(f"{k:44} {v:,.3f}" if isinstance(v, float) else f"{k:44} {v}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
