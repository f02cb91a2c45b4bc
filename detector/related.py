"""Which services' incidents opened near each other: each incident's `related`.

Incidents of different services opened within `window` seconds of each other name
each other's service. Linking is per service, not per pair: every incident in the
window already names every other service there, so the others need a new incident's
service only when that service is new to the window (a wave of 4,000 incidents was 8
million pairs).

The sets are shared. Incidents of one service that open while the window holds the
same services get one set object, not one each: an outage wave of 400 services opens
~17,000 incidents that each name ~400 services, 540 MB as separate sets and a few MB
shared. A set that must grow (a new service joins the window) is grown in place when
only incidents still in the window hold it, and copied for them otherwise, so an
incident that has left the window never changes.

A restart puts the incidents opened within the window back in it (`restore`), so the
links go on as if it had not stopped.

>>> from types import SimpleNamespace as Inc
>>> window = RelatedWindow(600.0)
>>> shop, a1, a2, a3 = (Inc(service=s, opened_at=t) for s, t in
...                     [("shop", 0.0), ("aws", 5.0), ("aws", 6.0), ("aws", 7.0)])
>>> for inc in (shop, a1, a2, a3):
...     window.link(inc, inc.opened_at)
>>> sorted(a1.related), sorted(shop.related), a2.related is a3.related
(['shop'], ['aws'], True)
>>> a1.related is a2.related  # aws was new to the window when a1 opened
False
>>> late = Inc(service="bank", opened_at=606.5)  # shop, a1 and a2 have left the window
>>> window.link(late, late.opened_at)
>>> sorted(a2.related), sorted(a3.related), sorted(late.related)
(['shop'], ['bank', 'shop'], ['aws'])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol


class Linked(Protocol):
    """What linking reads and writes of an incident."""

    service: str
    opened_at: float
    related: set[str]


class RelatedWindow:
    """The incidents opened in the last `window` seconds, and their `related` sets."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._recent: deque[Linked] = deque()
        self._held: dict[str, int] = {}  # service -> its incidents in the window
        self._version = 0  # moves whenever the window's set of services changes
        self._opening: dict[str, set[str]] = {}  # service -> its set at this version
        self._holders: dict[int, int] = {}  # id of a shared set -> incidents given it

    def link(self, inc: Linked, now: float) -> None:
        """`inc` opens at stream time `now`: it names the services in the window, and
        the incidents in the window name its service."""
        held, recent = self._held, self._recent
        while recent and now - recent[0].opened_at > self.window:
            gone = recent.popleft().service
            held[gone] -= 1
            if not held[gone]:
                del held[gone]
                self._moved()
        if inc.service not in held:
            self._name_everywhere(inc.service)
        inc.related = self._set_at_opening(inc.service)
        recent.append(inc)
        if inc.service not in held:
            self._moved()
        held[inc.service] = held.get(inc.service, 0) + 1

    def restore(self, recent: Sequence[Linked], others: Sequence[Linked]) -> None:
        """After a restart: `recent` are the incidents opened within the window (open or
        not), `others` the open ones opened before it, all with their `related` sets as
        they were kept. The window goes on from there, as if it had never stopped: a new
        incident names `recent`'s services, and they name it."""
        self._recent = deque(sorted(recent, key=lambda inc: inc.opened_at))
        self._held = {}
        for inc in self._recent:
            self._held[inc.service] = self._held.get(inc.service, 0) + 1
        self._holders = {}
        for inc in [*self._recent, *others]:
            self._holders[id(inc.related)] = self._holders.get(id(inc.related), 0) + 1
        self._moved()

    def _moved(self) -> None:
        self._version += 1
        self._opening.clear()  # every cached set was for the window before
        if len(self._holders) > 2 * len(self._recent) + 64:
            # Sets no incident in the window holds are never grown again.
            live = {id(inc.related) for inc in self._recent}
            self._holders = {k: v for k, v in self._holders.items() if k in live}

    def _set_at_opening(self, service: str) -> set[str]:
        """The window's other services, one set for every incident of `service`
        opening at this version."""
        shared = self._opening.get(service)
        if shared is None:
            shared = {other for other in self._held if other != service}
            self._opening[service] = shared
            self._holders[id(shared)] = 0
        self._holders[id(shared)] += 1
        return shared

    def _name_everywhere(self, service: str) -> None:
        """Every incident in the window names `service` (new to the window)."""
        groups: dict[int, list[Linked]] = {}
        for other in self._recent:
            groups.setdefault(id(other.related), []).append(other)
        for members in groups.values():
            names = members[0].related
            if self._holders.get(id(names), 0) > len(members):
                # Also held by incidents that left the window: they keep it as it is.
                names = set(names)
                self._holders[id(names)] = len(members)
                for other in members:
                    other.related = names
            names.add(service)
