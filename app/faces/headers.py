"""One raw-ASGI middleware for the cross-cutting headers of the public faces.

- Framing: DENY everywhere except /embed/, which exists to be framed.
- CORS: the read-only JSON that the widget and other sites fetch (GET on
  /v1/services* and /v1/outages*) answers any origin. Nothing else gets CORS;
  /v1/reports has its own on the intake fast path.
"""

from __future__ import annotations

from outagewatch.app.fastpath import ASGIApp, Message, Receive, Scope, Send

CORS_PREFIXES = ("/v1/services", "/v1/outages")


def _cors(scope: Scope) -> bool:
    return scope["method"] in ("GET", "HEAD") and scope["path"].startswith(CORS_PREFIXES)


class FaceHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [(b"x-content-type-options", b"nosniff")]
        if not scope["path"].startswith("/embed/"):
            extra.append((b"x-frame-options", b"DENY"))
        if _cors(scope):
            extra.append((b"access-control-allow-origin", b"*"))
            extra.append((b"access-control-expose-headers", b"etag"))

        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra if k not in names),
                ]
            await send(message)

        await self.app(scope, receive, send_with)
