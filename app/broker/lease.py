"""Partition ownership across hosts: one worker applies a partition at a time.

A worker holds a lease per partition in the KV bucket `owners` (key `p<N>`, the value
names the holder). Taking a free lease is `kv.create`, renewing or taking over is
`kv.update(key, value, last=revision)`: compare-and-set on the key's revision, so of
two workers trying at once only one wins.

Nothing needs the workers' clocks to agree, only to tick at about the same rate: the
holder renews every `broker_lease_renew_s`; a standby takes over only after it has
seen the same revision unchanged for `broker_lease_s` by its own monotonic clock. That
wait starts after the holder's last renewal existed, so the holder counts its lease
as held for `HOLD` x `broker_lease_s` after it SENT that renewal and stops applying
before any standby may start (the rest is room for the rates to differ).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

import orjson
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

log = logging.getLogger("outagewatch.worker")
HOLD = 0.8  # share of the lease period the holder trusts after a renewal was sent
CREATE_TRIES = 3  # reads of a free key before a take counts as lost this round


def owner_name() -> str:
    """Unique per process: a restarted worker is a new owner and waits out the old."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def holder_of(value: bytes | None) -> str:
    try:
        return str(orjson.loads(value or b"{}").get("owner", "?"))
    except (orjson.JSONDecodeError, AttributeError):
        return "?"


class Lease:
    """One partition's lease, as seen by one worker (its holder or a standby)."""

    def __init__(
        self,
        kv: KeyValue,
        partition: int,
        owner: str,
        lease_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kv = kv
        self.partition = partition
        self.key = f"p{partition}"
        self.owner = owner
        self.lease_s = lease_s
        self.monotonic = monotonic
        self.revision = 0  # the key's revision we wrote last; 0: not ours
        self.valid_until = float("-inf")  # by our monotonic clock
        self._seen: tuple[int | None, float] | None = None  # another's revision, first seen at
        self._lock = asyncio.Lock()  # one compare-and-set at a time from this worker

    def held(self) -> bool:
        """Ours, and a standby cannot have taken it yet. Plain reads: callable from
        the thread that commits a batch, right before it commits."""
        return self.revision > 0 and self.monotonic() < self.valid_until

    async def try_take(self) -> str | None:
        """Take the lease if it is free, stale (the same revision for a lease period)
        or still ours; None once taken, else who holds it."""
        async with self._lock:
            for _ in range(CREATE_TRIES):
                try:
                    entry = await self.kv.get(self.key)
                except KeyNotFoundError:  # never taken, or released (deleted)
                    entry = None
                sent = self.monotonic()
                try:
                    if entry is None:
                        revision = await self.kv.create(self.key, self._value())
                    else:
                        holder = holder_of(entry.value)
                        if holder != self.owner:  # ours only after a renewal went unanswered
                            if self._seen is None or self._seen[0] != entry.revision:
                                self._seen = (entry.revision, sent)
                                return holder
                            if sent - self._seen[1] < self.lease_s:
                                return holder
                        revision = await self.kv.update(
                            self.key, self._value(), last=entry.revision
                        )
                except KeyWrongLastSequenceError:  # another worker wrote first
                    self._seen = None
                    return "?" if entry is None else holder_of(entry.value)
                except NotFoundError:
                    # create() over a delete marker reads the key back to learn the
                    # marker's revision; a replica that has not seen the marker yet
                    # answers "no message". The key is free: read it again.
                    continue
                self.revision, self.valid_until = revision, sent + HOLD * self.lease_s
                self._seen = None
                return None
            return "?"

    async def renew(self) -> bool:
        """Renew by compare-and-set on our revision; False once lost: another worker
        wrote the key, or no renewal got through while the lease lasted (a leader
        election shorter than that is ridden out)."""
        async with self._lock:
            while self.revision > 0:
                sent = self.monotonic()
                if sent >= self.valid_until:
                    break
                try:
                    self.revision = await self.kv.update(
                        self.key, self._value(), last=self.revision
                    )
                except KeyWrongLastSequenceError:
                    break
                except Exception as exc:  # no answer (yet): the lease may still be ours
                    log.warning("partition %d: lease not renewed yet: %r", self.partition, exc)
                    await asyncio.sleep(0.2)
                    continue
                self.valid_until = sent + HOLD * self.lease_s
                return True
            self.revision = 0
            return False

    async def release(self) -> None:
        """On a clean stop: delete the key (if still ours) so a standby takes over at
        once instead of waiting out the lease."""
        async with self._lock:
            if self.held():
                try:
                    await self.kv.delete(self.key, last=self.revision)
                except Exception as exc:  # it runs out by itself
                    log.warning("partition %d: lease not released: %r", self.partition, exc)
            self.revision = 0

    def _value(self) -> bytes:
        return orjson.dumps({"owner": self.owner})
