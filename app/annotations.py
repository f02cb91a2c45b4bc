"""Incident annotations: operators' notes on an incident ("confirmed by the provider",
"false alarm: a TV segment"), shown with the incident: all of them in
`/v1/outages/{id}`, the newest few on the service page's entry and in the feeds. Stored
in DuckDB; `version` moves on every write so rendered responses and pages are rebuilt."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from outagewatch.ingest.store import Store
from outagewatch.ingest.windows import iso

SCHEMA = {
    "id": pl.String,
    "incident_id": pl.String,
    "created_at": pl.Float64,
    "author": pl.String,
    "text": pl.String,
}
MAX_TEXT = 2000
MAX_AUTHOR = 64
Notes = Mapping[str, list[dict[str, Any]]]  # notes by incident id, as `latest` returns
SHOWN = 3  # notes on one entry of a page or feed, newest first: the full list is the API's


class Annotations:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.version = 0

    def add(self, incident_id: str, text: str, author: str | None, now: float) -> dict[str, Any]:
        row = {
            "id": "an_" + secrets.token_hex(8),
            "incident_id": incident_id,
            "created_at": now,
            "author": author,
            "text": text,
        }
        self.store.append("annotations", pl.DataFrame([row], schema=SCHEMA))
        self.version += 1
        return _public(row)

    def of(self, incident_id: str) -> list[dict[str, Any]]:
        rows = self.store.query(
            "SELECT id, incident_id, created_at, author, text FROM annotations "
            "WHERE incident_id = ? ORDER BY created_at, id",
            [incident_id],
        )
        keys = ("id", "incident_id", "created_at", "author", "text")
        return [_public(dict(zip(keys, r, strict=True))) for r in rows]

    def latest(
        self, incident_ids: list[str], limit: int = SHOWN
    ) -> dict[str, list[dict[str, Any]]]:
        """The newest `limit` notes of each incident, newest first, in one query."""
        if not incident_ids:
            return {}
        rows = self.store.query(
            "SELECT id, incident_id, created_at, author, text FROM ("
            " SELECT *, row_number() OVER ("
            "  PARTITION BY incident_id ORDER BY created_at DESC, id DESC) AS n"
            " FROM annotations WHERE list_contains(?, incident_id))"
            " WHERE n <= ? ORDER BY created_at DESC, id DESC",
            [incident_ids, limit],
        )
        keys = ("id", "incident_id", "created_at", "author", "text")
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            row = dict(zip(keys, r, strict=True))
            out.setdefault(row["incident_id"], []).append(_public(row))
        return out


def entry_notes(
    incident_ids: Iterable[str], notes: Notes, limit: int = SHOWN
) -> list[dict[str, Any]]:
    """The notes of one outage entry (all its incidents), newest first, at most `limit`.

    >>> a = {"id": "an_1", "at": "2026-11-02T10:00:00Z", "author": None, "text": "old"}
    >>> b = {"id": "an_2", "at": "2026-11-02T11:00:00Z", "author": "ops", "text": "new"}
    >>> [n["text"] for n in entry_notes(["i1", "i2"], {"i1": [a], "i2": [b]}, limit=1)]
    ['new']
    """
    mine = [n for i in incident_ids for n in notes.get(i, ())]
    return sorted(mine, key=lambda n: (n["at"] or "", n["id"]), reverse=True)[:limit]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": iso(row["created_at"]),
        "author": row["author"],
        "text": row["text"],
    }
