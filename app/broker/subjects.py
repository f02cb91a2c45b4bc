"""Names and wire formats shared by intake nodes and workers.

Reports are partitioned by service, so every (reporter, service) pair meets the
same worker: dedup and both series levels of a service stay exact in one place.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, ServiceUnavailableError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

REPORTS = "REPORTS"
INCIDENTS = "INCIDENTS"
KV_INCIDENTS = "incidents"
KV_MAINTENANCE = "maintenance"  # planned maintenance windows, by id (app/broker/windows.py)
KV_CATALOG = "catalog"  # operators' catalog changes, by slug (app/broker/catalog.py)
KV_OWNERS = "owners"  # which worker holds each partition's lease (app/broker/lease.py)
OBJ_PARTITIONS = "partitions"  # each partition's restore set (app/broker/handover.py)
TICK = "_tick"  # the service slot of a stream-clock tick (slugs cannot start with "_")


def partition_of(service: str, partitions: int) -> int:
    """Stable across processes and Python versions (unlike hash())."""
    digest = hashlib.blake2b(service.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def report_subject(partition: int, service: str, region: str | None) -> str:
    return f"reports.{partition}.{service}.{region or '_'}"


def partition_filter(partition: int) -> str:
    return f"reports.{partition}.>"


def msg_id(reporter: str, service: str, ts: float) -> str:
    """A retried publish of the same report carries the same id: JetStream drops it."""
    return f"{reporter}:{service}:{round(ts * 1000)}"


def encode_report(
    ts: float,
    service: str,
    region: str | None,
    problem: str | None,
    reporter: str,
    network: str | None = None,
) -> bytes:
    """`network`: the client's network under the reporter salt (app/privacy.py), for
    the per-network cap the worker applies; None is not capped. Messages written
    before it was carried have five fields (read as None)."""
    return orjson.dumps([ts, service, region, problem, reporter, network])


def encode_tick(ts: float) -> bytes:
    return orjson.dumps([ts, TICK, None, None, None, None])


def incident_key(incident: dict[str, Any]) -> str:
    return str(incident["id"]).replace(":", "_").replace("/", "_")


@dataclass(frozen=True)
class Buckets:
    """The KV buckets and the object store that intake nodes and workers share."""

    incidents: KeyValue
    maintenance: KeyValue
    catalog: KeyValue
    partitions: ObjectStore
    owners: KeyValue


T = TypeVar("T")


async def ensure_streams(js: JetStreamContext, replicas: int, timeout: float = 20.0) -> Buckets:
    """Create the streams and buckets (idempotent, safe when nodes race at start) and
    return the buckets; waits for the cluster to elect a meta leader and to answer
    (a cluster that has just started may time out a request or two: a worker that
    gave up there once died at start and left its partitions unread)."""

    def kv(bucket: str) -> KeyValueConfig:
        return KeyValueConfig(bucket=bucket, replicas=replicas, history=1)

    objects = ObjectStoreConfig(replicas=replicas, storage=StorageType.FILE)
    for create in (
        lambda: js.add_stream(_stream(REPORTS, "reports.>", replicas)),
        lambda: js.add_stream(_stream(INCIDENTS, "incidents.>", replicas)),
        lambda: js.create_key_value(kv(KV_INCIDENTS)),
        lambda: js.create_key_value(kv(KV_MAINTENANCE)),
        lambda: js.create_key_value(kv(KV_CATALOG)),
        lambda: js.create_object_store(OBJ_PARTITIONS, config=objects),
        lambda: js.create_key_value(kv(KV_OWNERS)),
    ):
        deadline = time.monotonic() + timeout
        while True:
            try:
                await create()
                break
            except BadRequestError as exc:
                if "already in use" in str(exc) or "exists" in str(exc):
                    break  # another node created it first
                if time.monotonic() > deadline:
                    raise
            except (TimeoutError, NatsTimeout, ServiceUnavailableError):
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.25)
    return Buckets(
        await answered(lambda: js.key_value(KV_INCIDENTS), timeout),
        await answered(lambda: js.key_value(KV_MAINTENANCE), timeout),
        await answered(lambda: js.key_value(KV_CATALOG), timeout),
        await answered(lambda: js.object_store(OBJ_PARTITIONS), timeout),
        await answered(lambda: js.key_value(KV_OWNERS), timeout),
    )


async def answered(call: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """`call()`, tried again while the cluster does not answer yet (a cluster that has
    just started, a leader election), up to `timeout` seconds: a worker that gave up
    at the first timeout once died at start and left its partitions unread."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except (TimeoutError, NatsTimeout, ServiceUnavailableError):
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.25)


def _stream(name: str, subject: str, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=[subject],
        num_replicas=replicas,
        storage=StorageType.FILE,
        duplicate_window=120.0,  # retries within 2 minutes are dropped by Nats-Msg-Id
    )
