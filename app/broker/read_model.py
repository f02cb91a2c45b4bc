"""The intake node's view of incidents: a dict kept current by watching the KV bucket.

Workers put every incident's current state under its id; this never reads a
worker's DuckDB file, so intake nodes stay stateless and any of them can answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson

from outagewatch.app.broker.kv_follow import entries
from outagewatch.app.broker.subjects import answered


class IncidentReadModel:
    def __init__(self) -> None:
        self.incidents: dict[str, dict[str, Any]] = {}
        self.ready = asyncio.Event()  # the initial values have been read
        self._task: asyncio.Task[None] | None = None

    async def start(self, kv: Any) -> None:
        watcher = await answered(kv.watchall)
        self._task = asyncio.create_task(self._follow(watcher))

    async def _follow(self, watcher: Any) -> None:
        async for entry in entries(watcher):
            if entry is None:  # end of the initial values
                self.ready.set()
                continue
            if entry.value:
                inc = orjson.loads(entry.value)
                self.incidents[inc["id"]] = inc

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
