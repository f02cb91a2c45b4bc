"""API keys for the admin endpoints: held only as SHA-256 digests, checked in
constant time.

Keys come from settings either raw (`OUTAGEWATCH_API_KEYS=key1`) or, better, as
digests (`sha256:<hex>`, printed by `outagewatch new-key`), so a leaked config or
process dump does not hand out the key. Keys are long random strings, so one
unsalted SHA-256 is enough; a slow password hash would only slow every import.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from outagewatch.ingest.limits import network_prefix

PREFIX = "sha256:"


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def hash_key(key: str) -> str:
    """The form to put in OUTAGEWATCH_API_KEYS.

    >>> hash_key("key1")[:14]
    'sha256:8174099'
    """
    return PREFIX + digest(key).hex()


def new_key() -> str:
    return "ow_" + secrets.token_urlsafe(32)


class ApiKeys:
    """
    >>> keys = ApiKeys(["plain", hash_key("hashed")])
    >>> keys.check("plain"), keys.check("hashed"), keys.check("nope"), keys.check(hash_key("plain"))
    (True, True, False, False)
    """

    def __init__(self, configured: Iterable[str]) -> None:
        self._digests = [
            bytes.fromhex(k[len(PREFIX) :]) if k.startswith(PREFIX) else digest(k)
            for k in configured
        ]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def check(self, given: str) -> bool:
        """Compares against every key, whatever matches, so timing says nothing."""
        d = digest(given)
        ok = False
        for known in self._digests:
            ok |= hmac.compare_digest(d, known)
        return ok


class FailureThrottle:
    """Failed admin authentications per client network (/24, /48): a burst of
    `per_minute`, refilled at `per_minute` a minute; past it, every attempt from that
    network (a right key too, or guessing would go on) waits. Keyed by a keyed hash of
    the network, never the address. Time is an argument.

    >>> t = FailureThrottle(per_minute=2, secret=b"k")
    >>> [t.wait("203.0.113.9", 0.0) for _ in range(1)], t.fail("203.0.113.9", 0.0)
    ([0.0], None)
    >>> t.fail("203.0.113.77", 0.0); t.wait("203.0.113.1", 0.0), t.wait("198.51.100.1", 0.0)
    (30.0, 0.0)
    >>> t.wait("203.0.113.1", 30.0)
    0.0
    """

    def __init__(self, per_minute: int, secret: bytes, max_keys: int = 100_000) -> None:
        self.burst = float(per_minute)
        self.rate = per_minute / 60.0
        self.secret = secret
        self.max_keys = max_keys
        self._tokens: dict[str, float] = {}  # strings to floats: untracked by the GC
        self._at: dict[str, float] = {}

    def _key(self, address: str) -> str:
        net = network_prefix(address).encode()
        return hashlib.blake2b(net, digest_size=8, key=self.secret[:64]).hexdigest()

    def _level(self, key: str, now: float) -> float:
        last = self._at.get(key)
        if last is None:
            return self.burst
        return min(self.burst, self._tokens[key] + (now - last) * self.rate)

    def wait(self, address: str, now: float) -> float:
        """Seconds before this network may try a key again (0: now)."""
        if self.rate <= 0:
            return 0.0
        level = self._level(self._key(address), now)
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate

    def fail(self, address: str, now: float) -> None:
        if self.rate <= 0:
            return
        key = self._key(address)
        self._tokens[key] = max(0.0, self._level(key, now) - 1.0)
        self._at[key] = now
        if len(self._at) > self.max_keys:  # forget networks whose bucket has refilled
            full = self.burst / self.rate
            self._at = {k: t for k, t in self._at.items() if now - t < full}
            self._tokens = {k: self._tokens[k] for k in self._at}
