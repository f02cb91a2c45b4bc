"""A stateless intake node: the embedded server's intake rules (app/intake.py: caps,
parse, limits, catalog, rotating reporter salts, prefix cap), publish to JetStream, ack.

The client gets 202 only after JetStream acknowledged the publish (stored on a
quorum of the R3 stream), so an acknowledged report survives the loss of any one
server. Requests publish concurrently: each awaits its own PubAck, many are in
flight at once on one connection.

`counted` in the answer comes from an in-memory dedup in this node (lost on
restart, and a reporter spread over several nodes may be told `true` twice); the
worker's dedup, which sees every report of a service, decides what is counted. The
catalog is the bundled list with operators' changes, kept in the KV bucket `catalog`
(app/broker/catalog.py) and changed through the embedded server's catalog routes
(app/routes_catalog.py); when unknown services are accepted, what the crowd brings is
known to the node that took it, in memory.

GET /v1/outages reads the KV bucket `incidents` through a read model, never a
worker's DuckDB file. The maintenance API is the embedded server's routes
(app/routes_maintenance.py, the same API key check), with the windows kept in the KV
bucket `maintenance` (app/broker/windows.py), where workers read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import orjson
from fastapi import FastAPI, Request, Response
from nats.errors import ConnectionReconnectingError

from outagewatch.app import errors
from outagewatch.app.broker.catalog import KvCatalog
from outagewatch.app.broker.read_model import IncidentReadModel
from outagewatch.app.broker.subjects import (
    REPORTS,
    encode_report,
    encode_tick,
    ensure_streams,
    msg_id,
    partition_of,
    report_subject,
)
from outagewatch.app.broker.windows import KvWindows
from outagewatch.app.connections import BodyGuard, GuardedBodies
from outagewatch.app.fastpath import REPORTS_PATH, NoSniff
from outagewatch.app.intake import Intake, Outcome, Row, Unavailable, error
from outagewatch.app.keys import ApiKeys, FailureThrottle
from outagewatch.app.logs import LimitLog
from outagewatch.app.outage_params import OutageParams
from outagewatch.app.outage_query import select
from outagewatch.app.privacy import ReporterSalts, network_hash
from outagewatch.app.proxies import ProxyHeaders, TrustedProxies
from outagewatch.app.routes_catalog import router as catalog_router
from outagewatch.app.routes_grouped import answer, held
from outagewatch.app.routes_maintenance import router as maintenance_router
from outagewatch.ingest.clock import Clock
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.limits import network_prefix

PUBLISH_TIMEOUT_S = 10.0  # covers a stream leader election (a few seconds)


def servers_of(broker: str) -> list[str]:
    return [s.strip() for s in broker.split(",") if s.strip()]


class IntakeNode:
    def __init__(self, settings: Any, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.servers = servers_of(settings.broker)
        self.partitions = settings.partitions
        self.dedup = Dedup(settings.dedup_window_s)
        data = None if settings.data is None else Path(settings.data)
        if data is not None:
            data.mkdir(parents=True, exist_ok=True)
        now = clock.now()
        # Intake nodes must agree on salts (OUTAGEWATCH_REPORTER_SALT), or one client
        # hashes differently per node; they rotate as the embedded server's do.
        self.salts = salts = ReporterSalts(
            None if data is None else data / "reporter-salts.json",
            secret=settings.reporter_salt,
            rotation_s=settings.salt_rotation_s,
            keep_previous_s=settings.dedup_window_s,
            now=now,
        )
        # The bundled list and operators' changes from KV (what the crowd brings: in memory).
        self.catalog = KvCatalog(settings, now)
        self.limits = LimitLog(logging.getLogger("outagewatch.limits"))
        memory_key = secrets.token_bytes(16)  # in-memory keys only (rate limits)
        self.intake = Intake(
            settings, clock, self.catalog.local, salts, JetStreamSink(self), self.limit_tripped,
            memory_key,
        )  # fmt: skip
        # The admin key check of the embedded server (app/auth.py): maintenance, catalog.
        self.api_keys = ApiKeys(settings.api_keys)
        self.admin_failures = FailureThrottle(settings.admin_failures_per_minute, memory_key)
        self.read_model = IncidentReadModel()
        self.maintenance = KvWindows()
        self.nc: Any = None
        self.js: Any = None
        self.published = 0
        self._ticker: asyncio.Task[None] | None = None

    def limit_tripped(self, limit: str, **fields: Any) -> None:
        self.limits.trip(limit, self.clock.now(), **fields)

    async def start(self) -> None:
        self.nc = await nats.connect(servers=self.servers, max_reconnect_attempts=-1)
        self.js = self.nc.jetstream()
        buckets = await ensure_streams(self.js, min(3, len(self.servers)))
        await self.read_model.start(buckets.incidents)
        await self.maintenance.start(buckets.maintenance)
        await self.catalog.start(buckets.catalog)
        # Services operators added are accepted from the first report on.
        await asyncio.wait_for(self.catalog.ready.wait(), 20.0)
        if self.settings.tick_interval_s > 0:
            self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.read_model.stop()
        await self.maintenance.stop()
        await self.catalog.stop()
        if self.nc is not None:
            try:
                await self.nc.drain()
            except ConnectionReconnectingError:  # its server is gone: nothing to flush to
                await self.nc.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_interval_s)
            with contextlib.suppress(Exception):
                await self.publish_ticks()

    async def publish_ticks(self) -> None:
        """Move every partition's stream clock, so quiet partitions close their buckets."""
        now = self.clock.now()
        await asyncio.gather(
            *(
                self._publish(f"reports.{p}._tick", encode_tick(now), None)
                for p in range(self.partitions)
            )
        )

    async def _publish(self, subject: str, payload: bytes, mid: str | None) -> None:
        """Retries with the same Nats-Msg-Id: JetStream stores a retried report once."""
        headers = {"Nats-Msg-Id": mid} if mid else None
        deadline = time.monotonic() + PUBLISH_TIMEOUT_S
        while True:
            try:
                await self.js.publish(
                    subject, payload, timeout=2.0, stream=REPORTS, headers=headers
                )
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def handle(
        self, body: bytes, content_type: bytes, address: str, user_agent: str
    ) -> Outcome:
        """As the embedded server answers POST /v1/reports: 202 once JetStream holds it.
        The report carries its client's network, under the salt every node shares, so
        the worker caps it per network over all nodes (this node's cap is its own)."""
        out = self.intake.handle(body, content_type, address, user_agent)
        if out.row is not None:
            salt = self.salts.at(out.row[0])[0]
            out.network = network_hash(salt, network_prefix(address))
        return await self.intake.durable(out)

    async def publish_report(self, row: Row, network: str | None = None) -> None:
        ts, service, region, problem, reporter, _ = row
        subject = report_subject(partition_of(service, self.partitions), service, region)
        payload = encode_report(ts, service, region, problem, reporter, network)
        await self._publish(subject, payload, msg_id(reporter, service, ts))
        self.published += 1


