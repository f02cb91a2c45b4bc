"""A Downdetector-style baseline: trailing 15-minute count vs the same time of day.

Per service and per service x region, the count over the trailing 15 minutes is
compared with the mean of the same 15-minute window on the previous up to 7 days.
An alarm opens when count > ratio x mean and count >= floor for `sustain` consecutive
minutes, and resolves after `quiet` minutes below. Reports go through the same
one-per-reporter-per-service-per-hour dedup as the product, so floods do not help
either side.

    python -m benchmarks.accuracy.downdetector reports.csv --feed feed.json
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

WINDOW = 15
DAYS = 7


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def minute_counts(path: Path, dedup: bool = True) -> tuple[pl.DataFrame, int, int]:
    """Counts per (service, region, minute) incl. service-wide rows (region null)."""
    lf = pl.scan_csv(path, schema_overrides={"region": pl.Utf8, "reporter": pl.Utf8})
    lf = lf.with_columns(
        (pl.col("ts").str.to_datetime(time_zone="UTC", time_unit="ms").dt.epoch("s") // 60).alias(
            "minute"
        ),
        pl.when(pl.col("region") == "").then(None).otherwise(pl.col("region")).alias("region"),
    )
    if dedup:
        lf = lf.with_columns((pl.col("minute") // 60).alias("hour")).unique(
            subset=["service", "reporter", "hour"], keep="first", maintain_order=True
        )
    df = lf.select("service", "region", "minute").collect()
    first, last = int(df["minute"].min()), int(df["minute"].max())  # type: ignore[arg-type]
    regional = (
        df.filter(pl.col("region").is_not_null()).group_by("service", "region", "minute").len()
    )
    wide = df.group_by("service", "minute").len().with_columns(region=pl.lit(None, pl.Utf8))
    out = pl.concat([regional, wide.select(regional.columns)])
    return out, first, last


def detect(
    path: Path,
    *,
    ratio: float = 3.0,
    floor: int = 10,
    sustain: int = 2,
    quiet: int = 15,
    dedup: bool = True,
) -> dict[str, Any]:
    counts, first, last = minute_counts(path, dedup)
    n = last - first + 1
    keys = counts.select("service", "region").unique().sort("service", "region", nulls_last=False)
    keys = keys.with_row_index("sid")
    counts = counts.join(keys, on=["service", "region"], how="left", nulls_equal=True)
    grid = np.zeros((len(keys), n), dtype=np.float64)
    grid[counts["sid"].to_numpy(), counts["minute"].to_numpy() - first] = counts["len"].to_numpy()
    cs = np.concatenate([np.zeros((len(keys), 1)), np.cumsum(grid, axis=1)], axis=1)
    idx = np.arange(n)
    trailing = cs[:, idx + 1] - cs[:, np.maximum(idx + 1 - WINDOW, 0)]
    hist = np.zeros_like(trailing)
    avail = np.zeros(n)
    for d in range(1, DAYS + 1):
        lag = d * 1440
        if lag >= n:
            break
        hist[:, lag:] += trailing[:, :-lag]
        avail[lag:] += 1
    mean = np.divide(hist, avail, out=np.zeros_like(hist), where=avail > 0)
    cond = (trailing > ratio * mean) & (trailing >= floor) & (avail > 0)

    outages: list[dict[str, Any]] = []
    services = keys["service"].to_list()
    regions = keys["region"].to_list()
    for sid in np.flatnonzero(cond.any(axis=1)):
        on = np.flatnonzero(cond[sid])
        # Segments: cond minutes separated by fewer than `quiet` minutes below.
        breaks = np.flatnonzero(np.diff(on) > quiet)
        starts = np.concatenate([[0], breaks + 1])
        ends = np.concatenate([breaks, [len(on) - 1]])
        for a, b in zip(starts, ends, strict=True):
            seg = on[a : b + 1]
            run = np.ones(len(seg), dtype=int)
            for k in range(1, len(seg)):  # tiny: run lengths inside one segment
                run[k] = run[k - 1] + 1 if seg[k] == seg[k - 1] + 1 else 1
            hit = np.flatnonzero(run >= sustain)
            if len(hit) == 0:
                continue
            opened = (first + seg[hit[0]] + 1) * 60
            end_min = seg[-1] + 1 + quiet
            ended = (first + end_min) * 60 if end_min <= n else None
            outages.append(
                {
                    "id": f"dd-{services[sid]}-{regions[sid] or 'all'}-{opened}",
                    "service": services[sid],
                    "region": regions[sid],
                    "level": "outage",
                    "state": "resolved" if ended is not None else "open",
                    "started_at": _iso((first + seg[0]) * 60),
                    "opened_at": _iso(opened),
                    "confirmed_at": _iso(opened),
                    "ended_at": _iso(ended) if ended is not None else None,
                    "peak": {
                        "at": _iso((first + seg[0] + int(np.argmax(trailing[sid, seg]))) * 60),
                        "reports": int(trailing[sid, seg].max()),
                        "expected": float(mean[sid, seg[int(np.argmax(trailing[sid, seg]))]]),
                    },
                }
            )
    outages.sort(key=lambda o: o["opened_at"])
    return {"outages": outages}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--feed", type=Path, required=True)
    ap.add_argument("--ratio", type=float, default=3.0)
    ap.add_argument("--floor", type=int, default=10)
    a = ap.parse_args(argv)
    feed = detect(a.file, ratio=a.ratio, floor=a.floor)
    a.feed.write_text(json.dumps(feed, indent=1))
    print(f"{len(feed['outages'])} outages -> {a.feed}")


if __name__ == "__main__":
    main()
