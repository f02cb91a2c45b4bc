"""The practical ceiling: the least an ASGI handler can do for a report (read the body,
parse it, answer 202), served by the same uvicorn as the real server."""

from __future__ import annotations

from typing import Any

import orjson

BODY = b'{"accepted":true,"counted":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"32")]


async def read_body(receive: Any) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def accepted(send: Any) -> None:
    await send({"type": "http.response.start", "status": 202, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    orjson.loads(await read_body(receive))
    await accepted(send)
