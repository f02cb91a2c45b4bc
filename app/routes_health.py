"""Health: liveness, and the truth about the pipeline (503 when it is degraded)."""

from __future__ import annotations

from fastapi import APIRouter

from outagewatch.app import schemas
from outagewatch.app.responses import JSON
from outagewatch.app.runtime import Runtime
from outagewatch.ingest.windows import iso


def router(rt: Runtime) -> APIRouter:
    api = APIRouter()

    @api.get(
        "/healthz",
        tags=["ops"],
        summary="Liveness and the truth about the pipeline",
        responses={
            200: schemas.model(schemas.Health, "ok"),
            503: schemas.model(schemas.Health, "degraded: `error` says why"),
        },
    )
    def healthz() -> JSON:
        view = rt.view
        wal_error = rt.wal.error if rt.wal is not None else None
        disk = (
            f"disk nearly full: {rt.disk_free_mb:.0f} MB free, reports refused below "
            f"{rt.settings.min_free_mb:.0f} MB"
            if rt.disk_low
            else None
        )
        error = rt.held_back_error() or rt.last_error or wal_error or rt.durability_error() or disk
        return JSON(
            {
                "status": "ok" if error is None else "degraded",
                "error": error,
                "disk_free_mb": None if rt.disk_free_mb is None else round(rt.disk_free_mb),
                "stream_time": iso(rt.clock.now()),
                "closed_until": iso(view.closed_until),
                "series": view.n,
                "open_incidents": sum(view.open_by_level.values()),
                # Intake's own counters, live (the rest is as of the last tick).
                "reports_accepted": rt.pipeline.reports_accepted,
                "reports_counted": rt.pipeline.reports_counted,
                # Acknowledged reports whose database write failed, kept to be retried;
                # at `max_held_back_reports` new reports are refused until they are written.
                "held_back_reports": rt.pipeline.held_back,
                # The write-ahead log: a gap in stored sequence numbers, or a log found
                # shorter than the database at start (removed, lost), is said here.
                "log_gap": rt.seq_gap,
                "log_reset": rt.wal_reset,
                # Where the file is is the operator's business, not every visitor's.
                "database": "memory" if rt.settings.data is None else "file",
            },
            status_code=200 if error is None else 503,
        )

    return api
