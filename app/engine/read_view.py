"""What readers see of the engine: one immutable view, published by the writer at the
end of every advance.

Routes, pages, metrics and health read a `ReadView` (and DuckDB), never the engine's
live arrays: a view is built under the writer's lock and never changes afterwards,
so a reader needs no lock and cannot see a half-stepped bucket. Figures are at most
one tick behind the writer (a tick is half a second by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from outagewatch.app.engine.chart import DayChart
from outagewatch.app.engine.open_incidents import OpenView
from outagewatch.app.engine.recent_problems import ProblemCounts
from outagewatch.ingest.series import Keys, SeriesIndex, SeriesKey

A = TypeVar("A", bound=np.ndarray)


def frozen(a: A) -> A:
    """`a`, read-only: a reader cannot change what others see."""
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class ReadView:
    """
    >>> view = ReadView.empty()
    >>> view.version, view.n, view.sid(("aws", None)), view.keys()
    (0, 0, None, [])
    >>> view.hour.flags.writeable
    False
    """

    version: int  # moves whenever what readers see changed (cache key for renders)
    closed_until: float | None
    n: int  # series ids below n are in this view
    series: SeriesIndex  # append-only: its first n keys never change
    hour: npt.NDArray[np.float64]  # counted reports per series, last hour
    day: npt.NDArray[np.float64]  # and last day (open buckets included)
    # The model's expected count for the last hour's closed buckets: what `hour` is
    # compared with to say how far above normal a series is (the region map).
    hour_expected: npt.NDArray[np.float64]
    learning: npt.NDArray[np.bool_]  # no baseline yet for this series
    phi: npt.NDArray[np.float64]  # the model's counting dispersion (chart bands)
    chart: DayChart  # read as of `chart_last`: later buckets are not in this view
    chart_last: float | None
    open_by_level: dict[str, int] = field(default_factory=dict)
    # Buckets still open (their minute not over) that hold reports: their starts, and
    # counted reports so far per series, so a first report shows before its minute closes.
    open_starts: npt.NDArray[np.float64] = field(default_factory=lambda: frozen(np.zeros(0)))
    open_counts: npt.NDArray[np.float64] = field(default_factory=lambda: frozen(np.zeros((0, 0))))
    too_late: int = 0
    buckets_stepped: int = 0
    # Each service-wide series' counts by problem in the last hour's closed buckets.
    problems: ProblemCounts = field(default_factory=lambda: ProblemCounts((), math.inf))
    open: OpenView = field(default_factory=OpenView)  # open incidents, as stored

    @classmethod
    def empty(cls, width: int = 60) -> ReadView:
        none = frozen(np.zeros(0))
        return cls(
            version=0, closed_until=None, n=0, series=SeriesIndex(),
            hour=none, day=none, hour_expected=none, learning=np.zeros(0, dtype=np.bool_), phi=none,
            chart=DayChart(width), chart_last=None,
        )  # fmt: skip

    def sid(self, key: SeriesKey) -> int | None:
        i = self.series.get(key)
        return i if i is not None and i < self.n else None

    def keys(self) -> Keys:
        return self.series.keys(self.n)

    def ids_of(self, service: str) -> list[int]:
        """The ids of a service's series in this view, ascending."""
        return self.series.of_service(service, self.n)

    def wide_ids(self) -> npt.NDArray[np.int64]:
        ids = self.series.wide_ids()
        return ids[ids < self.n]

    def is_learning(self, sid: int) -> bool:
        return bool(self.learning[sid]) if sid < len(self.learning) else True

    def normal_hour(self, sid: int) -> float:
        return float(self.hour_expected[sid]) if sid < len(self.hour_expected) else 0.0

    def dispersion(self, sid: int) -> float:
        return float(self.phi[sid]) if sid < len(self.phi) else 0.1

    def open_points(self, sid: int) -> tuple[np.ndarray, np.ndarray]:
        """The open buckets of a series so far: (bucket starts, counts), oldest first."""
        if sid >= self.open_counts.shape[1]:
            return np.zeros(0), np.zeros(0)
        return self.open_starts, self.open_counts[:, sid]

    def points(self, sid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The day chart of a series: (bucket starts, counts, expected, levels)."""
        return self.chart.points(sid, self.chart_last)
