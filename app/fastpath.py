"""A raw-ASGI front for the one hot endpoint, POST /v1/reports.

FastAPI's per-request machinery costs several times the work of the intake itself,
so this small ASGI callable answers report posts (and their CORS preflight)
directly and passes every other request to the FastAPI app, which still documents
the endpoint in its OpenAPI schema and serves it the same way if reached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from outagewatch.app.intake import ACCEPTED, Intake, error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REPORTS_PATH = "/v1/reports"
NOSNIFF = (b"x-content-type-options", b"nosniff")
CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"86400"),
]


class FastIntake:
    def __init__(self, app: ASGIApp, intake: Intake) -> None:
        self.app = app
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != REPORTS_PATH:
            await self.app(scope, receive, nosniff(send) if scope["type"] == "http" else send)
            return
        method = scope["method"]
        if method == "POST":
            await self._post(scope, receive, send)
        elif method == "OPTIONS":
            await respond(send, 204, b"", CORS)
        else:
            await self.app(scope, receive, nosniff(send))

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = b""
        user_agent = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"user-agent":
                user_agent = value
        limit = self.intake.max_bytes
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:  # stop reading a huge body at once
                out = error(413, "body_too_large", f"a report is at most {limit} bytes")
                await respond(send, out.status, out.body, CORS)
                return
        client = scope.get("client")
        address = client[0] if client else ""
        out = self.intake.handle(body, content_type, address, user_agent.decode("latin-1"))
        out = await self.intake.durable(out)
        fixed = ACCEPTED_HEADERS.get(out.body) if out.status == 202 else None
        if fixed is not None:
            await answer(send, 202, out.body, fixed)
        else:
            await respond(send, out.status, out.body, CORS + out.headers)


def nosniff(send: Send) -> Send:
    """Every answer tells browsers not to guess its type (a JSON error read as HTML,
    say), whatever produced it: a route, an error handler, the server's own 500."""

    async def send_with(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if all(k.lower() != b"x-content-type-options" for k, _ in headers):
                headers.append(NOSNIFF)
                message["headers"] = headers
        await send(message)

    return send_with


class NoSniff:
    """`nosniff` as ASGI middleware, for apps without the fast path (the intake node)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, nosniff(send) if scope["type"] == "http" else send)


async def respond(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await answer(send, status, body, json_headers(body, extra))


def json_headers(body: bytes, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        NOSNIFF,
        *extra,
    ]


async def answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The two 202 answers are fixed, so are their headers: built once, not per report (the
# server copies a header list before it writes it).
ACCEPTED_HEADERS = {body: json_headers(body, CORS) for body in ACCEPTED.values()}
