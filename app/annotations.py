"""Incident annotations: operators' notes on an incident ("confirmed by the provider",
"false alarm: a TV segment"), shown with the incident. Stored in DuckDB; `version`
moves on every write so rendered incident responses are rebuilt."""

from __future__ import annotations

import secrets
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


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": iso(row["created_at"]),
        "author": row["author"],
        "text": row["text"],
    }
