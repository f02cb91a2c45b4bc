"""The last day of every service-wide series (count, expected, level), in memory.

Status pages and the widget draw this chart on every view; on outage day that is
thousands of views a second, so it is served from a ring of arrays, not a query.
About 9 bytes per bucket per service (13 KB a service at 1-minute buckets); which
bucket a slot holds is kept once per slot, not per service: every bucket is recorded
for every service at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from outagewatch.ingest.series import SeriesKey, as_keys


class DayChart:
    def __init__(self, width: int) -> None:
        self.width = width
        self.slots = max(1, 86400 // width)
        self.rows: dict[int, int] = {}  # series id -> row
        # The same as arrays, for `record` (rebuilding them every bucket was a second
        # a minute at a million series): row i holds series _sids[i].
        self._sids = np.zeros(0, dtype=np.int64)
        self._seen = 0
        self.count = np.zeros((16, self.slots), dtype=np.float32)
        self.expected = np.zeros((16, self.slots), dtype=np.float32)
        self.level = np.zeros((16, self.slots), dtype=np.int8)
        self.stamp = np.full(self.slots, -1.0)  # bucket start held in each slot, for all rows
        self.last: float | None = None

    def _register(self, keys: Sequence[SeriesKey]) -> None:
        # The new service-wide series, found from the index's codes in one pass (a
        # loop over a million new keys was 0.4 s of the minute that created them).
        wide = np.flatnonzero(as_keys(keys).wide_mask()[self._seen :]) + self._seen
        start = len(self.rows)
        self.rows.update(zip(wide.tolist(), range(start, start + len(wide)), strict=True))
        self._seen = len(keys)
        if len(self._sids) < len(self.rows):
            self._sids = np.fromiter(self.rows.keys(), dtype=np.int64, count=len(self.rows))
        need = len(self.rows)
        if need > len(self.count):
            cap = max(need, 2 * len(self.count))
            for name in ("count", "expected", "level"):
                old = getattr(self, name)
                new = np.zeros((cap, self.slots), dtype=old.dtype)
                new[: len(old)] = old  # a row added later reads zero before its birth
                setattr(self, name, new)

    def record(
        self,
        starts: npt.NDArray[np.float64],
        counts: npt.NDArray[np.float64],
        expected: npt.NDArray[np.float64],
        levels: npt.NDArray[np.int8],
        keys: Sequence[SeriesKey],
    ) -> None:
        """Record a run of buckets (rows of counts, expected and levels, by series id)."""
        if self._seen < len(keys):
            self._register(keys)
        if not self.rows or not len(starts):
            return
        # A run longer than the ring: only its last day stays (starts ascend).
        keep = int(np.searchsorted(starts, starts[-1] - self.slots * self.width, side="right"))
        starts, counts, expected, levels = (
            starts[keep:],
            counts[keep:],
            expected[keep:],
            levels[keep:],
        )
        sids, rows = self._sids, len(self._sids)
        pos = np.floor_divide(starts, self.width).astype(np.int64) % self.slots
        first, k = int(pos[0]), len(pos)
        # Consecutive slots (the usual run) as a slice: a third of the cost.
        cols: slice | npt.NDArray[np.int64] = (
            slice(first, first + k) if int(pos[-1]) - first == k - 1 else pos
        )
        # The slots' old buckets stop being fresh before their values change: a reader
        # of an earlier view sees them as empty, never as a mix of two buckets.
        self.stamp[cols] = -1.0
        self.count[:rows, cols] = counts[:, sids].T
        self.expected[:rows, cols] = expected[:, sids].T
        self.level[:rows, cols] = levels[:, sids].T
        self.stamp[cols] = starts
        last = float(starts[-1])
        self.last = last if self.last is None else max(self.last, last)

    def load(
        self,
        df: pl.DataFrame,
        sid_of: Callable[[SeriesKey], int | None],
        keys: Sequence[SeriesKey],
    ) -> None:
        """Refill from stored buckets (ts, service, count, expected, level) after a restart."""
        self._register(keys)
        names = {"": 0, "possible": 1, "outage": 2}
        for ts, service, count, expected, level in df.iter_rows():
            sid = sid_of((service, None))
            if sid is None or sid not in self.rows:
                continue
            row, pos = self.rows[sid], int(ts // self.width) % self.slots
            self.count[row, pos], self.expected[row, pos] = count, expected
            self.level[row, pos], self.stamp[pos] = names.get(level or "", 0), ts
            self.last = ts if self.last is None else max(self.last, ts)

    def points(
        self, sid: int, last: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(bucket starts, counts, expected, levels) of the day up to `last` (default:
        the newest recorded), oldest first; buckets never recorded show as zero."""
        last = self.last if last is None else last
        if last is None:
            empty = np.zeros(0)
            return empty, empty, empty, empty.astype(np.int8)
        starts = last - self.width * np.arange(self.slots - 1, -1, -1)
        row = self.rows.get(sid)
        if row is None:
            zeros = np.zeros(self.slots)
            return starts, zeros, zeros, zeros.astype(np.int8)
        pos = (starts // self.width).astype(np.int64) % self.slots
        fresh = self.stamp[pos] == starts
        return (
            starts,
            np.where(fresh, self.count[row, pos], 0.0),
            np.where(fresh, self.expected[row, pos], 0.0),
            np.where(fresh, self.level[row, pos], 0).astype(np.int8),
        )
