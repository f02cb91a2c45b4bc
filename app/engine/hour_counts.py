"""Counted reports per series per clock hour, in a ring of 24 hours.

The API's hour and day totals read this ring instead of scanning raw reports.
"""

from __future__ import annotations

import math
from typing import Any

from outagewatch.detector.kernels import compiled


@compiled
def count_hours(hourly: Any, hour_of: int, starts: Any, counts: Any) -> int:
    """Add each bucket's counts (rows of `counts`, starting at `starts`) to its clock
    hour's column, clearing the hours the ring moves over; `hour_of` is the hour last
    counted (-1: none yet). Returns the hour now last counted.

    The sums are float32, added a bucket at a time as numpy's `+=` adds: whole counts
    stay exact to 16M.
    """
    n = counts.shape[1]
    for i in range(len(starts)):
        hour = math.floor(starts[i] / 3600)
        if hour_of >= 0 and hour != hour_of:
            gap = min(24, hour - hour_of)
            for h in range(hour_of + 1, hour_of + 1 + gap):
                hourly[:, h % 24] = 0.0
        hour_of = hour
        col = hour % 24
        for j in range(n):
            hourly[j, col] = hourly[j, col] + counts[i, j]
    return hour_of
