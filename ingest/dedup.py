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
import polars as pl

from outagewatch.ingest.generations import Generations, pick

Column = Sequence[str | None] | pl.Series


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
        self, reporters: Column, services: Column, ts: Sequence[float] | pl.Series
    ) -> npt.NDArray[np.bool_]:
        """Batch form of `check`: the same verdicts, in order, and the same memory
        afterwards; a missing reporter (None) is anonymous and always counts.

        Vectorised: the batch is cut into runs that see the same generations, and a
        run's keys are looked up and remembered at once; only a key that comes back
        within its run (the same person again) is decided row by row, in order.

        >>> Dedup(60).check_many(["a", "a", None, "b"], ["s"] * 4, [0.0, 1.0, 2.0, 3.0]).tolist()
        [True, False, True, True]
        """
        who = pl.Series(reporters, dtype=pl.String)
        what = pl.Series(services, dtype=pl.String)
        times = ts.to_numpy() if isinstance(ts, pl.Series) else np.asarray(ts)
        out = np.ones(len(what), dtype=np.bool_)
        named = who.is_not_null().to_numpy()
        if not named.any():
            return out
        rows = np.flatnonzero(named)
        keys = (who.filter(named) + " " + what.filter(named)).to_list()
        t = times.astype(np.float64)[rows]
        verdict = np.empty(len(rows), dtype=np.bool_)
        for a, b in self._last.runs(t):
            verdict[a:b] = self._run(keys[a:b], t[a:b])
        out[rows] = verdict
        return out

    def _run(self, keys: list[str], t: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Verdicts for rows that see the same generations (see `check_many`)."""
        last = self._last.get_many(keys)
        counted: npt.NDArray[np.bool_] = ~(np.abs(t - last) < self.window)  # NaN: never seen
        # Most runs hold each person once: then no key needs the rows before it.
        again = None if len(set(keys)) == len(keys) else pl.Series(keys).is_duplicated()
        once = counted if again is None else counted & ~again.to_numpy()
        chosen = keys if once.all() else _picked(keys, once)
        self._last.set_many(zip(chosen, t[once].tolist(), strict=True))
        if again is not None:  # the same key more than once: each row sees the one before
            idx = np.flatnonzero(again.to_numpy())
            seen: dict[str, float] = {}
            window = self.window
            for i, key, ti, before in zip(
                idx.tolist(), pick(keys, idx), t[idx].tolist(), last[idx].tolist(),
                strict=True,
            ):  # fmt: skip
                ok = not abs(ti - seen.get(key, before)) < window
                if ok:
                    seen[key] = ti
                counted[i] = ok
            self._last.set_many(seen.items())
        return counted

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


def _picked(keys: list[str], mask: npt.NDArray[np.bool_]) -> list[str]:
    return pick(keys, np.flatnonzero(mask))
