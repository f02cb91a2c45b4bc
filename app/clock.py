"""The wall clock: the one place that reads real time."""

from __future__ import annotations

import time

from outagewatch.ingest.clock import Clock, ManualClock, StreamClock

__all__ = ["Clock", "ManualClock", "StreamClock", "WallClock"]


class WallClock:
    def now(self) -> float:
        return time.time()
