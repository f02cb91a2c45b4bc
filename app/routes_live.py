"""Live faces: the server-sent event stream and the webhook subscription API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from outagewatch.app import notify, schemas
from outagewatch.app.auth import admin as admin_key
from outagewatch.app.broadcast import Broadcast, Lagged
from outagewatch.app.errors import ApiError
from outagewatch.app.i18n import LANGUAGES
from outagewatch.app.responses import JSON
from outagewatch.app.runtime import Runtime
from outagewatch.app.webhooks import FORMATS, LEVELS, TargetRefused, readable
from outagewatch.ingest.report import ReportError, check_region, check_service

KEEPALIVE_S = 15.0
RETRY_AFTER_S = 30
MAX_EVENT_ID = 2**63 - 1  # event ids are BIGINT


class EventStream(StreamingResponse):
    """A stream that gives its slot back however it ends (even unstarted)."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self.on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


def router(rt: Runtime, broadcast: Broadcast) -> APIRouter:
    live = APIRouter()
    needs_key = admin_key(rt)  # `dependencies=` of the routes that need an API key

    @live.get(
        "/v1/outages/stream",
        tags=["feed"],
        summary="Server-sent events: incident opened, escalated, resolved",
        response_class=StreamingResponse,
        responses=schemas.returns("text/event-stream", "Server-sent events"),
    )
    async def stream(
        request: Request,
        service: str | None = None,
        last_event_id: Annotated[str | None, Header()] = None,
        since_id: Annotated[
            int | None, Query(ge=0, le=MAX_EVENT_ID, description="resume after this id")
        ] = None,
    ) -> StreamingResponse:
        start = since_id
        if start is None and last_event_id is not None:
            try:
                start = int(last_event_id)
            except ValueError:
                start = -1
            if not 0 <= start <= MAX_EVENT_ID:
                raise ApiError(
                    422,
                    "invalid_last_event_id",
                    f"Last-Event-ID must be an event id, a whole number from 0 to {MAX_EVENT_ID}",
                    "last-event-id",
                )
        cursor = rt.events.last_id if start is None else start
        # Registered before catching up from the log, so nothing falls in between.
        sub = broadcast.open()
        if sub is None:
            rt.limit_tripped("max_sse_streams", limit_value=broadcast.max_streams)
            raise ApiError(
                503,
                "too_many_streams",
                f"{broadcast.max_streams} live streams are open, the most this server "
                "serves; retry later, or poll /v1/outages",
                headers={"retry-after": str(RETRY_AFTER_S)},
            )

        async def events() -> AsyncIterator[bytes]:
            last, resync = cursor, True
            while True:
                while resync:  # from the log: at the start, and after lagging behind
                    batch = rt.events.since(last)
                    for e in batch:
                        last = e.id
                        if service is None or e.incident["service"] == service:
                            yield e.sse()
                    resync = bool(batch)
                try:
                    pushed = await sub.next(KEEPALIVE_S)
                except Lagged:
                    resync = True
                    continue
                if pushed is None:
                    yield b": keepalive\n\n"
                    continue
                for e in pushed:
                    if e.id > last:
                        last = e.id
                        if service is None or e.incident["service"] == service:
                            yield e.sse()

        return EventStream(
            events(),
            sub.close,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    @live.post(
        "/v1/webhooks",
        dependencies=needs_key,
        status_code=201,
        tags=["webhooks"],
        summary="Subscribe (API key)",
        openapi_extra=schemas.body(schemas.WEBHOOK),
        responses={201: schemas.model(schemas.NewWebhook, "Subscribed")},
    )
    async def subscribe(
        request: Request,
    ) -> JSON:
        body = json_object(await request.body())
        url = body.get("url")
        if (
            not isinstance(url, str)
            or len(url) > 2048
            or schemas.WEBHOOK_URL_RE.fullmatch(url) is None
            or not readable(url)
        ):
            raise ApiError(
                422,
                "invalid_url",
                "url must be an http(s) URL to POST to, such as https://example.org/hook "
                "(port 1-65535; an IPv6 address in brackets)",
                "url",
            )
        fmt = body.get("format", "json")
        if fmt not in FORMATS:
            raise ApiError(422, "invalid_format", "format must be json or slack", "format")
        service, region, level = _filters(body)
        try:  # after DNS: no loopback, private, link-local, ... unless configured
            await rt.webhooks.check(url)
        except TargetRefused as exc:
            raise ApiError(422, "internal_target", str(exc), "url") from None
        now = rt.clock.now()  # written by the writer thread, awaited here
        sub = await asyncio.to_thread(
            rt.webhooks.subscribe, url, service, region, fmt, now, level, _language(body)
        )
        return JSON({**sub.public(), "secret": sub.secret}, status_code=201)

    @live.post(
        "/v1/notifications",
        dependencies=needs_key,
        status_code=201,
        tags=["notifications"],
        summary="Notify people through Apprise: Discord, Telegram, Teams, email, ntfy... (API key)",
        openapi_extra=schemas.body(schemas.NOTIFICATION),
        responses={201: schemas.model(schemas.Notification, "Subscribed")},
    )
    async def notify_subscribe(
        request: Request,
    ) -> JSON:
        body = json_object(await request.body())
        url = body.get("apprise")
        if not isinstance(url, str) or not 0 < len(url) <= 2048 or not notify.known(url):
            raise ApiError(
                422,
                "invalid_apprise_url",
                "apprise must be an Apprise URL such as discord://id/token, tgram://bot/chat, "
                "mailto://user:pass@example.org or ntfy://topic (https:// targets are webhooks: "
                "POST /v1/webhooks)",
                "apprise",
            )
        service, region, level = _filters(body)
        try:
            await notify.check(url, rt.webhooks.allow_private)
        except TargetRefused as exc:
            raise ApiError(422, "internal_target", str(exc), "apprise") from None
        now = rt.clock.now()
        sub = await asyncio.to_thread(
            rt.webhooks.subscribe, url, service, region, "apprise", now, level, _language(body)
        )
        return JSON(notify.public(sub), status_code=201)

    @live.get(
        "/v1/notifications",
        tags=["notifications"],
        summary="Notifications (API key)",
        dependencies=needs_key,
        responses={200: schemas.model(schemas.Notifications)},
    )
    def notifications(
        request: Request,
    ) -> JSON:
        subs = [notify.public(s) for s in rt.webhooks.subscriptions() if s.format == "apprise"]
        return JSON({"notifications": subs})

    @live.delete(
        "/v1/notifications/{notification_id}",
        dependencies=needs_key,
        status_code=204,
        tags=["notifications"],
        summary="Stop notifying (API key)",
    )
    def notify_unsubscribe(
        request: Request,
        notification_id: str,
    ) -> Response:
        if not notification_id.startswith("nt_") or not rt.webhooks.unsubscribe(notification_id):
            raise ApiError(404, "not_found", f"no notification {notification_id!r}")
        return Response(status_code=204)

    @live.get(
        "/v1/webhooks",
        tags=["webhooks"],
        summary="Subscriptions (API key)",
        dependencies=needs_key,
        responses={200: schemas.model(schemas.Webhooks)},
    )
    def subscriptions(
        request: Request,
    ) -> JSON:
        return JSON({"webhooks": [s.public() for s in rt.webhooks.subscriptions()]})

    @live.get(
        "/v1/webhooks/{webhook_id}/deliveries",
        tags=["webhooks"],
        summary="Delivery log",
        dependencies=needs_key,
        responses={200: schemas.model(schemas.Deliveries)},
    )
    def deliveries(
        request: Request,
        webhook_id: str,
    ) -> JSON:
        return JSON({"deliveries": rt.webhooks.deliveries(webhook_id)})

    @live.delete(
        "/v1/webhooks/{webhook_id}",
        status_code=204,
        tags=["webhooks"],
        summary="Unsubscribe",
        dependencies=needs_key,
    )
    def unsubscribe(
        request: Request,
        webhook_id: str,
    ) -> Response:
        if not rt.webhooks.unsubscribe(webhook_id):
            raise ApiError(404, "not_found", f"no webhook {webhook_id!r}")
        return Response(status_code=204)

    return live


def _filters(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """A subscription's service, region and least level, checked."""
    try:
        service = None if body.get("service") is None else check_service(body["service"])
        region = check_region(body.get("region"))
    except ReportError as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from None
    level = body.get("level")
    if level not in (None, *LEVELS):
        raise ApiError(422, "invalid_level", "level must be possible, outage or null", "level")
    return service, region, level


def _language(body: dict[str, Any]) -> str | None:
    """The language a subscription's words are written in; None: the server's."""
    lang = body.get("lang")
    if lang is None:
        return None
    if lang not in LANGUAGES:
        raise ApiError(
            422, "invalid_lang", f"lang must be one of {', '.join(LANGUAGES)} or null", "lang"
        )
    return str(lang)


def json_object(raw: bytes) -> dict[str, Any]:
    import orjson

    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", 'send an object such as {"url": "https://..."}')
    return body
