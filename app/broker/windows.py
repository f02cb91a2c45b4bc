"""Planned maintenance windows in NATS mode: kept in the KV bucket `maintenance` (key =
window id), followed by every intake node and every worker (app/broker/kv_follow.py).

Intake nodes serve the embedded server's maintenance API with this in place of its
DuckDB table (app/routes_maintenance.py, the same routes, checks and API key);
workers mark incidents with the embedded server's `Marks` (app/maintenance.py), reading
`windows` here. Like the server's, `windows` is an immutable tuple replaced on each
change, so a worker's pipeline thread reads it without a lock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import orjson
from nats.js.kv import KeyValue

from outagewatch.app.broker.kv_follow import KvFollower
from outagewatch.app.maintenance_windows import Window, upcoming

FIELDS = ("id", "service", "region", "starts_at", "ends_at", "note")


def _decode(value: bytes) -> Window:
    stored = orjson.loads(value)
    return Window(*(stored[f] for f in FIELDS))


class KvWindows:
    def __init__(self) -> None:
        self.windows: tuple[Window, ...] = ()
        self.bucket = KvFollower(_decode, "maintenance window", self._changed)
        self.ready = self.bucket.ready  # the bucket's windows at start have been read

    @property
    def version(self) -> int:
        return self.bucket.version  # moves on every change, as the server's does

    async def start(self, kv: KeyValue) -> None:
        await self.bucket.start(kv)

    async def stop(self) -> None:
        await self.bucket.stop()

    def _changed(self, by_id: Mapping[str, Window], _: Collection[str]) -> None:
        self.windows = tuple(sorted(by_id.values(), key=lambda w: w.id))

    # --- the embedded server's Maintenance interface, for the routes (on a thread) ----
    def add(self, window: Window, now: float) -> None:
        stored = {f: getattr(window, f) for f in FIELDS} | {"created_at": now}
        self.bucket.put(window.id, orjson.dumps(stored), window)

    def remove(self, window_id: str) -> bool:
        if window_id not in self.bucket.entries:
            return False
        self.bucket.delete(window_id)
        return True

    def upcoming(self, now: float, service: str | None = None) -> list[Window]:
        return upcoming(self.windows, now, service)
