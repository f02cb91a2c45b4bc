"""Follow a JetStream KV bucket: every key's decoded value, kept current by a watcher.

Intake nodes and workers keep what operators declared in NATS mode (maintenance
windows, catalog entries) this way. `entries` is a fresh dict on every change, never
mutated after, so a request thread or a pipeline thread reads it without a lock.
A write waits for JetStream's answer and then counts at once on the node that made it;
each key's revision is kept, so the watcher's late echo of an older value never
undoes a newer one.

>>> seen = []
>>> f = KvFollower(bytes.decode, "note", lambda entries, keys: seen.append(sorted(keys)))
>>> f.change({"a": (1, "one"), "b": (2, "two")})
>>> f.change({"a": (1, "one")})  # the watcher's echo of a value already held
>>> f.change({"b": (3, DELETED), "a": (4, "uno")})
>>> dict(f.entries), f.version, seen
({'a': 'uno'}, 2, [['a', 'b'], ['a', 'b']])
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any, Generic, TypeVar

from nats.js.kv import KeyValue

from outagewatch.app.broker.subjects import answered
from outagewatch.app.errors import ApiError

log = logging.getLogger("outagewatch.broker")
WRITE_TIMEOUT_S = 10.0  # covers a KV leader election (a few seconds)
T = TypeVar("T")


class _Deleted:
    def __repr__(self) -> str:
        return "DELETED"


DELETED = _Deleted()  # a key deleted or purged from the bucket


async def entries(watcher: Any) -> AsyncIterator[Any]:
    """A KV watcher's entries for ever, None once the values at start are all read;
    its quiet spells and reconnects are waited out here, for every follower."""
    while True:
        try:
            entry = await watcher.updates(timeout=5.0)
        except TimeoutError:
            continue
        except Exception:
            await asyncio.sleep(0.2)  # reconnecting: the watcher resumes
            continue
        yield entry


class KvFollower(Generic[T]):
    """`on_change(entries, keys)` is told which keys changed (the values at start come
    as one change, once all are read, then `ready` is set)."""

    def __init__(
        self,
        decode: Callable[[bytes], T],
        what: str,
        on_change: Callable[[Mapping[str, T], Collection[str]], None] | None = None,
    ) -> None:
        self.entries: Mapping[str, T] = {}
        self.version = 0  # moves on every change
        self.ready = asyncio.Event()  # the bucket's values at start have been read
        self.what = what  # for the 503's message: "the <what> could not be stored"
        self._decode = decode
        self._on_change = on_change
        self._revisions: dict[str, int] = {}
        self._lock = threading.Lock()  # the watcher (event loop) vs writers (threads)
        self._kv: KeyValue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, kv: KeyValue) -> None:
        self._kv, self._loop = kv, asyncio.get_running_loop()
        watcher = await answered(kv.watchall)
        self._task = asyncio.create_task(self._follow(watcher))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, watcher: Any) -> None:
        initial: dict[str, tuple[int, T | _Deleted]] = {}
        async for entry in entries(watcher):
            if entry is None:  # end of the values at start: one change for them all
                self.change(initial)
                initial = {}
                self.ready.set()
                continue
            deleted = entry.operation in ("DEL", "PURGE") or not entry.value
            value = DELETED if deleted else self._decode(entry.value)
            if self.ready.is_set():
                self.change({entry.key: (entry.revision or 0, value)})
            else:
                initial[entry.key] = (entry.revision or 0, value)

    def change(self, changes: Mapping[str, tuple[int, T | _Deleted]]) -> None:
        """Keys at a revision with a value, or DELETED; older revisions are ignored."""
        with self._lock:
            entries = dict(self.entries)
            changed = []
            for key, (revision, value) in changes.items():
                if revision < self._revisions.get(key, 0):
                    continue
                self._revisions[key] = revision
                if isinstance(value, _Deleted):
                    if entries.pop(key, DELETED) is not DELETED:
                        changed.append(key)
                elif key not in entries or entries[key] != value:
                    entries[key] = value
                    changed.append(key)
            if not changed:
                return
            self.entries = entries
            self.version += 1
            if self._on_change is not None:  # under the lock: told in the order of changes
                self._on_change(entries, changed)

    # --- writes, from a route's thread: block until JetStream answered ----------------
    def put(self, key: str, payload: bytes, value: T) -> None:
        revision = self._write(lambda kv: kv.put(key, payload))
        self.change({key: (int(revision), value)})  # held here at once, not only once watched

    def delete(self, key: str) -> None:
        self._write(lambda kv: kv.delete(key))
        # The delete marker's revision is not returned; it is past the newest one known,
        # which is enough to ignore the echo of a value put before it.
        self.change({key: (self._revisions.get(key, 0) + 1, DELETED)})

    def _write(self, call: Callable[[KeyValue], Awaitable[Any]]) -> Any:
        """Run a KV write on the event loop the bucket was opened on and wait for it."""
        assert self._kv is not None and self._loop is not None, "start() first"
        future = asyncio.run_coroutine_threadsafe(_awaited(call(self._kv)), self._loop)
        try:
            return future.result(WRITE_TIMEOUT_S)
        except Exception as exc:
            future.cancel()
            log.warning("%s not stored: %r", self.what, exc)
            raise ApiError(
                503,
                "unavailable",
                f"the {self.what} could not be stored; try again",
                headers={"retry-after": "1"},
            ) from None


async def _awaited(call: Awaitable[Any]) -> Any:
    return await call
