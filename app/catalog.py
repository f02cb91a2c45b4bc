"""The service catalog's home: a DuckDB table, a seed list, and the in-memory policy.

The policy itself (`ingest.catalog.Catalog`) is pure; this module persists it. A
fresh database is seeded from `app/data/catalog.txt`; operators add and remove
services through the admin API (in NATS mode each node and worker holds one in
memory, following the KV bucket `catalog`: app/broker/catalog.py); services a crowd
brings in (when unknown services are accepted) are written by the writer thread in
batches. A service may declare the
providers it runs on (checks: ingest/dependencies.py); the detector is told who runs
on whom at start and after every change (`on_providers`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, NamedTuple, Protocol

import polars as pl

from outagewatch.ingest.catalog import Admission, Catalog
from outagewatch.ingest.dependencies import DependencyError, check_all, check_providers
from outagewatch.ingest.store import Store

# `providers`: comma-separated slugs ("" none); NULL (rows of older versions, services a
# crowd brought) means the bundled list's, if it names the service.
SCHEMA = {
    "service": pl.String,
    "name": pl.String,
    "source": pl.String,
    "added_at": pl.Float64,
    "providers": pl.String,
}


# The list's columns are split by tabs or runs of two or more spaces (names hold single ones).
COLUMNS = re.compile(r"\t+ *| {2,}")
ON = "on:"  # the column naming the providers a service runs on: "on:aws,cloudflare"


class Seed(NamedTuple):
    """One line of the bundled list."""

    service: str  # the slug: ASCII, the id in URLs and reports
    name: str | None  # the display name, exactly as written (accents, "&")
    regions: tuple[str, ...]  # where it mainly operates; empty: worldwide
    providers: tuple[str, ...] = ()  # the services it runs on (declared dependencies)


def parse_catalog(text: str) -> tuple[Seed, ...]:
    r"""A catalog file: one service a line, columns split by a tab or two spaces: slug,
    display name, regions, and anywhere after the slug a column `on:` naming its
    providers. Their checks (known, not itself, no cycle, at most a few) run here,
    so a bad file fails with the line's service named (DependencyError).

    >>> parse_catalog("aws  Amazon Web Services\nnetflix  Netflix  on:aws\nallegro  Allegro  PL")
    ... # doctest: +NORMALIZE_WHITESPACE
    (Seed(service='aws', name='Amazon Web Services', regions=(), providers=()),
     Seed(service='netflix', name='Netflix', regions=(), providers=('aws',)),
     Seed(service='allegro', name='Allegro', regions=('PL',), providers=()))
    """
    out: list[Seed] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        slug, *rest = COLUMNS.split(line)
        on = [c for c in rest if c.startswith(ON)]
        name, regions, *_ = [*(c for c in rest if not c.startswith(ON)), "", ""]
        providers = tuple(p.strip() for c in on for p in c[len(ON) :].split(",") if p.strip())
        out.append(Seed(slug, name or None, tuple(r for r in regions.split(",") if r), providers))
    known = {s.service for s in out}
    check_all({s.service: s.providers for s in out if s.providers}, known)
    return tuple(out)


@cache
def seed_services() -> tuple[Seed, ...]:
    """The bundled list, `app/data/catalog.txt` (see parse_catalog).

    >>> next(s for s in seed_services() if s.service == "credit-agricole")
    Seed(service='credit-agricole', name='Crédit Agricole', regions=('FR',), providers=())
    """
    text = resources.files("outagewatch.app").joinpath("data/catalog.txt").read_text("utf-8")
    return parse_catalog(text)


def providers_of(seeds: tuple[Seed, ...]) -> dict[str, tuple[str, ...]]:
    """Who runs on whom in a parsed list: service -> its providers (those with any)."""
    return {s.service: s.providers for s in seeds if s.providers}


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
    out = {
        typed(s.name): s.service for s in seed_services() if s.name and typed(s.name) != s.service
    }
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


class Entry(NamedTuple):
    """A service as an operator put it (or as the bundled list has it)."""

    name: str | None
    providers: tuple[str, ...]  # declared, whole (none: empty)
    added_at: float
    source: str = "admin"


class Applied(NamedTuple):
    """What a batch of changes did to the set of known services."""

    added: frozenset[str]  # new to the catalog
    removed: frozenset[str]  # in it before, gone now


def _frame(rows: Sequence[tuple[str, str | None, str, float, str | None]]) -> pl.DataFrame:
    """Catalog rows (service, name, source, added_at, providers) as one batch."""
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


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
            seeded = [(s.service, s.name, "seed", now, ",".join(s.providers)) for s in seed]
            store.append("catalog", _frame(seeded))
        rows = store.query("SELECT service, name, providers FROM catalog")
        # Display names for the pages, read by request threads: replaced, never mutated.
        self.names: dict[str, str] = {s: n for s, n, _ in rows if n}
        bundled = providers_of(seed_services())
        # Who runs on whom (replaced, never mutated): stored, else the bundled list's.
        self.providers: dict[str, tuple[str, ...]] = {}
        for service, _, stored in rows:
            declared = bundled.get(service, ()) if stored is None else tuple(stored.split(","))
            if any(declared):
                self.providers[service] = tuple(p for p in declared if p)
        self.policy = Catalog(
            [s for s, _, _ in rows],
            accept_unknown=accept_unknown,
            new_services_per_hour=new_services_per_hour,
            new_regions_per_hour=new_regions_per_hour,
            pairs=pairs,
        )
        self._lock = threading.Lock()
        self._pending: list[tuple[str, float]] = []
        # Told who runs on whom after every change (the server: the pipeline's tracker).
        self.on_providers: Callable[[dict[str, tuple[str, ...]]], None] | None = None

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
            self._write(pending, "crowd", None, None)
        return len(pending)

    def check_providers(self, service: str, providers: object) -> tuple[str, ...]:
        """The providers `service` may declare (DependencyError says why not)."""
        others = {k: v for k, v in self.providers.items() if k != service}
        return check_providers(service, providers, self.policy, others)

    def put(
        self,
        service: str,
        name: str | None,
        now: float,
        providers: tuple[str, ...] | None = None,
    ) -> bool:
        """Add or rename; True when the service is new to the catalog. `providers`
        replaces its declared providers (checked by `check_providers` first); None
        keeps them."""
        return service in self.apply({service: self.entry(service, name, now, providers)}).added

    def entry(
        self, service: str, name: str | None, now: float, providers: tuple[str, ...] | None
    ) -> Entry:
        """What a put of `service` stores: `providers` None keeps those it has."""
        kept = self.providers.get(service, ())
        return Entry(name, kept if providers is None else providers, now)

    def dependants(self, service: str) -> list[str]:
        """Services that declare `service` among their providers."""
        return sorted(k for k, v in self.providers.items() if service in v)

    def check_removable(self, service: str) -> None:
        """DependencyError while others declare `service` as a provider."""
        users = self.dependants(service)
        if users and service in self.policy:
            raise DependencyError(
                "provider_in_use",
                f"{', '.join(users)} run on {service}: remove {service} from their "
                'providers first (PUT /v1/catalog/{service} with "providers")',
            )

    def remove(self, service: str) -> bool:
        """Remove a service (DependencyError while others declare it as a provider)."""
        self.check_removable(service)
        return service in self.apply({service: None}).removed

    def apply(self, changes: Mapping[str, Entry | None]) -> Applied:
        """Services put (an Entry) or removed (None) as one batch: one write of the
        rows, one call of `on_providers`. An operator's put or remove, or what a NATS
        node or worker reads from the KV bucket `catalog` (app/broker/catalog.py)."""
        kept = {s: e for s, e in changes.items() if e is not None}
        gone = [s for s, e in changes.items() if e is None]
        with self._lock:
            added = frozenset(s for s in kept if self.policy.add(s))
            removed = frozenset(s for s in gone if self.policy.remove(s))
        if kept:
            rows = [(s, e.name, e.source, e.added_at, ",".join(e.providers))
                    for s, e in kept.items()]  # fmt: skip
            self.store.append("catalog", _frame(rows), replace=True)
        if removed:
            self.store.write(
                "DELETE FROM catalog WHERE list_contains(?, service)", [sorted(removed)]
            )
        self.names = {k: v for k, v in self.names.items() if k not in changes} | {
            s: e.name for s, e in kept.items() if e.name
        }
        providers = {k: v for k, v in self.providers.items() if k not in changes} | {
            s: e.providers for s, e in kept.items() if e.providers
        }
        if providers != self.providers:
            self._set_providers(providers)
        return Applied(added, removed)

    def _set_providers(self, providers: dict[str, tuple[str, ...]]) -> None:
        self.providers = providers
        if self.on_providers is not None:
            self.on_providers(providers)

    def add_trusted(self, services: list[str], now: float, source: str) -> None:
        """Services a trusted import brought: known from now on."""
        with self._lock:
            new = [s for s in dict.fromkeys(services) if self.policy.add(s)]
        if new:
            self._write([(s, now) for s in new], source, None, None)

    def _write(
        self, rows: list[tuple[str, float]], source: str, name: str | None, providers: str | None
    ) -> None:
        self.store.append(
            "catalog", _frame([(s, name, source, t, providers) for s, t in rows]), replace=True
        )

    def display_name(self, service: str) -> str:
        """What people call the service (the catalog's display name), else its slug."""
        return self.names.get(service) or service

    def list(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT service, name, source FROM catalog ORDER BY service")
        regions = seed_regions()
        providers = self.providers
        return [
            {
                "service": s,
                "name": n,
                "source": src,
                "regions": list(regions.get(s, ())),
                "providers": list(providers.get(s, ())),
            }
            for s, n, src in rows
        ]
