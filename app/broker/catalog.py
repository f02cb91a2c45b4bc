"""The service catalog in NATS mode: the bundled list (app/data/catalog.txt), and over
it what operators put and removed, kept in the KV bucket `catalog` (key = slug).

A removed service keeps its key, with a value saying so, so that a bundled service
stays removed; a key deleted from the bucket falls back to the bundled list. Every
intake node and every worker follows the bucket (app/broker/kv_follow.py) into a
ServiceCatalog of its own, in memory, with the embedded server's `apply`: a service
added through one node is accepted by all, and a worker's pipelines are told who runs
on whom (`on_providers`) whenever it changes. Intake nodes serve the embedded server's
catalog routes (app/routes_catalog.py) with this as their Catalogue.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import orjson
from nats.js.kv import KeyValue

from outagewatch.app.broker.kv_follow import KvFollower
from outagewatch.app.catalog import Entry, ServiceCatalog, seed_services
from outagewatch.ingest.catalog import Catalog
from outagewatch.ingest.store import Store

REMOVED = b'{"removed":true}'


def encode(entry: Entry | None) -> bytes:
    """A KV value: an operator's entry, or REMOVED.

    >>> decode(encode(Entry("Acme", ("aws",), 5.0))), decode(encode(None))
    (Entry(name='Acme', providers=('aws',), added_at=5.0, source='admin'), None)
    """
    if entry is None:
        return REMOVED
    return orjson.dumps({"name": entry.name, "providers": entry.providers,
                         "added_at": entry.added_at})  # fmt: skip


def decode(value: bytes) -> Entry | None:
    stored = orjson.loads(value)
    if stored.get("removed"):
        return None
    return Entry(stored["name"], tuple(stored["providers"]), float(stored["added_at"]))


class KvCatalog:
    """The routes' Catalogue on an intake node; `local` is what intake admits against."""

    def __init__(self, settings: Any, now: float) -> None:
        self.local = ServiceCatalog(
            Store(None),  # the bundled list, operators' changes, what the crowd brings
            accept_unknown=settings.accept_unknown_services,
            new_services_per_hour=settings.new_services_per_hour,
            new_regions_per_hour=settings.new_regions_per_hour,
            now=now,
            pairs=[],
        )
        self.bucket = KvFollower(decode, "catalog entry", self._changed)
        self.ready = self.bucket.ready  # operators' changes at start have been read
        self._seeds = {s.service: s for s in seed_services()}
        self._seeded_at = now

    async def start(self, kv: KeyValue) -> None:
        await self.bucket.start(kv)

    async def stop(self) -> None:
        await self.bucket.stop()

    def _changed(self, entries: Mapping[str, Entry | None], keys: Collection[str]) -> None:
        self.local.apply({k: entries[k] if k in entries else self._bundled(k) for k in keys})

    def _bundled(self, service: str) -> Entry | None:
        seed = self._seeds.get(service)
        if seed is None:
            return None
        return Entry(seed.name, seed.providers, self._seeded_at, "seed")

    # --- the Catalogue of app/routes_catalog.py (put and remove on a route's thread) ----
    @property
    def policy(self) -> Catalog:
        return self.local.policy

    @property
    def providers(self) -> Mapping[str, tuple[str, ...]]:
        return self.local.providers

    def check_providers(self, service: str, providers: object) -> tuple[str, ...]:
        return self.local.check_providers(service, providers)

    def put(
        self, service: str, name: str | None, now: float, providers: tuple[str, ...] | None
    ) -> bool:
        entry = self.local.entry(service, name, now, providers)
        new = service not in self.local.policy
        self.bucket.put(service, encode(entry), entry)  # held here at once, then everywhere
        return new

    def remove(self, service: str) -> bool:
        if service not in self.local.policy:
            return False
        self.local.check_removable(service)
        self.bucket.put(service, REMOVED, None)
        return True

    def list(self) -> list[dict[str, Any]]:
        return self.local.list()
