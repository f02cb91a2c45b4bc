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
