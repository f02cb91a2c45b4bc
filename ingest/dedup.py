"""Dedup: only the first report per reporter per service within a window is counted.

The window slides from the last *counted* report: a reporter who keeps reporting
every minute is counted once per window, not once per minute. Later reports are
still stored (with counted = false); they just do not move the counts.

Memory stays bounded by the reporters seen in the last two windows: entries live in
two generations, and the older one is dropped whole once per window. On outage day that is millions
of entries, so they are kept as one `"reporter service"` string each with a float
time: a dict of strings and floats is invisible to Python's cyclic garbage
collector, whose full passes would otherwise walk every entry and stall the server
(~100 ms per pass at 200k tuple keys, growing with the crowd).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


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
        # key: reporter + " " + service (reporters are printable ASCII without spaces).
        # Two generations instead of a sweep: the current one takes new entries, and
        # once a window of stream time has passed it becomes the previous one, whose
        # predecessor (all older than a window) is dropped whole. A sweep rebuilt the
        # whole memory (millions of entries, seconds) on the intake's event loop.
        self._cur: dict[str, float] = {}
        self._prev: dict[str, float] = {}
        self._gen_start: float | None = None

    def __len__(self) -> int:
        return len(self._cur) + len(self._prev.keys() - self._cur.keys())

    def _get(self, key: str) -> float | None:
        last = self._cur.get(key)
        return self._prev.get(key) if last is None else last

    def check(self, reporter: str, service: str, ts: float, alias: str | None = None) -> bool:
        """True when this report counts; remembers it if so. `alias` is the same
        reporter's identity under the previous salt, just after a salt rotation.

        >>> d = Dedup(window_seconds=3600)
        >>> d.check("old-hash", "aws", 0.0), d.check("new-hash", "aws", 60.0, alias="old-hash")
        (True, False)
        """
        self.sweep(ts)
        key = reporter + " " + service
        last = self._get(key)
        if last is None and alias is not None:
            last = self._get(alias + " " + service)
        if last is not None and abs(ts - last) < self.window:
            return False
        self._cur[key] = ts
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

    def sweep(self, now: float) -> None:
        """Forget what is older than a window (whole generations: O(1) but the frees)."""
        if self._gen_start is None:
            self._gen_start = now
        elif now - self._gen_start >= 2 * self.window:
            self._cur, self._prev, self._gen_start = {}, {}, now
        elif now - self._gen_start >= self.window:
            self._prev, self._cur, self._gen_start = self._cur, {}, now

    # Snapshots: plain columns so the app can persist them next to detector state.
    def export(self) -> tuple[list[str], list[str], list[float]]:
        merged = {**self._prev, **self._cur}
        pairs = [k.split(" ", 1) for k in merged]
        return [p[0] for p in pairs], [p[1] for p in pairs], list(merged.values())

    def restore(self, reporters: list[str], services: list[str], ts: list[float]) -> None:
        """Merge remembered reports in (the latest time per reporter and service wins)."""
        cur = self._cur
        for r, s, t in zip(reporters, services, ts, strict=True):
            key = r + " " + s
            last = self._get(key)
            if last is None or t > last:
                cur[key] = t
