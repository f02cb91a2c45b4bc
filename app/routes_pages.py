"""Public faces: SVG badges, server-rendered status pages with a no-JS report form, the
embeddable card and the widget script (the feeds: app/routes_feeds.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outagewatch.app import schemas
from outagewatch.app.errors import ApiError
from outagewatch.app.faces import pages
from outagewatch.app.faces.badge import badge
from outagewatch.app.faces.http import page, vary
from outagewatch.app.faces.region_figures import region_figures
from outagewatch.app.faces.region_map import region_section
from outagewatch.app.i18n import LANGUAGES, Text, reader_text
from outagewatch.app.intake import Intake
from outagewatch.app.responses import Rendered, etagged
from outagewatch.app.routes_services import LEVEL_RANK, service_detail, services_list
from outagewatch.app.runtime import Runtime
from outagewatch.app.schemas import ServicePath
from outagewatch.ingest.report import PROBLEMS, SERVICE_RE

STATIC = Path(__file__).parent / "static"
FORM_MAX_BYTES = 4096
# ?thanks= after the no-JavaScript report form: which of pages.report_notes to show.
THANKS = {"1": "counted", "0": "not_counted", "limited": "limited"}


def widget_script() -> bytes:
    """widget.js with what it says when the server cannot be reached, in every language."""
    offline = {
        lang: {"unavailable": t._("Status unavailable."), "report": t._("Report a problem")}
        for lang, t in ((lang, Text(lang)) for lang in LANGUAGES)
    }
    script = (STATIC / "widget.js").read_text()
    return script.replace("/*OFFLINE*/{}", orjson.dumps(offline).decode()).encode()


def router(rt: Runtime, intake: Intake) -> APIRouter:
    faces = APIRouter()
    # Absolute links from settings, never from the request's Host header: feeds and
    # the embed card are cached publicly, and a forged Host would be served to others.
    base = rt.settings.base_url
    # Pages for the current data version, rendered once: outage day is many people
    # asking for the same few pages within a tick.
    rendered = Rendered(size=1024)
    widget_js = widget_script()

    def text(request: Request) -> Text:
        return reader_text(request, rt.settings.language)

    def listed(service: str) -> bool:
        """Whether the intake takes reports of the service (the catalog holds it, or
        takes any)."""
        policy = rt.catalog.policy
        return policy.accept_unknown or service in policy

    def detail(service: str) -> dict[str, Any] | None:
        try:
            return service_detail(rt, service)
        except ApiError:  # invalid slug or no reports: a page, not an error body
            return None

    @faces.get(
        "/v1/services/{service}/badge.svg",
        tags=["services"],
        summary="Status badge",
        response_class=Response,
        responses=schemas.returns("image/svg+xml", "SVG badge"),
    )
    def service_badge(request: Request, service: ServicePath) -> Response:
        t = text(request)
        svg = rendered.memo(
            ("badge", service, t.lang),
            rt.view.version,
            lambda: badge(rt.catalog.display_name(service), _level(rt, service), t).encode(),
        )
        return vary(etagged(request, svg, "image/svg+xml; charset=utf-8", max_age=60, swr=300))

    @faces.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        t = text(request)
        html = rendered.memo(
            ("home", t.lang, t.explicit),
            rt.view.version,
            lambda: pages.home(rt.view.open.all(), services_list(rt, 25), t, rt.catalog.names),
        )
        return vary(page(html))

    @faces.post("/s/{service}/report", include_in_schema=False)
    async def form_report(request: Request, service: str) -> Response:
        """The no-JS path of the report form: the same intake as POST /v1/reports."""
        # A choice of problem is a few bytes: the body is capped at FORM_MAX_BYTES while
        # it is read (app/connections.py), a 413 JSON error past it.
        raw = await request.body()
        form = parse_qs(raw.decode("utf-8", "replace"))
        problem = next(iter(form.get("problem", [])), None)
        body = orjson.dumps(
            {"service": service, "problem": problem if problem in PROBLEMS else None}
        )
        address = request.client.host if request.client else ""
        out = intake.handle(
            body, b"application/json", address, request.headers.get("user-agent", "")
        )
        out = await intake.durable(out)
        t = text(request)
        if out.status == 202 and out.row is not None:  # the page says counted only when it was
            _, service, *_, counted = out.row  # the service by its id: "Amazon" is amazon
            said = "1" if counted else "0"
        elif out.status == 429:
            said = "limited"
        else:  # say why, with the intake's status (422 unknown service, 503, ...)
            return vary(page(_refused(out.body, service, t), out.status))
        keep = f"&lang={t.lang}" if t.explicit else ""
        return RedirectResponse(f"/s/{quote(service)}?thanks={said}{keep}#report", status_code=303)

    @faces.get("/s/{service:path}", include_in_schema=False)
    async def service_page(request: Request, service: str, thanks: str | None = None) -> Response:
        found = rt.catalog.service_id(service)
        if isinstance(found, str) and found != service:  # "/s/Amazon", "/s/Microsoft Teams"
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/s/{quote(found)}{query}", status_code=308)
        if _valid(service) and rt.view.sid((service, None)) is None:
            # maybe its first report (the form's redirect), still waiting
            await rt.caught_up(service)
        return await run_in_threadpool(render_page, request, service, thanks)

    def render_page(request: Request, service: str, thanks: str | None) -> Response:
        t = text(request)
        said = THANKS.get(thanks or "")

        def render() -> tuple[str, int]:
            d = detail(service)
            if d is None and _valid(service) and not listed(service):
                return pages.not_in_catalog(service, t=t), 404
            if d is None and service in rt.catalog.policy:  # known, not reported yet
                name = rt.catalog.display_name(service)
                windows = rt.maintenance.upcoming(rt.clock.now(), service)
                return pages.no_reports_yet(service, name, t=t, windows=windows), 200
            if d is None:
                return pages.not_found(service, form=_valid(service), t=t), 404
            windows = rt.maintenance.upcoming(rt.clock.now(), service)
            outages = rt.view.open.all()  # a cascade shows whole
            regions = region_section(region_figures(rt.view, d), t)
            notes = rt.annotations.latest([str(i["id"]) for i in outages])
            return pages.service_page(
                d,
                thanks=said,
                t=t,
                windows=windows,
                outages=outages,
                regions=regions,
                notes=notes,
                names=rt.catalog.names,
            ), 200

        key = ("page", service, said, t.lang, t.explicit)
        # Declaring or withdrawing a window, or annotating an incident, changes the page
        # too (each version only grows, so their sum moves whenever one does).
        version = rt.view.version + rt.maintenance.version + rt.annotations.version
        html, status = rendered.memo(key, version, render)
        return vary(page(html, status))

    @faces.get("/embed/{service:path}", include_in_schema=False)
    def embed(request: Request, service: str) -> Response:
        t = text(request)

        def render() -> tuple[str, int]:
            d = detail(service)
            if d is None and _valid(service) and not listed(service):
                return pages.not_in_catalog(service, embed=True, t=t), 404
            if d is None and service in rt.catalog.policy:
                name = rt.catalog.display_name(service)
                return pages.no_reports_yet(service, name, embed=True, t=t), 200
            if d is None:
                return pages.not_found(service, embed=True, t=t), 404
            outages = rt.view.open.all()
            return pages.embed_card(d, base, t, outages, rt.catalog.names), 200

        key = ("embed", service, t.lang, t.explicit)
        html, status = rendered.memo(key, rt.view.version, render)
        return vary(page(html, status, embed=True))

    @faces.get("/v1/services/{service}/widget.json", include_in_schema=False)
    def widget_json(request: Request, service: str) -> Response:
        """What the widget shows, in the reader's language: its words and the status."""
        t = text(request)

        def render() -> bytes:
            d = detail(service)
            known = d is not None or not _valid(service) or listed(service)
            outages = rt.view.open.all() if d is not None else None  # a cascade whole
            data = pages.widget_data(
                d, t, service=service, listed=known, outages=outages, names=rt.catalog.names
            )
            return orjson.dumps(data)

        body = rendered.memo(("widget", service, t.lang), rt.view.version, render)
        return vary(etagged(request, body, "application/json"))

    @faces.get("/widget.js", include_in_schema=False)
    def widget(request: Request) -> Response:
        body = widget_js
        return etagged(request, body, "text/javascript; charset=utf-8", max_age=300, swr=3600)

    return faces


def _refused(body: bytes, service: str, t: Text) -> str:
    """The page after a form report the intake refused: the reason, in the reader's words."""
    code = orjson.loads(body)["error"]["code"]
    if code == "unknown_service":
        return pages.not_in_catalog(service, t=t)
    if code == "invalid_service":
        return pages.not_found(service, t=t)
    notes = pages.report_notes(t)
    return pages.notice(notes["failed"], t._("Please try again in a minute."), t)


def _valid(service: str) -> bool:
    return SERVICE_RE.fullmatch(service) is not None


def _level(rt: Runtime, service: str) -> str:
    """The badge needs only the level: skip the 24-hour series of service_detail."""
    if not _valid(service):
        return "unknown"
    open_items = rt.view.open.of(service)
    if pages.under_maintenance(open_items):
        return "maintenance"
    if open_items:
        return str(max((i["level"] for i in open_items), key=LEVEL_RANK.__getitem__))
    view = rt.view
    sid = view.sid((service, None))
    if sid is None:
        return "unknown"
    return "learning" if view.is_learning(sid) else "none"
