"""A stateless intake node: validate, dedup (for the answer), publish to JetStream, ack.

The client gets 202 only after JetStream acknowledged the publish (stored on a
quorum of the R3 stream), so an acknowledged report survives the loss of any one
server. Requests publish concurrently: each awaits its own PubAck, many are in
flight at once on one connection.

`counted` in the answer comes from an in-memory dedup in this node (lost on
restart, and a reporter spread over several nodes may be told `true` twice); the
worker's dedup, which sees every report of a service, decides what is counted.

GET /v1/outages reads the KV bucket `incidents` through a read model, never a
worker's DuckDB file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import nats
import orjson
from fastapi import FastAPI, Query, Request, Response

from outagewatch.app import errors
from outagewatch.app.broker.read_model import IncidentReadModel
from outagewatch.app.broker.subjects import (
    KV_INCIDENTS,
    REPORTS,
    encode_report,
    encode_tick,
    ensure_streams,
    msg_id,
    partition_of,
    report_subject,
)
from outagewatch.app.catalog import with_service_id
from outagewatch.app.fastpath import NoSniff
from outagewatch.app.intake import ACCEPTED, JSON_TYPES, error
from outagewatch.app.outage_query import parse_outage_query, select
from outagewatch.app.proxies import ProxyHeaders, TrustedProxies
from outagewatch.app.routes_grouped import answer, held
from outagewatch.ingest.clock import Clock
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.report import ReportError, parse_report


def _error(status: int, code: str, message: str, field: str | None = None) -> tuple[int, bytes]:
    out = error(status, code, message, field)
    return out.status, out.body


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
        self.salt = self._salt()
        self.read_model = IncidentReadModel()
        self.nc: Any = None
        self.js: Any = None
        self.published = 0
        self._ticker: asyncio.Task[None] | None = None

    def _salt(self) -> bytes:
        # Intake nodes must agree on the salt, or one client hashes differently per node.
        if self.settings.reporter_salt:
            return bytes(self.settings.reporter_salt.encode())
        if self.settings.data is None:
            return secrets.token_bytes(16)
        path = Path(self.settings.data) / "reporter.salt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(secrets.token_bytes(16))
        return path.read_bytes()

    def reporter_id(self, token: str | None, address: str, user_agent: str) -> str:
        h = hashlib.blake2b(digest_size=10, key=self.salt[:64])
        if token is not None:
            h.update(b"t:" + token.encode())
        else:
            h.update(b"a:" + address.encode() + b"\0" + user_agent.encode())
        return h.hexdigest()

    async def start(self) -> None:
        self.nc = await nats.connect(servers=self.servers, max_reconnect_attempts=-1)
        self.js = self.nc.jetstream()
        await ensure_streams(self.js, min(3, len(self.servers)))
        await self.read_model.start(await self.js.key_value(KV_INCIDENTS))
        if self.settings.tick_interval_s > 0:
            self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.read_model.stop()
        if self.nc is not None:
            await self.nc.drain()

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
    ) -> tuple[int, bytes]:
        if len(body) > self.settings.max_report_bytes:
            return _error(
                413, "body_too_large", f"a report is at most {self.settings.max_report_bytes} bytes"
            )
        if content_type.split(b";", 1)[0].strip().lower() not in JSON_TYPES:
            return _error(
                415, "unsupported_media_type", "send the report as JSON (application/json)"
            )
        try:
            report = parse_report(with_service_id(orjson.loads(body)))
        except orjson.JSONDecodeError:
            return _error(
                400, "invalid_json",
                'the body is not valid JSON; send an object such as {"service": "amazon"}',
            )  # fmt: skip
        except ReportError as exc:
            return 422, orjson.dumps(exc.body())
        reporter = self.reporter_id(report.reporter, address, user_agent)
        ts = self.clock.now()
        counted = self.dedup.check(reporter, report.service, ts)
        subject = report_subject(
            partition_of(report.service, self.partitions), report.service, report.region
        )
        payload = encode_report(ts, report.service, report.region, report.problem, reporter)
        try:
            await self._publish(subject, payload, msg_id(reporter, report.service, ts))
        except Exception:
            return _error(503, "unavailable", "the report could not be stored; try again")
        self.published += 1
        return 202, ACCEPTED[counted]


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
    # The client address as the main server derives it (app/proxies.py).
    api.add_middleware(NoSniff)
    api.add_middleware(ProxyHeaders, proxies=TrustedProxies(settings.trusted_proxies))

    @api.post("/v1/reports", status_code=202)
    async def post_report(request: Request) -> Response:
        status, out = await node.handle(
            await request.body(),
            request.headers.get("content-type", "").encode(),
            request.client.host if request.client else "",
            request.headers.get("user-agent", ""),
        )
        return Response(out, status_code=status, media_type="application/json")

    @api.get("/v1/outages")
    async def outages(
        service: str | None = None,
        region: str | None = None,
        level: str | None = None,
        state: str = "open",
        since: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        # The embedded server's contract, answered from the incidents followed in KV.
        q = parse_outage_query(service, region, level, state, since, cursor, limit)
        items, nxt = select(q, list(node.read_model.incidents.values()))
        body = {"outages": items, "next_cursor": nxt}
        return Response(orjson.dumps(body), media_type="application/json")

    @api.get("/v1/outages/grouped")
    async def grouped(
        service: str | None = None,
        region: str | None = None,
        level: str | None = None,
        state: str = "open",
        since: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> Response:
        # As the embedded server answers it (app/routes_grouped.py).
        q = parse_outage_query(service, region, level, state, since, cursor, limit)
        body = answer(q, held(q, list(node.read_model.incidents.values())))
        return Response(orjson.dumps(body), media_type="application/json")

    @api.get("/v1/outages/{incident_id}")
    async def outage(incident_id: str) -> Response:
        inc = node.read_model.incidents.get(incident_id)
        if inc is None:
            status, body = _error(404, "not_found", f"no incident {incident_id}", "id")
            return Response(body, status_code=status, media_type="application/json")
        return Response(orjson.dumps(inc), media_type="application/json")

    @api.get("/healthz")
    async def healthz() -> dict[str, Any]:
        connected = bool(node.nc is not None and node.nc.is_connected)
        return {"ok": connected, "broker": node.servers, "published": node.published}

    return api
