"""The last hour's counted reports by problem for every service, in memory.

A service's page and detail show its problems over the last hour. Asked of DuckDB
that is a query per view (2-4 ms, more as the table grows): the writer keeps the same
counts for the service-wide series as it closes each bucket, and readers add up a
slice of each bucket. `RecentProblems` is the writer's; `ProblemCounts` is what a
`ReadView` carries: immutable, so a reader needs no lock.

>>> rp = RecentProblems(span_s=3600)
>>> rows = pl.DataFrame({"b": [0, 0, 1], "sid": [0, 0, 0], "problem": ["login", None, "login"],
...                      "count": [2, 1, 4]})
>>> rp.add(np.array([60.0, 120.0]), rows, wide=np.array([True]))
>>> view = rp.view()
>>> view.top(0, since=60.0), view.top(0, since=61.0), view.top(0, since=0.0)
([('login', 6), ('unspecified', 1)], [('login', 4)], None)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

UNSPECIFIED = "unspecified"  # a report without a problem (as the store's query says)


@dataclass(frozen=True)
class _Bucket:
    start: float
    # Narrow types: at a million series a bucket holds ~20k service-wide rows.
    sids: npt.NDArray[np.int32]  # sorted: a service's rows are one slice
    codes: npt.NDArray[np.int32]  # problem names as codes into this bucket's `names`
    counts: npt.NDArray[np.int32]
    # Per batch of buckets: problems are free-form slugs, so names shared by every
    # bucket would grow for as long as the server runs.
    names: tuple[str, ...]


@dataclass(frozen=True)
class ProblemCounts:
    """The closed buckets that start at or after `complete_from`, each with every
    service-wide series' counts by problem."""

    buckets: tuple[_Bucket, ...]
    complete_from: float

    def top(self, sid: int, since: float) -> list[tuple[str, int]] | None:
        """Counted reports by problem for one service-wide series in the buckets that
        start at or after `since`, most first (then by name); None when buckets since
        then are not all held here (after a restart: ask the store)."""
        if since < self.complete_from:
            return None
        totals: dict[str, int] = {}
        for b in self.buckets:
            if b.start < since:
                continue
            lo, hi = np.searchsorted(b.sids, [sid, sid + 1])
            for code, n in zip(b.codes[lo:hi].tolist(), b.counts[lo:hi].tolist(), strict=True):
                name = b.names[code]
                totals[name] = totals.get(name, 0) + n
        held = [(name, n) for name, n in totals.items() if n]
        return sorted(held, key=lambda pn: (-pn[1], pn[0]))


class RecentProblems:
    """The writer's side: buckets added as they close, those older than `span_s`
    before the newest dropped."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._buckets: tuple[_Bucket, ...] = ()
        self._from = math.inf  # nothing held yet: every bucket before is the store's

    def add(
        self, starts: npt.NDArray[np.float64], rows: pl.DataFrame, wide: npt.NDArray[np.bool_]
    ) -> None:
        """A closed batch: bucket starts, its problem rows (b, sid, problem, count) and
        which series ids are service-wide."""
        if not len(starts):
            return
        # Only the last span's buckets are kept: a replay's batch holds hours or days
        # of buckets, and coding each one's problems cost a quarter of the replay.
        newest = float(starts[-1])
        cutoff = newest - self.span_s
        first = int(np.searchsorted(starts, cutoff))  # starts ascend
        b = rows["b"].to_numpy()
        keep = (b >= first) & wide[rows["sid"].to_numpy()]  # the batch's series are all in `wide`
        rows = rows.filter(pl.Series(keep)).with_columns(pl.col("problem").fill_null(UNSPECIFIED))
        rows = rows.sort("b", "sid")
        # One coding for the batch: its buckets share one tuple of names (still per
        # batch, so names do not pile up while the server runs).
        names = rows["problem"].unique().sort()
        codes = rows["problem"].replace_strict(names, pl.int_range(len(names), eager=True))
        named = tuple(names.to_list())
        sids = rows["sid"].to_numpy().astype(np.int32)
        coded = codes.to_numpy().astype(np.int32)
        counts = rows["count"].to_numpy().astype(np.int32)
        bounds = np.searchsorted(rows["b"].to_numpy(), np.arange(first, len(starts) + 1))
        new = tuple(
            _Bucket(s, sids[lo:hi], coded[lo:hi], counts[lo:hi], named)
            for s, lo, hi in zip(
                starts[first:].tolist(), bounds[:-1].tolist(), bounds[1:].tolist(), strict=True
            )
        )
        if self._from == math.inf:
            self._from = float(starts[0])
        self._buckets = tuple(x for x in (*self._buckets, *new) if x.start >= cutoff)
        self._from = max(self._from, cutoff)

    def view(self) -> ProblemCounts:
        return ProblemCounts(self._buckets, self._from)
