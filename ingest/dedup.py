"""Dedup: only the first report per reporter per service within a window is counted.

The window slides from the last *counted* report: a reporter who keeps reporting
every minute is counted once per window, not once per minute. Later reports are
still stored (with counted = false); they just do not move the counts.

Memory stays bounded by the reporters seen in the last two windows (see
ingest/generations.py): on outage day millions of entries, each one
`"reporter service"` string with a float time, out of the garbage collector's way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from outagewatch.ingest.generations import Generations


class Dedup:
    """
    >>> d = Dedup(window_seconds=3600)
    >>> d.check("r1", "amazon", 0.0), d.check("r1", "amazon", 60.0), d.check("r1", "aws", 60.0)
    (True, False, True)
    >>> d.check("r1", "amazon", 3600.0)
    True
    """

    def __init__(self, window_seconds: float) -> None:
        self.window = float(window_seconds)
        # key: reporter + " " + service (reporters are printable ASCII without spaces)
        self._last = Generations(self.window)

    def __len__(self) -> int:
        return len(self._last)

    def check(self, reporter: str, service: str, ts: float, alias: str | None = None) -> bool:
        """True when this report counts; remembers it if so. `alias` is the same
        reporter's identity under the previous salt, just after a salt rotation.

        >>> d = Dedup(window_seconds=3600)
        >>> d.check("old-hash", "aws", 0.0), d.check("new-hash", "aws", 60.0, alias="old-hash")
        (True, False)
        """
        self._last.advance(ts)
        key = reporter + " " + service
        last = self._last.get(key)
        if last is None and alias is not None:
            last = self._last.get(alias + " " + service)
        if last is not None and abs(ts - last) < self.window:
            return False
        self._last[key] = ts
        return True

    def check_many(
        self, reporters: Sequence[str | None], services: Sequence[str], ts: Sequence[float]
    ) -> npt.NDArray[np.bool_]:
        """Batch form; a missing reporter (None) is anonymous and always counts."""
        out = np.ones(len(services), dtype=np.bool_)
        check = self.check
        for i, (r, s, t) in enumerate(zip(reporters, services, ts, strict=True)):
            if r is not None:
                out[i] = check(r, s, t)
        return out

    def forget(
        self, reporters: Sequence[str | None], services: Sequence[str], ts: Sequence[float]
    ) -> None:
        """Take back counted verdicts (reports that were never acknowledged after all),
        so that the same reports count when they are sent again.

        >>> d = Dedup(window_seconds=3600)
        >>> d.check("r1", "aws", 0.0), d.check("r1", "aws", 1.0)
        (True, False)
        >>> d.forget(["r1"], ["aws"], [0.0]); d.check("r1", "aws", 2.0)
        True
        """
        for r, s, t in zip(reporters, services, ts, strict=True):
            if r is not None:
                self._last.discard(r + " " + s, t)

    def sweep(self, now: float) -> None:
        """Forget what is older than a window (in whole generations)."""
        self._last.advance(now)

    def restore(self, reporters: list[str], services: list[str], ts: list[float]) -> None:
        """Merge remembered reports in (the latest time per reporter and service wins)."""
        last = self._last
        for r, s, t in zip(reporters, services, ts, strict=True):
            key = r + " " + s
            seen = last.get(key)
            if seen is None or t > seen:
                last[key] = t
