"""Reporter identity that forgets: salts for reporter hashes rotate.

A reporter is stored as a keyed hash of their token, or of address and user agent.
Each rotation period (default a day, aligned to UTC epochs so every process agrees)
gets a fresh random salt; the previous one is kept only while the dedup window still
needs it (a reporter seen just before a rotation is not counted again just after),
then it is overwritten. Once a salt is gone, stored hashes can no longer be linked
to an address by trying addresses. With an operator-set secret (several intake nodes
must agree), epoch salts are derived from it instead: stable, but weaker, since
whoever holds the secret can recompute them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path

import orjson


def _keyed(salt: bytes) -> hashlib.blake2b:
    """The keyed hash every stored identity is made with (10 bytes of blake2b)."""
    return hashlib.blake2b(digest_size=10, key=salt[:64])


def reporter_hash(salt: bytes, token: str | None, address: str = "", user_agent: str = "") -> str:
    """The stored identity of a reporter: keyed blake2b of the token, or of address and
    user agent; neither is ever stored raw."""
    h = _keyed(salt)
    if token is not None:
        h.update(b"t:" + token.encode())
    else:
        h.update(b"a:" + address.encode() + b"\0" + user_agent.encode())
    return h.hexdigest()


def token_hashes(salt: bytes, tokens: list[str | None]) -> list[str | None]:
    """`reporter_hash` of each token (None stays None) for a batch: the keyed hash is
    set up once and copied for each token, a third cheaper than one set up per token.

    >>> salt = bytes(32)
    >>> token_hashes(salt, ["a", None]) == [reporter_hash(salt, "a"), None]
    True
    """
    base = _keyed(salt)
    base.update(b"t:")
    out: list[str | None] = []
    for token in tokens:
        if token is None:
            out.append(None)
            continue
        h = base.copy()
        h.update(token.encode())
        out.append(h.hexdigest())
    return out


def network_hash(salt: bytes, prefix: str) -> str:
    """The stored identity of a client's network (/24, /48: ingest/limits.py
    network_prefix), for the per-network cap where reports are counted away from the
    node that took them (a NATS worker); keyed like the reporter's, never raw."""
    h = _keyed(salt)
    h.update(b"n:" + prefix.encode())
    return h.hexdigest()


class ReporterSalts:
    """Random salts, kept in the data directory: the previous one stays for an hour after
    a rotation (dedup across it), then is forgotten.

    >>> s = ReporterSalts(None, secret="", rotation_s=86400, keep_previous_s=3600, now=0.0)
    >>> a, prev = s.at(10.0)
    >>> prev is None, s.at(86400 + 10)[1] == a, s.at(86400 + 3700)[1] is None
    (True, True, True)

    With a secret (OUTAGEWATCH_REPORTER_SALT) every salt is derived, the previous one too:
    it survives a restart.

    >>> k = ReporterSalts(None, secret="k", rotation_s=86400, keep_previous_s=3600, now=0.0)
    >>> a = k.at(10.0)[0]
    >>> k.at(86400 + 10)[1] == a, k.at(86400 + 3700)[1] is None
    (True, True)
    """

    def __init__(
        self,
        path: Path | None,
        *,
        secret: str,
        rotation_s: float,
        keep_previous_s: float,
        now: float,
    ) -> None:
        self.path = path
        self.secret = secret.encode()
        self.rotation_s = rotation_s
        self.keep_previous_s = keep_previous_s
        self._lock = threading.Lock()
        self._epoch = -1
        self._current = b""
        self._previous: bytes | None = None
        self._load()
        self._rotate(now)

    def _epoch_of(self, now: float) -> int:
        return int(now // self.rotation_s) if self.rotation_s > 0 else 0

    def at(self, now: float) -> tuple[bytes, bytes | None]:
        """(the salt for new hashes, the previous salt while dedup still needs it)."""
        if self._epoch_of(now) != self._epoch:
            with self._lock:
                self._rotate(now)
        if self._previous is not None and self._since_rotation(now) >= self.keep_previous_s:
            with self._lock:  # no longer needed: forget it, on disk too
                self._previous = None
                self._save()
        return self._current, self._previous

    def _since_rotation(self, now: float) -> float:
        return now - self._epoch * self.rotation_s if self.rotation_s > 0 else float("inf")

    def ids(
        self, now: float, token: str | None, address: str, user_agent: str
    ) -> tuple[str, str | None]:
        """The reporter's id now, and under the previous salt while dedup needs it."""
        current, previous = self.at(now)
        alias = None if previous is None else reporter_hash(previous, token, address, user_agent)
        return reporter_hash(current, token, address, user_agent), alias

    @property
    def current(self) -> bytes:
        return self._current

    def _derive(self, epoch: int) -> bytes:
        return hashlib.blake2b(b"epoch:%d" % epoch, key=self.secret[:64], digest_size=16).digest()

    def _rotate(self, now: float) -> None:
        epoch = self._epoch_of(now)
        if epoch == self._epoch:
            return
        if self.secret:
            self._current, self._epoch = self._derive(epoch), epoch
            self._previous = self._derive(epoch - 1)
            return
        consecutive = epoch == self._epoch + 1 and self._current
        self._previous = self._current if consecutive else None
        self._current, self._epoch = secrets.token_bytes(16), epoch
        self._save()

    def _load(self) -> None:
        if self.secret or self.path is None or not self.path.exists():
            return
        state = orjson.loads(self.path.read_bytes())
        self._epoch = int(state["epoch"])
        self._current = bytes.fromhex(state["current"])
        prev = state.get("previous")
        self._previous = bytes.fromhex(prev) if prev else None

    def _save(self) -> None:
        """Atomically: the old file (and with it the salt before previous) is replaced."""
        if self.path is None or self.secret:
            return
        body = orjson.dumps(
            {
                "epoch": self._epoch,
                "current": self._current.hex(),
                "previous": None if self._previous is None else self._previous.hex(),
            }
        )
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
