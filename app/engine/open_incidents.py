"""The open incidents as the store holds them, kept by the writer for readers.

Every status page shows the open incidents (a cascade shows whole) and every page,
detail and badge its service's own: asked of DuckDB, two queries a view. Incidents
are written by the pipeline alone (`Store.upsert_incidents` from its changes), so
the writer keeps each open one's feed object as it writes it, and a `ReadView`
carries them: the same objects, in the store's orders, without a query.

>>> book = OpenIncidents()
>>> book.note([{"id": "a", "service": "aws", "state": "open", "opened_at": "2026-11-30T10:00:00Z"},
...            {"id": "b", "service": "gcp", "state": "open", "opened_at": "2026-11-30T09:00:00Z"}])
>>> [d["id"] for d in book.view().all()], [d["id"] for d in book.view().of("aws")]
(['b', 'a'], ['a'])
>>> book.note([{"id": "b", "service": "gcp", "state": "resolved",
...             "opened_at": "2026-11-30T09:00:00Z"}])
>>> [d["id"] for d in book.view().all()]
['a']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from outagewatch.ingest.windows import parse_iso


@dataclass(frozen=True)
class _Open:
    id: str
    service: str
    opened_at: float
    body: bytes  # the feed object as stored: each reader gets its own copy


@dataclass(frozen=True)
class OpenView:
    incidents: tuple[_Open, ...] = ()  # oldest first, as `Store.open_incidents`

    def all(self) -> list[dict[str, Any]]:
        """`Store.open_incidents()`: every open incident, oldest first."""
        return [orjson.loads(i.body) for i in self.incidents]

    def of(self, service: str, limit: int = 100) -> list[dict[str, Any]]:
        """`Store.incidents(service=..., state="open", limit=...)`: newest first."""
        mine = [i for i in self.incidents if i.service == service]
        mine.sort(key=lambda i: (i.opened_at, i.id), reverse=True)
        return [orjson.loads(i.body) for i in mine[:limit]]


class OpenIncidents:
    """The writer's side: fed what it writes, in order."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}
        self._view = OpenView()

    def note(self, written: list[dict[str, Any]]) -> None:
        """Feed objects as written to the store (the last one of an id wins)."""
        if not written:
            return
        for d in written:
            if d["state"] == "open":
                # Copied to its own size: orjson's bytes keep the 64 KB buffer they
                # were written into, and these are kept while the incident is open.
                body = memoryview(orjson.dumps(d)).tobytes()
                self._open[d["id"]] = _Open(d["id"], d["service"], parse_iso(d["opened_at"]), body)
            else:
                self._open.pop(d["id"], None)
        ordered = sorted(self._open.values(), key=lambda i: (i.opened_at, i.id))
        self._view = OpenView(tuple(ordered))

    def view(self) -> OpenView:
        return self._view
