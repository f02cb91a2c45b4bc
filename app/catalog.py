"""The service catalog's home: a DuckDB table, a seed list, and the in-memory policy.

The policy itself (`ingest.catalog.Catalog`) is pure; this module persists it. A
fresh database is seeded from `app/data/catalog.txt`; operators add and remove
services through the admin API; services a crowd brings in (when unknown services
are accepted) are written by the writer thread in batches.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources
from typing import Any, Protocol

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


class Known(Protocol):
    """The services a name may lead to: the catalog's policy, or a set of ids."""

    def __contains__(self, service: str, /) -> bool: ...


# Names people type that neither are an id nor read as a seed service's display name.
EXTRA_ALIASES = {
    "twitter": "x",
    "ms-teams": "teams",
    "amazon-prime-video": "prime-video",
    "xfinity": "comcast",
    "office-365": "microsoft-365",
}


def typed(name: str) -> str:
    """A name as people type it, in the form of an id: lower case, trimmed, each run of
    spaces one hyphen.

    >>> typed("  Microsoft   Teams "), typed("AWS")
    ('microsoft-teams', 'aws')
    """
    return "-".join(name.lower().split())


@cache
def aliases() -> dict[str, str]:
    """Typed names that stand for a seed service: its display name ("Amazon Web
    Services" is aws) and EXTRA_ALIASES."""
    out = {typed(name): slug for slug, name in seed_services() if name and typed(name) != slug}
    return out | EXTRA_ALIASES


@cache
def seed_ids() -> frozenset[str]:
    return frozenset(slug for slug, _ in seed_services())


def service_id(name: object, known: Known | None = None) -> object:
    """The catalog's id for a service name as people type it ("Amazon", " AWS ",
    "Microsoft Teams"); a name that leads to no known service (`known`: the catalog,
    else the seed list) is returned as given, for validation to judge as before.

    >>> service_id(" AWS "), service_id("Microsoft Teams"), service_id("Not A Slug!")
    ('aws', 'teams', 'Not A Slug!')
    """
    if not isinstance(name, str):
        return name
    slug = typed(name)
    if slug in (seed_ids() if known is None else known):
        return slug
    return aliases().get(slug, name)


def with_service_id(report: object, known: Known | None = None) -> object:
    """A parsed report body with its service named by its id (see service_id)."""
    if isinstance(report, dict) and "service" in report:
        report["service"] = service_id(report["service"], known)
    return report


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

    def service_id(self, name: object) -> object:
        """service_id against this catalog (what operators added counts too)."""
        return service_id(name, self.policy)

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
