"""The service catalog: which services the public intake takes reports for.

A curated catalog is the default, so a crowd cannot make up services (or a million
series) by posting random names. Accepting unknown services is a setting; then at
most `new_services_per_hour` services and `new_regions_per_hour` (service, region)
pairs may appear per sliding hour. A report over the region cap is not lost: it is
folded into the service-wide series (region dropped). Pure: time is an argument.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

HOUR = 3600.0


@dataclass(frozen=True)
class Admission:
    """What the catalog says of one report."""

    verdict: Literal["ok", "unknown", "limited"]
    region: str | None = None  # the region to count it under (None when folded)
    new_service: bool = False  # first sight of this service: the caller persists it
    retry_after: float = 0.0


class SlidingCap:
    """At most `cap` events in any `window` seconds.

    >>> c = SlidingCap(cap=2, window=10)
    >>> [c.take(0.0), c.take(1.0), c.take(2.0), c.take(10.5)]
    [True, True, False, True]
    >>> c.wait(10.6)
    0.4...
    """

    def __init__(self, cap: int, window: float = HOUR) -> None:
        self.cap = cap
        self.window = window
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()

    def take(self, now: float) -> bool:
        self._expire(now)
        if len(self._times) >= self.cap:
            return False
        self._times.append(now)
        return True

    def wait(self, now: float) -> float:
        """Seconds until `take` can succeed."""
        self._expire(now)
        if len(self._times) < self.cap:
            return 0.0
        return self._times[0] + self.window - now


class Catalog:
    """
    >>> cat = Catalog(["amazon"], accept_unknown=False)
    >>> cat.admit("amazon", "IT", 0.0).verdict, cat.admit("made-up", None, 0.0).verdict
    ('ok', 'unknown')
    >>> open_cat = Catalog([], accept_unknown=True, new_services_per_hour=1)
    >>> a = open_cat.admit("new-one", None, 0.0)
    >>> a.verdict, a.new_service, open_cat.admit("new-two", None, 1.0).verdict
    ('ok', True, 'limited')
    """

    def __init__(
        self,
        services: Iterable[str],
        *,
        accept_unknown: bool,
        new_services_per_hour: int = 50,
        new_regions_per_hour: int = 500,
        pairs: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.accept_unknown = accept_unknown
        self._known: set[str] = set(services)
        self._pairs: set[tuple[str, str]] = set(pairs)
        self._new_services = SlidingCap(new_services_per_hour)
        self._new_regions = SlidingCap(new_regions_per_hour)

    def __contains__(self, service: str) -> bool:
        return service in self._known

    def __len__(self) -> int:
        return len(self._known)

    def add(self, service: str) -> bool:
        """An operator's (or a trusted import's) service; True when it is new."""
        new = service not in self._known
        self._known.add(service)
        return new

    def remove(self, service: str) -> bool:
        if service not in self._known:
            return False
        self._known.discard(service)
        self._pairs = {p for p in self._pairs if p[0] != service}
        return True

    def admit(self, service: str, region: str | None, now: float) -> Admission:
        new_service = False
        if service not in self._known:
            if not self.accept_unknown:
                return Admission("unknown")
            if not self._new_services.take(now):
                return Admission("limited", retry_after=self._new_services.wait(now))
            self._known.add(service)
            new_service = True
        if region is None or not self.accept_unknown:
            return Admission("ok", region, new_service)
        pair = (service, region)
        if pair in self._pairs:
            return Admission("ok", region, new_service)
        if self._new_regions.take(now):
            self._pairs.add(pair)
            return Admission("ok", region, new_service)
        return Admission("ok", None, new_service)  # over the cap: service-wide only
