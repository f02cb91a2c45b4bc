"""Opening before the bucket closes, when a partial bucket already proves a surge.

A bucket's count so far is a lower bound of its final count, so if even the partial
count is far out in the tail of the full bucket's expected distribution, the
outage is certain before the minute is over. Partial buckets are checked on a
fixed grid of stream time (every `check_s` inside each bucket) using only reports
stamped before the grid point, so a replay opens at the very same moments as the
live server did.

The work follows reports, not the grid: `crossings` finds, for every series and
open bucket, the first grid point where the partial count reaches the screening
bar (a cumulative sum over the held reports), so the grid points where nothing
passes the screen (almost all of them) cost nothing. That pass uses the lowest bar
any model state can give; the series' own bar, which follows its model, is taken
per bucket and model state where the exact test runs (`Pipeline._check_partial`),
so how reports were cut into batches changes no decision.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from outagewatch.detector.kernels import compiled
from outagewatch.ingest.series import SeriesIndex

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
POINTWISE_MAX = 16  # grids up to this many points are screened point by point


class PartialBuckets:
    """Counted reports of the still-open buckets, as sorted arrays of series ids."""

    def __init__(self, width: int, check_s: float, series: SeriesIndex) -> None:
        self.width = width
        self.check_s = check_s
        self.series = series
        # ts, service-wide id, regional id (-1: no region), weight, problem id (-1: none):
        # one tuple swapped in a single assignment, so a reader without the writer's
        # lock sees matching arrays.
        self.cols: tuple[F64, I64, I64, F64, I64] = (
            np.empty(0),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int64),
            np.empty(0),
            np.empty(0, dtype=np.int64),
        )
        self.problem_names: list[str] = []
        self._problem_ids: dict[str, int] = {}
        self.checked_until: float | None = None

    def add(self, rows: pl.DataFrame) -> None:
        """Rows with ts, service, region, problem (optional), weight (> 0: counted)."""
        if "problem" not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("problem"))
        df = rows.filter(pl.col("weight") > 0).select(
            "ts", "service", "region", "problem", "weight"
        )
        if df.is_empty():
            return
        if self.checked_until is None:
            first = float(df["ts"].min())  # type: ignore[arg-type]
            self.checked_until = math.floor(first / self.width) * self.width
        pairs = df.select("service", "region").unique().sort("service", "region")
        services, regions = pairs["service"], pairs["region"]
        no_region = pl.Series([None] * len(pairs), dtype=pl.String)
        wide_ids = self.series.lookup(services, no_region)
        region_ids = self.series.lookup(services, regions)
        if (wide_ids < 0).any() or (region_ids < 0).any():
            # New series are born in the order an id per key would give them: each
            # pair's service-wide series, then its regional one.
            row = pl.int_range(pl.len()).alias("i")
            born = pl.concat(
                [
                    pairs.select(row, "service", pl.lit(None, pl.String).alias("region")),
                    pairs.select(row, "service", "region").filter(pl.col("region").is_not_null()),
                ]
            ).sort("i", maintain_order=True)
            self.series.extend_names(born["service"], born["region"])
            wide_ids = self.series.lookup(services, no_region)
            region_ids = self.series.lookup(services, regions)
        region_ids = np.where(regions.is_null().to_numpy(), -1, region_ids)
        names = df["problem"].drop_nulls().unique().sort().to_list()
        for name in names:
            if name not in self._problem_ids:
                self._problem_ids[name] = len(self.problem_names)
                self.problem_names.append(name)
        mapped = df.join(
            pairs.with_columns(
                pl.Series("w", wide_ids, dtype=pl.Int64), pl.Series("r", region_ids, dtype=pl.Int64)
            ),
            on=["service", "region"],
            how="left",
            nulls_equal=True,
        ).with_columns(
            pl.col("problem")
            .replace_strict(names, [self._problem_ids[p] for p in names], default=-1)
            .cast(pl.Int64)
            .fill_null(-1)
            .alias("p")
        )
        old_ts, old_wide, old_region, old_weight, old_problem = self.cols
        ts = np.concatenate([old_ts, mapped["ts"].to_numpy()])
        order = np.argsort(ts, kind="stable")
        self.cols = (
            ts[order],
            np.concatenate([old_wide, mapped["w"].to_numpy()])[order],
            np.concatenate([old_region, mapped["r"].to_numpy()])[order],
            np.concatenate([old_weight, mapped["weight"].to_numpy()])[order],
            np.concatenate([old_problem, mapped["p"].to_numpy()])[order],
        )

    @property
    def ts(self) -> F64:
        return self.cols[0]

    def open_buckets(self, n: int) -> tuple[F64, F64]:
        """The still-open buckets that hold reports, and their counted reports per series
        (ids below n): starts (k,), counts (k, n). Usually one or two buckets.

        >>> held = PartialBuckets(60, 15.0, SeriesIndex())
        >>> held.add(pl.DataFrame({"ts": [0.0, 61.0, 62.0], "service": ["aws"] * 3,
        ...                        "region": ["IT", None, "IT"], "weight": [1.0] * 3}))
        >>> starts, counts = held.open_buckets(2)
        >>> starts.tolist(), counts.tolist()
        ([0.0, 60.0], [[1.0, 1.0], [2.0, 1.0]])
        """
        ts, wide, region, weight, _ = self.cols
        starts, which = np.unique(np.floor(ts / self.width) * self.width, return_inverse=True)
        cells = len(starts) * n
        out = np.zeros(cells)
        for ids in (wide, region):  # each report counts service-wide and in its region
            keep = (ids >= 0) & (ids < n)
            out += np.bincount(which[keep] * n + ids[keep], weights=weight[keep], minlength=cells)
        return starts, out.reshape(len(starts), n)

    def prune(self, before: float) -> None:
        """Forget reports of buckets that have closed."""
        cut = int(np.searchsorted(self.ts, before))
        if cut:
            ts, wide, region, weight, problem = self.cols
            self.cols = (ts[cut:], wide[cut:], region[cut:], weight[cut:], problem[cut:])

    def grid(self, now: float) -> F64:
        """Check points in (checked_until, now], never on a bucket boundary."""
        if self.checked_until is None:
            return np.empty(0)
        ts = self.ts
        # Points before the first held report see zero everywhere: skip them in one step,
        # so a long gap in stream time costs nothing (and the grid stays the same).
        first = float(ts[0]) if len(ts) else now
        skip = math.floor((first - self.checked_until) / self.check_s) - 1
        if skip > 0:
            self.checked_until += skip * self.check_s
        k = math.floor((now - self.checked_until) / self.check_s) + 1  # one spare for rounding
        if k <= 0:
            return np.empty(0)
        steps = np.arange(1, k + 1, dtype=np.float64)
        points: F64 = self.checked_until + self.check_s * steps
        points = points[points <= now]
        if not len(points):
            return points
        self.checked_until = float(points[-1])
        inside: F64 = points[(points % self.width) != 0]
        return inside

    def counts(self, g: float, n: int) -> F64:
        """Per series, counted reports of g's bucket stamped before g."""
        b = math.floor(g / self.width) * self.width
        ts, wide, region, weight, _ = self.cols
        lo, hi = np.searchsorted(ts, [b, g])
        if hi <= lo:
            return np.zeros(n)
        w = weight[lo:hi]
        out = np.bincount(wide[lo:hi], weights=w, minlength=n).astype(np.float64)
        reg = region[lo:hi]
        has = reg >= 0
        out += np.bincount(reg[has], weights=w[has], minlength=n)
        return out[:n] if len(out) > n else out

    def crossings(self, grid: F64, bar: F64) -> tuple[I64, I64]:
        """Where partial counts reach `bar` (one value per series id) on the grid.

        For every (bucket, series) whose count of reports stamped before some grid
        point of that bucket reaches the series' bar: the index in `grid` of the
        first such point, and the series id; sorted by point, then series. Counts
        only grow within a bucket, so the series passes at every later point of
        the bucket too. Equal to comparing `counts(g, n) >= bar` at every point,
        which is what a live tick (one or two points) does; a replay's long grid
        goes by the reports instead (one sort, whatever the number of points).
        """
        if len(grid) <= POINTWISE_MAX:
            return self.crossings_by_point(grid, bar)
        return self.crossings_by_report(grid, bar)

    def crossings_by_point(self, grid: F64, bar: F64) -> tuple[I64, I64]:
        """`crossings` by counting at every point: O(points x reports in the bucket)."""
        n = len(bar)
        passed_in = np.full(n, -1, dtype=np.int64)  # the bucket where a series last passed
        gis, sids = [], []
        for j, g in enumerate(grid.tolist()):
            passing = np.flatnonzero(self.counts(g, n)[:n] >= bar)
            bucket = math.floor(g / self.width)
            new = passing[passed_in[passing] != bucket]
            passed_in[passing] = bucket
            gis.append(np.full(len(new), j, dtype=np.int64))
            sids.append(new.astype(np.int64))
        if not gis:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(gis), np.concatenate(sids)

    def crossings_by_report(self, grid: F64, bar: F64) -> tuple[I64, I64]:
        """`crossings` from running counts per (bucket, series): one sort of the reports."""
        none = np.empty(0, dtype=np.int64)
        ts, wide, region, weight, _ = self.cols
        n = len(bar)
        if not len(grid) or not len(ts):
            return none, none
        w = self.width
        lo, hi = np.searchsorted(ts, [math.floor(grid[0] / w) * w, grid[-1]])
        if hi <= lo:
            return none, none
        has = region[lo:hi] >= 0
        t = np.concatenate([ts[lo:hi], ts[lo:hi][has]])
        sid = np.concatenate([wide[lo:hi], region[lo:hi][has]])
        wt = np.concatenate([weight[lo:hi], weight[lo:hi][has]])
        known = sid < n
        t, sid, wt = t[known], sid[known], wt[known]
        bucket = np.floor(t / w).astype(np.int64)
        order = np.lexsort((t, sid, bucket))
        t, sid, wt, bucket = t[order], sid[order], wt[order], bucket[order]
        start = np.ones(len(t), dtype=bool)
        start[1:] = (sid[1:] != sid[:-1]) | (bucket[1:] != bucket[:-1])
        group = np.cumsum(start) - 1
        total = np.cumsum(wt)
        before = (total - wt)[start]  # running total before each group's first report
        running = total - before[group]
        hit = np.flatnonzero(running >= bar[sid])
        if not len(hit):
            return none, none
        _, first = np.unique(group[hit], return_index=True)
        at = hit[first]
        # The first grid point after that report, if it is still in the same bucket.
        gi = np.searchsorted(grid, t[at], side="right")
        ok = gi < len(grid)
        at, gi = at[ok], gi[ok]
        ok = np.floor(grid[gi] / w).astype(np.int64) == bucket[at]
        at, gi = at[ok], gi[ok]
        order = np.lexsort((sid[at], gi))
        return gi[order].astype(np.int64), sid[at][order].astype(np.int64)

    def series_counts(self, sids: I64, points: F64) -> F64:
        """Counts of each series (rows) before each point (columns) of one bucket."""
        b = math.floor(float(points[0]) / self.width) * self.width
        ts, wide, region, weight, _ = self.cols
        lo, hi = np.searchsorted(ts, [b, float(points[-1])])
        ends = np.searchsorted(ts[lo:hi], points)
        out = np.zeros((len(sids), len(points)))
        for row, s in enumerate(sids.tolist()):
            mine = (wide[lo:hi] == s) | (region[lo:hi] == s)
            running = np.concatenate([[0.0], np.cumsum(np.where(mine, weight[lo:hi], 0.0))])
            out[row] = running[ends]
        return out

    def breakdown(self, sid: int, g: float) -> tuple[dict[str, int], dict[int, int]]:
        """Problems and regional series ids of one series' reports in g's bucket before g."""
        b = math.floor(g / self.width) * self.width
        ts, wide, region, weight, problem = self.cols
        lo, hi = np.searchsorted(ts, [b, g])
        mine = (wide[lo:hi] == sid) | (region[lo:hi] == sid)
        w, p, r = weight[lo:hi][mine], problem[lo:hi][mine], region[lo:hi][mine]
        problems: dict[str, int] = {}
        for pid, k in zip(*_sums(p, w), strict=True):
            if pid >= 0:
                problems[self.problem_names[pid]] = int(k)
        regions: dict[int, int] = {}
        for rid, k in zip(*_sums(r, w), strict=True):
            if rid >= 0 and rid != sid:
                regions[int(rid)] = int(k)
        return problems, regions


