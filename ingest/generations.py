"""A str -> float memory that forgets in whole generations, for the intake's crowd memories.

New entries go into the current generation; once `span` of stream time has passed it
becomes the previous one, and its predecessor (nothing in it was touched for a whole
span) is dropped whole. Forgetting is O(1) on the event loop (a sweep that rebuilt
millions of entries stalled it for seconds), and string keys with float values keep
both dicts invisible to Python's cyclic garbage collector, whose full passes stop
every thread.

>>> g = Generations(span=60)
>>> g.advance(0.0); g["a"] = 1.0; g.advance(70.0); g["b"] = 2.0
>>> g.get("a"), g.get("b"), len(g)
(1.0, 2.0, 2)
>>> g.advance(130.0); g.get("a"), g.get("b")
(None, 2.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import itemgetter

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


class Generations:
    def __init__(self, span: float) -> None:
        self.span = float(span)
        self._cur: dict[str, float] = {}
        self._prev: dict[str, float] = {}
        self._start: float | None = None

    def advance(self, now: float) -> None:
        """Move to stream time `now`, dropping what was last set two generations ago."""
        if self._start is None:
            self._start = now
        elif now - self._start >= 2 * self.span:
            self._cur, self._prev, self._start = {}, {}, now
        elif now - self._start >= self.span:
            self._prev, self._cur, self._start = self._cur, {}, now

    def runs(self, times: F64) -> Iterator[tuple[int, int]]:
        """A batch of stream times, in the order they come, as runs [a, b) that see
        the same generations: before yielding each run this advances as `advance` on
        its first time would, and no later time in the run would move anything, so
        the run's keys may be looked up and set together.

        >>> g = Generations(span=60)
        >>> list(g.runs(np.array([0.0, 30.0, 59.0, 61.0, 10.0, 130.0])))
        [(0, 3), (3, 5), (5, 6)]
        """
        n, a = len(times), 0
        while a < n:
            self.advance(float(times[a]))
            start = self._start
            assert start is not None
            # The next time a span past this run's start, looked for in growing
            # slices: a batch of many short runs costs no more than one long one.
            b, size = a + 1, 64
            while b < n:
                hit = np.flatnonzero(times[b : b + size] - start >= self.span)
                if len(hit):
                    b += int(hit[0])
                    break
                b, size = b + size, size * 2
            b = min(b, n)
            yield a, b
            a = b

    def get_many(self, keys: list[str]) -> F64:
        """`get` for many keys at once, NaN where a key is not remembered."""
        nan = float("nan")
        out = np.fromiter(map(self._cur.get, keys, repeat(nan)), np.float64, len(keys))
        missing = np.flatnonzero(np.isnan(out))
        if len(missing) and self._prev:
            older = pick(keys, missing)
            out[missing] = np.fromiter(map(self._prev.get, older, repeat(nan)), np.float64)
        return out

    def set_many(self, items: Iterable[tuple[str, float]]) -> None:
        self._cur.update(items)

    def get(self, key: str) -> float | None:
        value = self._cur.get(key)
        return self._prev.get(key) if value is None else value

    def __setitem__(self, key: str, value: float) -> None:
        self._cur[key] = value

    def discard(self, key: str, value: float) -> None:
        """Forget `key` if it still holds `value` (a write taken back)."""
        for gen in (self._cur, self._prev):
            if gen.get(key) == value:
                del gen[key]

    def __len__(self) -> int:
        return len(self._cur) + len(self._prev.keys() - self._cur.keys())


def pick(items: list[str], idx: npt.NDArray[np.int64]) -> list[str]:
    """items[i] for i in idx, without a Python loop over them."""
    if len(idx) == 0:
        return []
    if len(idx) == 1:
        return [items[int(idx[0])]]
    return list(itemgetter(*idx.tolist())(items))
