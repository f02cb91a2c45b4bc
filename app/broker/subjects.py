"""Names and wire formats shared by intake nodes and workers.

Reports are partitioned by service, so every (reporter, service) pair meets the
same worker: dedup and both series levels of a service stay exact in one place.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import orjson
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, ServiceUnavailableError

REPORTS = "REPORTS"
INCIDENTS = "INCIDENTS"
KV_INCIDENTS = "incidents"
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
    ts: float, service: str, region: str | None, problem: str | None, reporter: str
) -> bytes:
    return orjson.dumps([ts, service, region, problem, reporter])


def encode_tick(ts: float) -> bytes:
    return orjson.dumps([ts, TICK, None, None, None])


def incident_key(incident: dict[str, Any]) -> str:
    return str(incident["id"]).replace(":", "_").replace("/", "_")


async def ensure_streams(js: JetStreamContext, replicas: int, timeout: float = 20.0) -> Any:
    """Create the streams and the KV bucket (idempotent, safe when nodes race at start)
    and return the bucket; waits for the cluster to elect a meta leader and to answer
    (a cluster that has just started may time out a request or two: a worker that
    gave up there once died at start and left its partitions unread)."""
    kv = KeyValueConfig(bucket=KV_INCIDENTS, replicas=replicas, history=1)
    for create in (
        lambda: js.add_stream(_stream(REPORTS, "reports.>", replicas)),
        lambda: js.add_stream(_stream(INCIDENTS, "incidents.>", replicas)),
        lambda: js.create_key_value(kv),
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
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await js.key_value(KV_INCIDENTS)
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