class JetStreamSink:
    """A node's sink: the node's own dedup (for the answer), then a publish that
    JetStream acknowledged on a quorum."""

    def __init__(self, node: IntakeNode) -> None:
        self.node = node

    def refusal(self) -> Outcome | None:
        return None  # a publish waits out a leader election; past its deadline, 503

    def decide(
        self, ts: float, service: str, reporter: str, allow: bool, alias: str | None
    ) -> bool:
        return self.node.dedup.check(reporter, service, ts, alias) and allow

    def forget(self, reporters: list[str | None], services: list[str], ts: list[float]) -> None:
        self.node.dedup.forget(reporters, services, ts)

    async def keep(self, row: Row, network: str | None) -> None:
        try:
            await self.node.publish_report(row, network)
        except Exception:
            raise Unavailable("the report could not be stored; try again") from None


def create_intake_node(settings: Any, clock: Clock | None = None) -> FastAPI:
    """`settings.broker` names the NATS servers; `clock` stamps reports (tests inject one)."""
    if clock is None:
        from outagewatch.app.clock import WallClock

        clock = WallClock()
    node = IntakeNode(settings, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await node.start()
        try:
            yield
        finally:
            await node.stop()

    api = FastAPI(title="outagewatch intake node", lifespan=lifespan)
    api.state.node = node
    errors.install(api)  # every 4xx in the contract's error body, as on the main server
    # Bodies capped while read and on a deadline, and the client address, as the main
    # server does them (app/connections.py, app/proxies.py).
    guard = BodyGuard(settings, {REPORTS_PATH: node.intake.max_bytes}, node.limit_tripped)
    api.add_middleware(GuardedBodies, guard=guard)
    api.add_middleware(NoSniff)
    api.add_middleware(ProxyHeaders, proxies=TrustedProxies(settings.trusted_proxies))

    @api.post(REPORTS_PATH, status_code=202)
    async def post_report(request: Request) -> Response:
        out = await node.handle(
            await request.body(),
            request.headers.get("content-type", "").encode(),
            request.client.host if request.client else "",
            request.headers.get("user-agent", ""),
        )
        headers = {k.decode(): v.decode() for k, v in out.headers}
        return Response(
            out.body, status_code=out.status, media_type="application/json", headers=headers
        )

    @api.get("/v1/outages")
    async def outages(
        q: OutageParams,
    ) -> Response:
        # The embedded server's contract, answered from the incidents followed in KV.
        items, nxt = select(q, list(node.read_model.incidents.values()))
        body = {"outages": items, "next_cursor": nxt}
        return Response(orjson.dumps(body), media_type="application/json")

    @api.get("/v1/outages/grouped")
    async def grouped(
        q: OutageParams,
    ) -> Response:
        # As the embedded server answers it (app/routes_grouped.py).
        body = answer(q, held(q, list(node.read_model.incidents.values())))
        return Response(orjson.dumps(body), media_type="application/json")

    @api.get("/v1/outages/{incident_id}")
    async def outage(incident_id: str) -> Response:
        inc = node.read_model.incidents.get(incident_id)
        if inc is None:
            out = error(404, "not_found", f"no incident {incident_id}", "id")
            return Response(out.body, status_code=out.status, media_type="application/json")
        return Response(orjson.dumps(inc), media_type="application/json")

    api.include_router(maintenance_router(node))  # the embedded server's routes
    api.include_router(catalog_router(node))

    @api.get("/healthz")
    async def healthz() -> dict[str, Any]:
        connected = bool(node.nc is not None and node.nc.is_connected)
        return {"ok": connected, "broker": node.servers, "published": node.published}

    return api
