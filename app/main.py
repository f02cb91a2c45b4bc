"""The app factory: `create_app(settings, clock)` builds everything, with no globals.

The returned ASGI app is FastAPI behind the raw intake fast path. Its lifespan
starts the writer thread and, on shutdown, flushes, snapshots and closes DuckDB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import errors
from app.api import router
from app.clock import WallClock
from app.fastpath import FastIntake
from app.intake import Intake
from app.routes_live import router as live_router
from app.runtime import Runtime
from app.settings import Settings
from ingest.clock import Clock


class OutageWatch(FastIntake):
    """The ASGI app: fast intake in front, FastAPI behind; `.runtime` for tests and CLI."""

    def __init__(self, api: FastAPI, intake: Intake, runtime: Runtime) -> None:
        super().__init__(api, intake)
        self.api = api
        self.runtime = runtime


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> OutageWatch:
    settings = settings or Settings()
    clock = clock or WallClock()
    runtime = Runtime(settings, clock)
    intake = Intake(runtime)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    api = FastAPI(
        title="outagewatch",
        version="0.1.0",
        description=(
            "Open crowd-report outage detection. Post reports to /v1/reports; read "
            "incidents from /v1/outages."
        ),
        lifespan=lifespan,
    )
    api.state.runtime = runtime
    errors.install(api)
    api.include_router(live_router(runtime))  # first: /v1/outages/stream before /{id}
    api.include_router(router(runtime, intake))
    return OutageWatch(api, intake, runtime)
