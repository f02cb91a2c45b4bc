"""Incident lifecycle events: opened, escalated, resolved.

The pipeline tells us which incidents changed after each bucket; this turns those
changes into numbered events, keeps them in DuckDB (so a live stream resumes from
Last-Event-ID even across a restart) and in a short in-memory tail for readers.
Webhook deliveries and the SSE stream both start from here.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from outagewatch.ingest.store import Store

TYPES = ("opened", "escalated", "resolved")
TAIL = 2000


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    type: str
    incident: dict[str, Any]

    def sse(self) -> bytes:
        data = orjson.dumps(self.incident)
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.id, self.type.encode(), data)


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        row = store.query("SELECT coalesce(max(id), 0) FROM events")
        self.last_id = int(row[0][0])
        self._tail: deque[Event] = deque(maxlen=TAIL)
        self._known: dict[str, tuple[str, str]] = {
            d["id"]: (d["level"], d["state"]) for d in store.open_incidents()
        }
        self._lock = threading.Lock()
        self.subscribers: list[Callable[[list[Event]], None]] = []

    def record(self, changed: list[dict[str, Any]], at: float) -> list[Event]:
        """Called by the writer thread with the incidents one advance changed."""
        new: list[Event] = []
        with self._lock:
            for d in changed:
                before = self._known.get(d["id"])
                kinds: list[str] = []
                if before is None:
                    kinds.append("opened")
                elif before[0] != d["level"] and d["level"] == "outage":
                    kinds.append("escalated")
                if d["state"] == "resolved" and (before is None or before[1] == "open"):
                    kinds.append("resolved")
                for kind in kinds:
                    self.last_id += 1
                    new.append(Event(self.last_id, at, kind, d))
                if d["state"] == "resolved":
                    self._known.pop(d["id"], None)
                else:
                    self._known[d["id"]] = (d["level"], d["state"])
            self._tail.extend(new)
        if new:
            self.store.append(
                "events",
                pl.DataFrame(
                    {
                        "id": [e.id for e in new],
                        "stream_time": [e.at for e in new],
                        "type": [e.type for e in new],
                        "incident_id": [e.incident["id"] for e in new],
                        "body": [orjson.dumps(e.incident).decode() for e in new],
                    },
                    schema={
                        "id": pl.Int64,
                        "stream_time": pl.Float64,
                        "type": pl.String,
                        "incident_id": pl.String,
                        "body": pl.String,
                    },
                ),
            )
            for fn in self.subscribers:
                fn(new)
        return new

    def since(self, last_id: int, limit: int = 500) -> list[Event]:
        """Events after `last_id`: from memory when the tail covers it, else DuckDB."""
        with self._lock:
            tail = list(self._tail)
        if tail and tail[0].id <= last_id + 1:
            return [e for e in tail if e.id > last_id][:limit]
        rows = self.store.query(
            "SELECT id, stream_time, type, body FROM events WHERE id > ? ORDER BY id LIMIT ?",
            [last_id, limit],
        )
        return [Event(int(i), float(at), t, orjson.loads(b)) for i, at, t, b in rows]