def _sums(keys: I64, weights: F64) -> tuple[list[int], list[float]]:
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq.tolist(), np.bincount(inv, weights=weights, minlength=len(uniq)).tolist()


@dataclass(frozen=True)
class Checks:
    """Grid points of one bucket that pass the screen and share one model state.

    The exact test at a point needs the model stepped through every bucket before
    `ready_at` (the bucket the live server would be about to close at that moment),
    so it runs just before bucket `ready_at` is stepped.
    """

    ready_at: float
    bucket: float
    points: F64
    sids: I64  # series that pass the lowest bar at some point


def plan_checks(
    grid: F64, gi: I64, sid: I64, width: int, lateness: float, partial: PartialBuckets
) -> PendingChecks:
    """Group screened points (see `PartialBuckets.crossings`) by bucket and model state.

    A bucket's checks start at its first passing point and are cut where the model
    state they need changes (`ready`); each holds the series that passed by its end.
    """
    none = np.empty(0, dtype=np.int64)
    if not len(gi):
        return PendingChecks(grid, np.empty(0), np.empty(0), none, none, none, none, partial)
    point_bucket = np.floor(grid / width).astype(np.int64)
    ready = np.floor((grid - lateness) / width) * width
    # Runs of grid points in one bucket with one model state.
    cut = np.ones(len(grid), dtype=np.bool_)
    cut[1:] = (point_bucket[1:] != point_bucket[:-1]) | (ready[1:] != ready[:-1])
    run_of = np.cumsum(cut) - 1
    run_lo = np.flatnonzero(cut)
    run_hi = np.append(run_lo[1:], len(grid))
    # Crossings grouped by bucket (gi is sorted: a group's first is its first point).
    cross_bucket = point_bucket[gi]
    first = np.ones(len(gi), dtype=np.bool_)
    first[1:] = cross_bucket[1:] != cross_bucket[:-1]
    g_lo = np.flatnonzero(first)
    j0 = gi[g_lo]
    j1 = np.searchsorted(point_bucket, cross_bucket[g_lo], side="right")
    r0, r1 = run_of[j0], run_of[j1 - 1]
    per = r1 - r0 + 1  # checks per group
    group = np.repeat(np.arange(len(g_lo)), per)
    run = r0[group] + np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    lo = np.maximum(run_lo[run], j0[group])
    hi = run_hi[run]
    # A check's series: its group's crossings before its last point (a prefix).
    taken = np.searchsorted(gi, hi) - g_lo[group]
    ptr = np.zeros(len(run) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(taken)
    rows = np.arange(ptr[-1]) - np.repeat(ptr[:-1], taken) + np.repeat(g_lo[group], taken)
    bucket = (cross_bucket[g_lo][group] * width).astype(np.float64)
    return PendingChecks(grid, ready[lo], bucket, lo, hi, ptr, sid[rows].astype(np.int64), partial)


class PendingChecks:
    """One advance's planned checks not yet run, in order.

    Check i is due before the first bucket starting at or after ready[i]; it holds
    `bucket[i]`'s grid points grid[lo[i]:hi[i]] and the series sids[ptr[i]:ptr[i+1]]
    that pass the lowest bar there. With them, what a compiled pass needs to screen
    them between buckets (detector/runs.py): each series' largest partial
    count at its check's points, as `PartialBuckets.series_counts` counts them. A
    check whose series all stay below their own bar does nothing
    (`Pipeline._check_partial`); the pass skips those and stops at the first that
    would do more, for the pipeline to run.
    """

    def __init__(
        self,
        grid: F64,
        ready: F64,
        bucket: F64,
        lo: I64,
        hi: I64,
        ptr: I64,
        sids: I64,
        partial: PartialBuckets,
    ) -> None:
        self.grid, self.ready, self.bucket = grid, ready, bucket
        self.lo, self.hi, self.ptr, self.sids = lo, hi, ptr, sids
        self.next = 0  # the first not run (or screened out)
        ts, wide, region, weight, _ = partial.cols
        self.most = largest_counts(ts, wide, region, weight, bucket, grid, lo, hi, sids, ptr)

    def __len__(self) -> int:
        return len(self.ready)

    def __getitem__(self, i: int) -> Checks:
        return Checks(
            ready_at=float(self.ready[i]),
            bucket=float(self.bucket[i]),
            points=self.grid[self.lo[i] : self.hi[i]],
            sids=self.sids[self.ptr[i] : self.ptr[i + 1]],
        )

    def is_due(self, start: float) -> bool:
        """A check not yet run is due before bucket `start` is stepped."""
        return self.next < len(self.ready) and bool(self.ready[self.next] <= start)

    def due(self, start: float) -> Iterator[Checks]:
        """The checks due before bucket `start` is stepped, each taken as it is run."""
        while self.next < len(self.ready) and self.ready[self.next] <= start:
            self.next += 1
            yield self[self.next - 1]


@compiled
def largest_counts(
    ts: F64,
    wide: I64,
    region: I64,
    weight: F64,
    buckets: F64,
    grid: F64,
    lo: I64,
    hi: I64,
    sids: I64,
    ptr: I64,
) -> F64:
    """Each check's series' largest count at the check's points: reports of its bucket
    stamped before the point, summed in time order as `series_counts` sums them."""
    out = np.zeros(len(sids))
    n = 0
    for i in range(len(sids)):
        n = max(n, sids[i] + 1)
    mark = np.zeros(n, dtype=np.bool_)  # the current check's series
    acc = np.zeros(n)
    for c in range(len(buckets)):
        for q in range(ptr[c], ptr[c + 1]):
            mark[sids[q]] = True
            acc[sids[q]] = 0.0
        r = np.searchsorted(ts, buckets[c])
        for g in range(lo[c], hi[c]):
            while r < len(ts) and ts[r] < grid[g]:
                for s in (wide[r], region[r]):
                    if 0 <= s < n and mark[s]:
                        acc[s] += weight[r]
                r += 1
            for q in range(ptr[c], ptr[c + 1]):
                out[q] = acc[sids[q]] if g == lo[c] else max(out[q], acc[sids[q]])
        for q in range(ptr[c], ptr[c + 1]):
            mark[sids[q]] = False
    return out
