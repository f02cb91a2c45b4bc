"""Intake policies against hostile crowds: rate limits and per-network caps.

Pure: time comes in as an argument. Keys are already-hashed identities, so no raw
address is ever held here.
"""

from __future__ import annotations

import ipaddress


class TokenBuckets:
    """One token bucket per key: `rate` tokens a second, at most `burst` saved up.

    >>> tb = TokenBuckets(rate=1.0, burst=2)
    >>> [tb.take("a", 0.0)[0] for _ in range(3)]
    [True, True, False]
    >>> tb.take("a", 1.0)
    (True, 0.0)
    """

    def __init__(self, rate: float, burst: float, max_keys: int = 200_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> tuple[bool, float]:
        """(allowed, seconds until a token is available)."""
        tokens, last = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            if len(self._state) > self.max_keys:
                self._forget(now)
            return True, 0.0
        self._state[key] = (tokens, now)
        return False, (1.0 - tokens) / self.rate

    def _forget(self, now: float) -> None:
        """Drop keys whose bucket has refilled: they hold no information."""
        full = self.burst / self.rate
        self._state = {k: v for k, v in self._state.items() if now - v[1] < full}


class PrefixCap:
    """At most `cap` counted reports per network prefix per service per window: a
    thousand reporter tokens from one network stand for a few people, not a crowd.

    >>> pc = PrefixCap(cap=2, window=3600)
    >>> [pc.allows("net", "aws", 0.0) and pc.note("net", "aws", 0.0) is None for _ in range(3)]
    [True, True, False]
    >>> pc.allows("net", "aws", 3600.0)
    True
    """

    def __init__(self, cap: int, window: float) -> None:
        self.cap = cap
        self.window = window
        self._seen: dict[tuple[str, str], list[float]] = {}
        self._swept = 0.0

    def allows(self, prefix: str, service: str, now: float) -> bool:
        if now - self._swept > self.window:
            self._sweep(now)
        recent = [t for t in self._seen.get((prefix, service), []) if now - t < self.window]
        self._seen[(prefix, service)] = recent
        return len(recent) < self.cap

    def note(self, prefix: str, service: str, now: float) -> None:
        self._seen.setdefault((prefix, service), []).append(now)

    def _sweep(self, now: float) -> None:
        self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.window}
        self._swept = now


def network_prefix(address: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) a client address belongs to; itself if unparsable.

    >>> network_prefix("203.0.113.77"), network_prefix("2001:db8:1:2::5")
    ('203.0.113.0/24', '2001:db8:1::/48')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))
