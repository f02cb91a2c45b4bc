"""The app factory: `create_app(settings, clock)` builds everything, with no globals.

The returned ASGI app is FastAPI behind the raw intake fast path. Its lifespan
starts the writer thread and, on shutdown, flushes, snapshots and closes DuckDB.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from outagewatch.app import errors, schemas
from outagewatch.app import routes_docs as docs
from outagewatch.app.broadcast import Broadcast
from outagewatch.app.clock import WallClock
from outagewatch.app.connections import BodyGuard
from outagewatch.app.errors import ApiError
from outagewatch.app.faces.headers import FaceHeaders
from outagewatch.app.fastpath import (
    REPORTS_PATH,
    FastIntake,
    Message,
    Receive,
    Scope,
    Send,
    respond,
)
from outagewatch.app.intake import Intake, embedded_intake
from outagewatch.app.metrics import Metrics
from outagewatch.app.proxies import TrustedProxies
from outagewatch.app.routes_admin import router as admin_router
from outagewatch.app.routes_catalog import router as catalog_router
from outagewatch.app.routes_feeds import router as feeds_router
from outagewatch.app.routes_grouped import router as grouped_router
from outagewatch.app.routes_health import router as health_router
from outagewatch.app.routes_history import router as history_router
from outagewatch.app.routes_live import router as live_router
from outagewatch.app.routes_log_gaps import router as log_gaps_router
from outagewatch.app.routes_maintenance import router as maintenance_router
from outagewatch.app.routes_outages import router as outages_router
from outagewatch.app.routes_pages import FORM_MAX_BYTES, STATIC
from outagewatch.app.routes_pages import router as pages_router
from outagewatch.app.routes_reports import router as reports_router
from outagewatch.app.routes_services import router as services_router
from outagewatch.app.runtime import Runtime
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import Clock

access_log = logging.getLogger("outagewatch.access")


class OutageWatch(FastIntake):
    """The ASGI app: fast intake in front, FastAPI behind; `.runtime` for tests and CLI."""

    def __init__(
        self,
        api: FastAPI,
        intake: Intake,
        runtime: Runtime,
        metrics: Metrics,
        proxies: TrustedProxies,
    ) -> None:
        super().__init__(api, intake)
        self.api = api
        self.runtime = runtime
        self.metrics = metrics
        self.proxies = proxies
        self.broadcast: Broadcast | None = None
        self.access_log = runtime.settings.access_log
        caps = {
            REPORTS_PATH: intake.max_bytes,
            "/v1/import": runtime.settings.max_import_bytes,
            "/s/*/report": FORM_MAX_BYTES,
        }
        self.guard = BodyGuard(runtime.settings, caps, runtime.limit_tripped)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.proxies:  # the client address, once, for the fast path and every route
            self.proxies.apply(scope)
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if self.access_log:
            send = self._logged(scope, send)
        # Every body capped while it is read, and on a deadline (app/connections.py).
        guarded = await self.guard.admit(scope, receive, send)
        if guarded is None:
            return
        receive = guarded
        if scope["path"] == REPORTS_PATH:
            started = time.perf_counter()
            try:  # the fast path answers only after the whole body: nothing sent yet
                await super().__call__(scope, receive, send)
            except ApiError as exc:
                await self._error(send, exc)
            self.metrics.intake_latency.observe(time.perf_counter() - started)
        else:  # FastAPI routes: the ApiError handler answers
            await super().__call__(scope, receive, send)

    def _logged(self, scope: Scope, send: Send) -> Send:
        """OUTAGEWATCH_ACCESS_LOG: one JSON line per answer (no client address, no
        query string: they can identify people)."""
        started = time.perf_counter()
        status = 0

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                ms = round((time.perf_counter() - started) * 1000, 2)
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "event": "access",
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": ms,
                    },
                )

        return send_logged

    async def _error(self, send: Send, exc: ApiError) -> None:
        body = errors.body_bytes(exc.code, exc.message, exc.field)
        headers = [(k.encode(), v.encode()) for k, v in (exc.headers or {}).items()]
        await respond(send, exc.status, body, headers)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> OutageWatch:
    settings = settings or Settings()
    clock = clock or WallClock()
    proxies = TrustedProxies(settings.trusted_proxies)  # a bad entry fails before anything starts
    settings.base_url  # noqa: B018 - a bad OUTAGEWATCH_PUBLIC_URL fails here too
    runtime = Runtime(settings, clock)
    intake = embedded_intake(runtime)
    metrics = Metrics(runtime, intake)
    runtime.on_tick = metrics.tick_seconds.observe

    broadcast = Broadcast(runtime.events, settings.max_sse_streams)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        broadcast.bind(asyncio.get_running_loop())
        runtime.start()
        try:
            yield
        finally:
            broadcast.bind(None)
            runtime.stop()

    api = FastAPI(
        title="outagewatch",
        version="0.1.0",
        description=(
            "Open crowd-report outage detection. Post reports to /v1/reports; read "
            "incidents from /v1/outages."
        ),
        lifespan=lifespan,
        docs_url=None,  # served from the package's files instead (app/routes_docs.py)
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    api.state.runtime = runtime
    errors.install(api)
    docs.install(api)
    api.include_router(live_router(runtime, broadcast))  # first: /v1/outages/stream before /{id}
    api.include_router(pages_router(runtime, intake))
    api.include_router(feeds_router(runtime))  # also first: /v1/outages.atom
    api.include_router(grouped_router(runtime))  # and /v1/outages/grouped
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    api.add_middleware(FaceHeaders)  # framing headers; CORS on the public GETs only
    api.include_router(catalog_router(runtime))
    api.include_router(admin_router(runtime))  # before /v1/outages/{id}
    api.include_router(history_router(runtime))
    api.include_router(maintenance_router(runtime))
    api.include_router(log_gaps_router(runtime))
    api.include_router(reports_router(runtime, intake))
    api.include_router(outages_router(runtime))
    api.include_router(services_router(runtime))
    api.include_router(health_router(runtime))

    @api.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics",
        response_class=Response,
        responses=schemas.returns("text/plain", "Prometheus text"),
    )
    def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    errors.document(api)
    app = OutageWatch(api, intake, runtime, metrics, proxies)
    app.broadcast = broadcast
    return app
