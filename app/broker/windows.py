"""Planned maintenance windows in NATS mode: kept in the KV bucket `maintenance` (key =
window id), followed by every intake node and every worker.

Intake nodes serve the embedded server's maintenance API with this in place of its
DuckDB table (app/routes_maintenance.py, the same routes, checks and API key);
workers mark incidents with the embedded server's `Marks` (app/maintenance.py), reading
`windows` here. Like the server's, `windows` is an immutable tuple replaced on each
change, so a worker's pipeline thread reads it without a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

import orjson
from nats.js.kv import KeyValue

from outagewatch.app.errors import ApiError
from outagewatch.app.maintenance_windows import Window, upcoming

log = logging.getLogger("outagewatch.maintenance")
FIELDS = ("id", "service", "region", "starts_at", "ends_at", "note")
WRITE_TIMEOUT_S = 10.0  # covers a KV leader election (a few seconds)


class KvWindows:
    def __init__(self) -> None:
        self.windows: tuple[Window, ...] = ()
        self.version = 0  # moves on every change, as the server's does
        self.ready = asyncio.Event()  # the bucket's windows at start have been read
        self._by_id: dict[str, Window] = {}
        self._lock = threading.Lock()  # the watcher (event loop) vs routes (threads)
        self._kv: KeyValue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, kv: KeyValue) -> None:
        self._kv, self._loop = kv, asyncio.get_running_loop()
        watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(watcher))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, watcher: Any) -> None:
        while True:
            try:
                entry = await watcher.updates(timeout=5.0)
            except TimeoutError:
                continue
            except Exception:
                await asyncio.sleep(0.2)  # reconnecting: the watcher resumes
                continue
            if entry is None:  # end of the initial values
                self.ready.set()
            elif entry.operation in ("DEL", "PURGE") or not entry.value:
                self._change(entry.key, None)
            else:
                stored = orjson.loads(entry.value)
                self._change(entry.key, Window(*(stored[f] for f in FIELDS)))

    def _change(self, window_id: str, window: Window | None) -> None:
        with self._lock:
            if window is None:
                self._by_id.pop(window_id, None)
            else:
                self._by_id[window_id] = window
            self.windows = tuple(sorted(self._by_id.values(), key=lambda w: w.id))
            self.version += 1

    # --- the embedded server's Maintenance interface, for the routes (on a thread) ----
    def add(self, window: Window, now: float) -> None:
        stored = {f: getattr(window, f) for f in FIELDS} | {"created_at": now}
        self._write(lambda kv: kv.put(window.id, orjson.dumps(stored)))
        self._change(window.id, window)  # listed by this node at once, not only once watched

    def remove(self, window_id: str) -> bool:
        if window_id not in self._by_id:
            return False
        self._write(lambda kv: kv.delete(window_id))
        self._change(window_id, None)
        return True

    def upcoming(self, now: float, service: str | None = None) -> list[Window]:
        return upcoming(self.windows, now, service)

    def _write(self, call: Any) -> None:
        """Run a KV write on the node's event loop and wait for JetStream's answer."""
        assert self._kv is not None and self._loop is not None, "start() first"
        future = asyncio.run_coroutine_threadsafe(call(self._kv), self._loop)
        try:
            future.result(WRITE_TIMEOUT_S)
        except Exception as exc:
            future.cancel()
            log.warning("maintenance window not stored: %r", exc)
            raise ApiError(
                503,
                "unavailable",
                "the maintenance window could not be stored; try again",
                headers={"retry-after": "1"},
            ) from None
