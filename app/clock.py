"""The wall clock: the one place that reads real time."""

from __future__ import annotations

import time

from outagewatch.ingest.clock import Clock, ManualClock

__all__ = ["Clock", "ManualClock", "WallClock"]


class WallClock:
    def now(self) -> float:
        return time.time()
