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

PREFIX = "sha256:"


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def hash_key(key: str) -> str:
    """The form to put in OUTAGEWATCH_API_KEYS.

    >>> hash_key("key1")[:15]
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
