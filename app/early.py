"""Opening before the bucket closes, when a partial bucket already proves a surge.

A bucket's count so far is a lower bound of its final count, so if even the partial
count is far out in the tail of the full bucket's expected distribution, the
outage is certain before the minute is over. Partial buckets are checked on a
fixed grid of stream time (every `check_s` inside each bucket) using only reports
stamped before the grid point, so a replay opens at the very same moments as the
live server did.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import polars as pl

from ingest.series import SeriesIndex

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class PartialBuckets:
    """Counted reports of the still-open buckets, as sorted arrays of series ids."""

    def __init__(self, width: int, check_s: float, series: SeriesIndex) -> None:
        self.width = width
        self.check_s = check_s
        self.series = series
        # ts, service-wide id, regional id (-1: no region), weight: one tuple swapped in
        # a single assignment, so a reader without the writer's lock sees matching arrays.
        self.cols: tuple[F64, I64, I64, F64] = (
            np.empty(0),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int64),
            np.empty(0),
        )
        self.checked_until: float | None = None

    def add(self, rows: pl.DataFrame) -> None:
        """Rows with ts, service, region, weight (> 0: counted)."""
        df = rows.filter(pl.col("weight") > 0).select("ts", "service", "region", "weight")
        if df.is_empty():
            return
        if self.checked_until is None:
            first = float(df["ts"].min())  # type: ignore[arg-type]
            self.checked_until = math.floor(first / self.width) * self.width
        pairs = df.select("service", "region").unique().sort("service", "region")
        wide_ids, region_ids = [], []
        for service, region in pairs.iter_rows():
            wide_ids.append(self.series.id((service, None)))
            region_ids.append(-1 if region is None else self.series.id((service, region)))
        mapped = df.join(
            pairs.with_columns(
                pl.Series("w", wide_ids, dtype=pl.Int64), pl.Series("r", region_ids, dtype=pl.Int64)
            ),
            on=["service", "region"],
            how="left",
            nulls_equal=True,
        )
        old_ts, old_wide, old_region, old_weight = self.cols
        ts = np.concatenate([old_ts, mapped["ts"].to_numpy()])
        order = np.argsort(ts, kind="stable")
        self.cols = (
            ts[order],
            np.concatenate([old_wide, mapped["w"].to_numpy()])[order],
            np.concatenate([old_region, mapped["r"].to_numpy()])[order],
            np.concatenate([old_weight, mapped["weight"].to_numpy()])[order],
        )

    @property
    def ts(self) -> F64:
        return self.cols[0]

    def open_totals(self, n: int) -> F64:
        """Counted reports per series in the buckets still open."""
        _, wide, region, weight = self.cols
        out = np.bincount(wide, weights=weight, minlength=n).astype(np.float64)
        has = region >= 0
        out += np.bincount(region[has], weights=weight[has], minlength=len(out))
        return out[:n] if len(out) > n else np.pad(out, (0, n - len(out)))

    def prune(self, before: float) -> None:
        """Forget reports of buckets that have closed."""
        cut = int(np.searchsorted(self.ts, before))
        if cut:
            ts, wide, region, weight = self.cols
            self.cols = (ts[cut:], wide[cut:], region[cut:], weight[cut:])

    def grid(self, now: float) -> list[float]:
        """Check points in (checked_until, now], never on a bucket boundary."""
        if self.checked_until is None:
            return []
        out: list[float] = []
        ts = self.ts
        # Points before the first held report see zero everywhere: skip them in one step,
        # so a long gap in stream time costs nothing (and the grid stays the same).
        first = float(ts[0]) if len(ts) else now
        skip = math.floor((first - self.checked_until) / self.check_s) - 1
        if skip > 0:
            self.checked_until += skip * self.check_s
        g = self.checked_until + self.check_s
        while g <= now:
            if g % self.width:
                out.append(g)
            self.checked_until = g
            g += self.check_s
        return out

    def counts(self, g: float, n: int) -> F64:
        """Per series, counted reports of g's bucket stamped before g."""
        b = math.floor(g / self.width) * self.width
        ts, wide, region, weight = self.cols
        lo, hi = np.searchsorted(ts, [b, g])
        if hi <= lo:
            return np.zeros(n)
        w = weight[lo:hi]
        out = np.bincount(wide[lo:hi], weights=w, minlength=n).astype(np.float64)
        reg = region[lo:hi]
        has = reg >= 0
        out += np.bincount(reg[has], weights=w[has], minlength=n)
        return out[:n] if len(out) > n else out
