"""Tumbling-window counts per service x region x problem, for both series levels.

The unit of work is a batch (a polars frame), never one report. Counts wait in
pending partial aggregates until the watermark passes a bucket's end plus the
allowed lateness; then the bucket is closed once and for all and handed on as a
dense vector over every known series, so quiet series see their zeros too.
Reports for a bucket that is already closed are too late: they are counted as
such and left out of the counts (the raw report is still stored by the caller).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from outagewatch.ingest.series import SeriesIndex

# Input columns: ts (Float64 epoch s), service, region (null ok), problem (null ok), weight.
BATCH_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Float64(),
    "service": pl.String(),
    "region": pl.String(),
    "problem": pl.String(),
    "weight": pl.Int64(),
}
_KEYS = ["bucket", "service", "region", "problem"]
# A close of a long stretch (a replay, a gap) is cut into batches of at least this
# many buckets, more while the (buckets x series) matrix stays under MAX_CELLS: a
# replay of one series is then one batch, not one per day, and its per-batch frame
# work is paid once; at a million series a batch is still a day.
MAX_BUCKETS_PER_CLOSE = 1440
MAX_CELLS_PER_CLOSE = 1 << 22


@dataclass(frozen=True)
class ClosedBucket:
    start: float
    counts: npt.NDArray[np.float64]  # one entry per series id, zeros included
    problems: pl.DataFrame  # sid, problem, count: the sparse breakdown behind `counts`


@dataclass(frozen=True)
class ClosedBatch:
    """Consecutive closed buckets: a (buckets x series) count matrix plus breakdowns."""

    starts: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64]
    problems: pl.DataFrame  # b (bucket index), sid, problem, count; sorted by b

    @cached_property
    def _problem_columns(self) -> tuple[npt.NDArray[np.int64], ...]:
        p = self.problems
        # Dense ranks of the names: codes into `_problem_names` (sorted), -1 for none.
        codes = (p["problem"].rank("dense").cast(pl.Int64) - 1).fill_null(-1)
        return p["b"].to_numpy(), p["sid"].to_numpy(), codes.to_numpy(), p["count"].to_numpy()

    @cached_property
    def _problem_names(self) -> list[str]:
        return self.problems["problem"].drop_nulls().unique().sort().to_list()

    def problem_counts(
        self, sids: list[int], lo: int, hi: int | None = None
    ) -> dict[int, dict[str, int]]:
        """Problem counts of the given series in bucket `lo` (to bucket `hi`, excluded,
        summed), for open incidents: binary searches, no frame work."""
        b, sid, code, count = self._problem_columns
        start, stop = np.searchsorted(b, [lo, lo + 1 if hi is None else hi])
        if stop == start or not sids:
            return {}
        # Membership by binary search: np.isin's setup was most of a call this small.
        wanted = np.sort(np.asarray(sids, dtype=np.int64))
        at = np.minimum(np.searchsorted(wanted, sid[start:stop]), len(wanted) - 1)
        mask = (wanted[at] == sid[start:stop]) & (code[start:stop] >= 0)
        names = self._problem_names
        out: dict[int, dict[str, int]] = {}
        rows = zip(
            sid[start:stop][mask].tolist(),
            code[start:stop][mask].tolist(),
            count[start:stop][mask].tolist(),
            strict=True,
        )
        for s, c, k in rows:
            mine = out.setdefault(s, {})
            mine[names[c]] = mine.get(names[c], 0) + k
        return out

    def __iter__(self) -> Iterator[ClosedBucket]:
        b = self.problems["b"].to_numpy()
        bounds = np.searchsorted(b, np.arange(len(self.starts) + 1))
        for i, start in enumerate(self.starts):
            part = self.problems.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i]))
            yield ClosedBucket(float(start), self.counts[i], part.drop("b"))


class Aggregator:
    def __init__(self, width: int, lateness: float, series: SeriesIndex | None = None) -> None:
        self.width = int(width)
        self.lateness = float(lateness)
        self.series = series if series is not None else SeriesIndex()
        self._pending: list[pl.DataFrame] = []
        self.closed_until: float | None = None  # start of the first bucket still open
        self.too_late = 0

    def add(self, batch: pl.DataFrame) -> int:
        """Take counted reports (weight > 0); return how many were too late to count."""
        df = batch.filter(pl.col("weight") > 0)
        if df.is_empty():
            return 0
        df = df.with_columns(((pl.col("ts") / self.width).floor() * self.width).alias("bucket"))
        n_late = 0
        if self.closed_until is not None:  # nothing is late before a bucket has closed
            late = df.filter(pl.col("bucket") < self.closed_until)
            n_late = int(late["weight"].sum()) if not late.is_empty() else 0
            if n_late:
                df = df.filter(pl.col("bucket") >= self.closed_until)
                self.too_late += n_late
        if not df.is_empty():
            self._pending.append(df.group_by(_KEYS).agg(pl.col("weight").sum().alias("n")))
        return n_late

    def first_open(self) -> float | None:
        """The earliest bucket holding counts that have not been closed yet, if any."""
        starts = [float(p["bucket"].min()) for p in self._pending if not p.is_empty()]  # type: ignore[arg-type]
        return min(starts, default=None)

    def watermark_for(self, now: float) -> float:
        return now - self.lateness

    def close(self, now: float) -> list[ClosedBatch]:
        """Close every bucket whose end plus lateness has passed by stream time `now`."""
        if self.closed_until is None:
            if not self._pending:
                return []
            self.closed_until = min(float(p["bucket"].min()) for p in self._pending)  # type: ignore[arg-type]
        cutoff = math.floor(self.watermark_for(now) / self.width) * self.width
        out: list[ClosedBatch] = []
        per = MAX_BUCKETS_PER_CLOSE
        if cutoff - self.closed_until > per * self.width:  # a long close: may batch more
            per = max(per, MAX_CELLS_PER_CLOSE // max(1, self._series_bound()))
        while self.closed_until < cutoff:
            upto = min(cutoff, self.closed_until + per * self.width)
            out.append(self._close_range(self.closed_until, upto))
            self.closed_until = upto
        return out

    def _series_bound(self) -> int:
        """At least how many series the pending counts will have once closed: the
        known ones, or (before they are known) their regional and service-wide keys."""
        if not self._pending:
            return len(self.series)
        keys = pl.concat(self._pending).select(
            pl.struct("service", "region").n_unique().alias("r"),
            pl.col("service").n_unique().alias("s"),
        )
        return max(len(self.series), int(keys["r"][0]) + int(keys["s"][0]))

    def open_counts(self, bucket: float) -> tuple[npt.NDArray[np.float64], pl.DataFrame]:
        """Counts so far of one still-open bucket (for opening before the bucket closes)."""
        if not self._pending:
            return np.zeros(len(self.series)), _empty_problems()
        df = pl.concat(self._pending).filter(pl.col("bucket") == bucket)
        counts, problems = self._dense(df, np.array([bucket]), bucket)
        return counts[0], problems.drop("b")

    def _close_range(self, lo: float, hi: float) -> ClosedBatch:
        starts = np.arange(lo, hi, self.width, dtype=np.float64)
        if self._pending:
            merged = pl.concat(self._pending)
            ready = merged.filter(pl.col("bucket") < hi)
            rest = merged.filter(pl.col("bucket") >= hi)
            self._pending = [rest] if not rest.is_empty() else []
        else:
            ready = _empty_pending()
        counts, problems = self._dense(ready, starts, lo)
        return ClosedBatch(starts, counts, problems)

    def _dense(
        self, ready: pl.DataFrame, starts: npt.NDArray[np.float64], lo: float
    ) -> tuple[npt.NDArray[np.float64], pl.DataFrame]:
        # Both levels: each regional row also counts toward its service-wide series.
        regional = ready.filter(pl.col("region").is_not_null())
        wide = ready.with_columns(pl.lit(None, dtype=pl.String).alias("region"))
        both = (
            pl.concat([regional.select([*_KEYS, "n"]), wide.select([*_KEYS, "n"])])
            .group_by(_KEYS)
            .agg(pl.col("n").sum())
        )
        # Keys are matched through integer codes, on one int64 column: a join on the
        # million known (service, region) strings held ~200 MB while it ran. Only keys
        # never seen get an id, in sorted order, in one loop (a Python loop over every
        # key held the interpreter for 0.1 s a minute at a million series).
        mapped = self._sids(both)
        new = mapped.filter(pl.col("sid").is_null())
        if not new.is_empty():
            names = new.select("service", "region").unique()
            names = names.sort("service", "region", nulls_last=False)
            self.series.extend_names(names["service"], names["region"])
            mapped = pl.concat([mapped.filter(pl.col("sid").is_not_null()), self._sids(new)])
        mapped = mapped.with_columns(
            ((pl.col("bucket") - lo) / self.width).cast(pl.Int64).alias("b")
        )
        n_series, n_b = len(self.series), len(starts)
        flat = mapped["b"].to_numpy() * n_series + mapped["sid"].to_numpy()
        weights = mapped["n"].to_numpy().astype(np.float64)
        flat_counts = np.bincount(flat, weights=weights, minlength=n_b * n_series)
        counts = flat_counts.astype(np.float64).reshape(n_b, n_series)
        problems = mapped.select(
            "b", "sid", "problem", pl.col("n").cast(pl.Int64).alias("count")
        ).sort("b", "sid")
        return counts, problems

    def _sids(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (service, region, ...) with their series id, null where unknown."""
        rows = rows.drop("sid", strict=False)
        sid = self.series.lookup(rows["service"], rows["region"])
        return rows.with_columns(pl.Series("sid", sid, dtype=pl.Int64).replace(-1, None))


def _empty_pending() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "bucket": pl.Float64,
            "service": pl.String,
            "region": pl.String,
            "problem": pl.String,
            "n": pl.Int64,
        }
    )


def _empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema={"sid": pl.Int64, "problem": pl.String, "count": pl.Int64})
