"""Services: the most reported, and one service's last 24 hours. Read from the view the
writer publishes after each tick (app/engine/read_view.py), never from the engine's live
arrays, so a request cannot see a half-applied bucket. The status pages reuse
services_list and service_detail."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from scipy import stats
from starlette.concurrency import run_in_threadpool

from outagewatch.app import schemas
from outagewatch.app.engine.read_view import ReadView
from outagewatch.app.errors import ApiError
from outagewatch.app.responses import Rendered
from outagewatch.app.runtime import Runtime
from outagewatch.app.schemas import ServicePath
from outagewatch.ingest.report import SERVICE_RE

LEVEL_RANK = {"none": 0, "possible": 1, "outage": 2}


def router(rt: Runtime) -> APIRouter:
    api = APIRouter()
    rendered = Rendered()

    @api.get(
        "/v1/services",
        tags=["services"],
        summary="Services by reports in the last hour",
        responses={200: schemas.model(schemas.Services)},
    )
    def services(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        return rendered.get(
            request, rt.view.version, lambda: {"services": services_list(rt, limit)}
        )

    @api.get(
        "/v1/services/{service}",
        tags=["services"],
        summary="One service, last 24 h",
        responses={200: schemas.model(schemas.ServiceDetail)},
    )
    async def service(request: Request, service: ServicePath) -> Response:
        if rt.view.sid((service, None)) is None:  # maybe its first report, still waiting
            await rt.caught_up(service)
        return await run_in_threadpool(
            rendered.get, request, rt.view.version, lambda: service_detail(rt, service)
        )

    return api


def _levels(rt: Runtime) -> dict[str, dict[str | None, str]]:
    out: dict[str, dict[str | None, str]] = {}
    for d in rt.view.open.all():
        out.setdefault(d["service"], {})[d["region"]] = d["level"]
    return out


def _service_level(levels: dict[str | None, str]) -> str:
    return max(levels.values(), key=lambda v: LEVEL_RANK[v], default="none")


def services_list(rt: Runtime, limit: int = 100) -> list[dict[str, Any]]:
    """Services with reports in the last day or an open incident: the most troubled
    first (level, then reports in the last hour, then the last day, then name).
    Ranked with numpy so the cost stays small with thousands of services."""
    view = rt.view
    hour, day = view.hour, view.day
    levels = {s: _service_level(v) for s, v in _levels(rt).items()}
    ids = view.wide_ids()
    leveled = np.zeros(len(ids), dtype=bool)
    if levels:
        found = [view.sid((s, None)) for s in levels]
        leveled = np.isin(ids, [i for i in found if i is not None])
    ids = ids[(day[ids] > 0) | leveled]
    key = view.series.key  # not view.keys(): a copy of every key, a million at scale
    names = np.array([key(i)[0] for i in ids.tolist()], dtype=object)
    rank = np.array([LEVEL_RANK[levels.get(n, "none")] for n in names], dtype=np.int64)
    top = np.lexsort((names, -day[ids], -hour[ids], -rank))[:limit]
    learning = view.is_learning
    display = rt.catalog.display_name
    return [
        {
            "service": names[j],
            "name": display(names[j]),
            "level": levels.get(names[j], "none"),
            "learning": learning(int(ids[j])),
            "reports_1h": int(hour[ids[j]]),
            "reports_24h": int(day[ids[j]]),
        }
        for j in top.tolist()
    ]


def service_detail(rt: Runtime, service: str) -> dict[str, Any]:
    if SERVICE_RE.fullmatch(service) is None:
        raise ApiError(422, "invalid_service", "service must be a lower-case slug", "service")
    now = rt.clock.now()
    width = rt.settings.bucket_seconds
    view = rt.view
    hour, day = view.hour, view.day
    sid = view.sid((service, None))
    # Not in the view: unknown, or registered by the writer since, nothing counted yet.
    if sid is None:
        raise ApiError(404, "unknown_service", f"no reports for {service!r} yet")
    open_items = rt.view.open.of(service)
    levels = {d["region"]: d["level"] for d in open_items}
    series = _series_points(view, sid)
    problems = view.problems.top(sid, now - 3600)
    if problems is None:  # the last hour is not all in memory yet (a restart): the store's
        problems = rt.store.top_problems(service, now - 3600)
    regions = sorted(
        ((r, int(day[i])) for i in view.ids_of(service) if (r := view.series.key(i)[1]) and day[i]),
        key=lambda rn: (-rn[1], rn[0]),
    )
    total = sum(n for _, n in problems) or 1
    return {
        "service": service,
        "name": rt.catalog.display_name(service),
        "level": _service_level(levels),
        # No baseline yet (the system or this service has not seen a day): "none" then
        # means nothing overwhelming, not "at the usual level".
        "learning": view.is_learning(sid),
        "bucket_seconds": width,
        "reports_1h": int(hour[sid]),
        "reports_24h": int(day[sid]),
        "open_incidents": open_items,
        "series": series,
        "top_problems": [
            {"problem": p, "share": round(n / total, 3), "reports": n} for p, n in problems[:6]
        ],
        "regions": [{"region": r, "reports": n, "level": levels.get(r)} for r, n in regions[:30]],
    }


def _series_points(view: ReadView, sid: int) -> list[dict[str, Any]]:
    starts, counts, expected, levels = view.points(sid)
    r = 1.0 / view.dispersion(sid)
    mu = np.maximum(expected, 1e-6)
    upper = stats.nbinom.ppf(0.999, r, r / (r + mu))
    names = ("", "possible", "outage")
    # Vectorised: a day at 1-minute buckets is 1,440 points, and per-point strftime and
    # float conversions were most of a status page's cost.
    stamps = np.datetime_as_string(starts.astype("datetime64[s]"), unit="s").tolist()
    points = [
        {"ts": t + "Z", "count": c, "expected": e, "upper": u, "level": names[lv]}
        for t, c, e, u, lv in zip(
            stamps,
            counts.astype(np.int64).tolist(),
            np.round(expected, 3).tolist(),
            np.asarray(upper, dtype=np.float64).tolist(),
            levels.tolist(),
            strict=True,
        )
    ]
    # Then the buckets still open, with their reports so far (a first report shows at
    # once, not when its minute closes), against the newest closed bucket's normal band.
    last = points[-1] if points else {"expected": 0.0, "upper": 0.0}
    closed = starts[-1] if len(starts) else -np.inf
    open_starts, open_counts = view.open_points(sid)
    fresh = open_starts > closed
    fresh &= bool(open_counts[fresh].any())  # an idle series looks as it did before
    open_stamps = np.datetime_as_string(open_starts[fresh].astype("datetime64[s]"), unit="s")
    so_far = open_counts[fresh].astype(np.int64).tolist()
    points += [
        {"ts": t + "Z", "count": c, "expected": last["expected"], "upper": last["upper"],
         "level": "", "open": True}
        for t, c in zip(open_stamps.tolist(), so_far, strict=True)
    ]  # fmt: skip
    return points
