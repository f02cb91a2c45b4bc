"""The service catalog's home: a DuckDB table, a seed list, and the in-memory policy.

The policy itself (`ingest.catalog.Catalog`) is pure; this module persists it. A
fresh database is seeded from `app/data/catalog.txt`; operators add and remove
services through the admin API; services a crowd brings in (when unknown services
are accepted) are written by the writer thread in batches.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import polars as pl

from outagewatch.ingest.catalog import Admission, Catalog
from outagewatch.ingest.store import Store

SCHEMA = {"service": pl.String, "name": pl.String, "source": pl.String, "added_at": pl.Float64}


def seed_services() -> list[tuple[str, str | None]]:
    """The bundled list: (slug, display name)."""
    text = resources.files("outagewatch.app").joinpath("data/catalog.txt").read_text("utf-8")
    out: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        slug, _, name = line.replace("\t", "  ").partition("  ")
        out.append((slug.strip(), name.strip() or None))
    return out


class ServiceCatalog:
    def __init__(
        self,
        store: Store,
        *,
        accept_unknown: bool,
        new_services_per_hour: int,
        new_regions_per_hour: int,
        now: float,
        pairs: list[tuple[str, str]],
    ) -> None:
        self.store = store
        if not store.query("SELECT 1 FROM catalog LIMIT 1"):
            seed = seed_services()
            store.append(
                "catalog",
                pl.DataFrame(
                    {
                        "service": [s for s, _ in seed],
                        "name": [n for _, n in seed],
                        "source": ["seed"] * len(seed),
                        "added_at": [now] * len(seed),
                    },
                    schema=SCHEMA,
                ),
            )
        known = [r[0] for r in store.query("SELECT service FROM catalog")]
        self.policy = Catalog(
            known,
            accept_unknown=accept_unknown,
            new_services_per_hour=new_services_per_hour,
            new_regions_per_hour=new_regions_per_hour,
            pairs=pairs,
        )
        self._lock = threading.Lock()
        self._pending: list[tuple[str, float]] = []

    def admit(self, service: str, region: str | None, now: float) -> Admission:
        with self._lock:
            out = self.policy.admit(service, region, now)
            if out.new_service:
                self._pending.append((service, now))
        return out

    def flush(self) -> int:
        """Writer thread: services the crowd brought in, as one batch."""
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            self._write(pending, "crowd", None)
        return len(pending)

    def put(self, service: str, name: str | None, now: float) -> bool:
        """Add or rename; True when the service is new to the catalog."""
        with self._lock:
            new = self.policy.add(service)
        self._write([(service, now)], "admin", name)
        return new

    def remove(self, service: str) -> bool:
        with self._lock:
            gone = self.policy.remove(service)
        if gone:
            self.store.write("DELETE FROM catalog WHERE service = ?", [service])
        return gone

    def add_trusted(self, services: list[str], now: float, source: str) -> None:
        """Services a trusted import brought: known from now on."""
        with self._lock:
            new = [s for s in dict.fromkeys(services) if self.policy.add(s)]
        if new:
            self._write([(s, now) for s in new], source, None)

    def _write(self, rows: list[tuple[str, float]], source: str, name: str | None) -> None:
        df = pl.DataFrame(
            {
                "service": [s for s, _ in rows],
                "name": [name] * len(rows),
                "source": [source] * len(rows),
                "added_at": [t for _, t in rows],
            },
            schema=SCHEMA,
        )
        self.store.append("catalog", df, replace=True)

    def list(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT service, name, source FROM catalog ORDER BY service")
        return [{"service": s, "name": n, "source": src} for s, n, src in rows]
