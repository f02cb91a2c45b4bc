"""The service catalog's home: a DuckDB table, a seed list, and the in-memory policy.

The policy itself (`ingest.catalog.Catalog`) is pure; this module persists it. A
fresh database is seeded from `app/data/catalog.txt`; operators add and remove
services through the admin API; services a crowd brings in (when unknown services
are accepted) are written by the writer thread in batches.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib import resources
from typing import Any, NamedTuple, Protocol

import polars as pl

from outagewatch.ingest.catalog import Admission, Catalog
from outagewatch.ingest.store import Store

SCHEMA = {"service": pl.String, "name": pl.String, "source": pl.String, "added_at": pl.Float64}


# The list's columns are split by tabs or runs of two or more spaces (names hold single ones).
COLUMNS = re.compile(r"\t+ *| {2,}")


class Seed(NamedTuple):
    """One line of the bundled list."""

    service: str  # the slug: ASCII, the id in URLs and reports
    name: str | None  # the display name, exactly as written (accents, "&")
    regions: tuple[str, ...]  # where it mainly operates; empty: worldwide


@cache
def seed_services() -> tuple[Seed, ...]:
    """The bundled list, `app/data/catalog.txt`: slug, display name, regions, in
    columns split by a tab or two spaces.

    >>> next(s for s in seed_services() if s.service == "credit-agricole")
    Seed(service='credit-agricole', name='Crédit Agricole', regions=('FR',))
    """
    text = resources.files("outagewatch.app").joinpath("data/catalog.txt").read_text("utf-8")
    out: list[Seed] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        slug, name, regions, *_ = [*COLUMNS.split(line), "", ""]
        out.append(Seed(slug, name or None, tuple(r for r in regions.split(",") if r)))
    return tuple(out)


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
    "pko-bank-polski": "pko-bp",
    "bouygues": "bouygues-telecom",
    "mandiri": "bank-mandiri",
    "bank-central-asia": "bca",
    "bank-rakyat-indonesia": "bri",
    "bank-negara-indonesia": "bni",
    "e-and": "etisalat",
    "telecom-egypt": "we",
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
    out = {typed(name): slug for slug, name, _ in seed_services() if name and typed(name) != slug}
    return out | EXTRA_ALIASES


@cache
def seed_regions() -> dict[str, tuple[str, ...]]:
    """Where the seed services mainly operate (worldwide ones are not listed)."""
    return {s.service: s.regions for s in seed_services() if s.regions}


@cache
def seed_ids() -> frozenset[str]:
    return frozenset(s.service for s in seed_services())


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
                        "service": [s.service for s in seed],
                        "name": [s.name for s in seed],
                        "source": ["seed"] * len(seed),
                        "added_at": [now] * len(seed),
                    },
                    schema=SCHEMA,
                ),
            )
        rows = store.query("SELECT service, name FROM catalog")
        # Display names for the pages, read by request threads: replaced, never mutated.
        self.names: dict[str, str] = {s: n for s, n in rows if n}
        self.policy = Catalog(
            [s for s, _ in rows],
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
        self.names = {k: v for k, v in self.names.items() if k != service} | (
            {service: name} if name else {}
        )
        return new

    def remove(self, service: str) -> bool:
        with self._lock:
            gone = self.policy.remove(service)
        if gone:
            self.store.write("DELETE FROM catalog WHERE service = ?", [service])
            self.names = {k: v for k, v in self.names.items() if k != service}
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

    def display_name(self, service: str) -> str:
        """What people call the service (the catalog's display name), else its slug."""
        return self.names.get(service) or service

    def list(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT service, name, source FROM catalog ORDER BY service")
        regions = seed_regions()
        return [
            {"service": s, "name": n, "source": src, "regions": list(regions.get(s, ()))}
            for s, n, src in rows
        ]
