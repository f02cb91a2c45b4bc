"""Clocks. Time is an argument: components take a `Clock`, never read the wall.

The wall clock lives in `app/` (the only place allowed to read real time); here are
the protocol and the clock that needs no wall: a manual one, for tests and replays.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, UTC."""
        ...


class ManualClock:
    """A clock that moves only when told to.

    >>> c = ManualClock(100.0)
    >>> c.advance(30)
    130.0
    >>> c.now()
    130.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        self._t = float(t)

    def advance(self, seconds: float) -> float:
        self._t += seconds
        return self._t
