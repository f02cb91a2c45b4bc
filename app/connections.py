"""Connections and bodies: what one client may hold of the server, and for how long.

uvicorn times out an idle keep-alive connection, but not one that is opened and
never finishes its request line and headers (slowloris), and it reads a body as fast
or as slowly as the client sends it. Around 1,000 such connections under the
default open-file limit locked every other client out. So, for every way we serve:

- `server_options(settings)`: uvicorn's options, with our protocol (below),
  `limit_concurrency` and `timeout_keep_alive` from the settings, proxy headers off
  (app/proxies.py does that from OUTAGEWATCH_TRUSTED_PROXIES);
- `guarded_protocol`: uvicorn's httptools protocol plus a header deadline (request
  line and headers complete within `header_timeout_s` of the connection opening or
  of the previous response, else 408 and close), a cap on open connections (past
  it, 503 and close at once, so the file descriptor is freed) and on connections
  per client address (trusted proxies exempt: they carry many clients);
- `BodyGuard`: every route's body is capped while it is read (413 as soon as a
  declared or received length passes the route's cap, nothing more read) and must
  arrive within `body_timeout_s` (408): raised from `receive`, answered as JSON.

Timeouts are the event loop's clock (real time on the wire), not the app's clock.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from typing import Any

from outagewatch.app.errors import ApiError, body_bytes
from outagewatch.app.fastpath import ASGIApp, Message, Receive, Scope, Send, respond
from outagewatch.app.logs import LimitLog
from outagewatch.app.proxies import TrustedProxies, parse_ip
from outagewatch.app.settings import Settings


def _raw(status: int, reason: str, code: str, message: str, extra: str = "") -> bytes:
    body = body_bytes(code, message)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
        f"x-content-type-options: nosniff\r\n{extra}\r\n"
    )
    return head.encode() + body


def guarded_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with a header deadline and connection caps; one
    class (and one per-address count) per server."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    header_timeout = settings.header_timeout_s
    max_connections = settings.max_connections
    per_address = settings.max_connections_per_address
    proxies = TrustedProxies(settings.trusted_proxies)
    open_by_address: dict[str, int] = {}
    limits = LimitLog(logging.getLogger("outagewatch.limits"))
    late = _raw(
        408,
        "Request Timeout",
        "header_timeout",
        f"the request line and headers must arrive within {header_timeout:g} s",
    )
    full = _raw(
        503,
        "Service Unavailable",
        "too_many_connections",
        "the server has too many open connections; retry shortly",
        "retry-after: 5\r\n",
    )
    crowded = _raw(
        429,
        "Too Many Requests",
        "too_many_connections",
        f"at most {per_address} open connections per client address",
        "retry-after: 5\r\n",
    )

    class GuardedHttp(HttpToolsProtocol):
        # One timer per connection, re-armed only when it fires: arming a fresh timer
        # for every request on a kept-alive connection cost more than the check.
        _timer: asyncio.TimerHandle | None = None
        _deadline = 0.0  # when the request line and headers awaited now are late
        _waiting = False  # awaiting a request line and headers
        _address: str | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self._refuse(full, "max_connections")
                return
            peer = self.client[0] if self.client else ""
            if per_address and not proxies.trusts(parse_ip(peer)):
                count = open_by_address.get(peer, 0) + 1
                open_by_address[peer] = count
                self._address = peer
                if count > per_address:
                    self._refuse(crowded, "max_connections_per_address")
                    return
            self._arm()

        def _refuse(self, answer: bytes, limit: str) -> None:
            limits.trip(limit, self.loop.time())
            self.transport.write(answer)
            self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._waiting = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._address is not None:
                left = open_by_address.get(self._address, 1) - 1
                if left > 0:
                    open_by_address[self._address] = left
                else:
                    open_by_address.pop(self._address, None)
                self._address = None
            super().connection_lost(exc)

        def on_headers_complete(self) -> None:
            self._waiting = False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection has the same deadline

        def _arm(self) -> None:
            self._deadline = self.loop.time() + header_timeout
            self._waiting = True
            if self._timer is None:
                self._timer = self.loop.call_at(self._deadline, self._check)

        def _check(self) -> None:
            self._timer = None
            if not self._waiting or self.transport.is_closing():
                return
            if self._deadline > self.loop.time():  # armed again since: wait for that
                self._timer = self.loop.call_at(self._deadline, self._check)
                return
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request under way: its body has BodyGuard's deadline
            limits.trip("header_timeout", self.loop.time())
            self.transport.write(late)
            self.transport.close()

    return GuardedHttp


def server_options(
    settings: Settings | None = None, log_level: str | None = None
) -> dict[str, Any]:
    """uvicorn options for every way we serve. Its proxy-header handling is off (it
    trusts X-Forwarded-For from 127.0.0.1 by default, and FORWARDED_ALLOW_IPS from the
    environment); `TrustedProxies` does it from our settings instead."""
    settings = settings or Settings()
    return {
        "http": guarded_protocol(settings),
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": max(1, round(settings.keep_alive_s)),
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "log_level": log_level or settings.log_level,
        "log_config": None,  # app/logs.py configures logging (JSON lines), not uvicorn
        "access_log": False,  # ours: OUTAGEWATCH_ACCESS_LOG, JSON (app/main.py)
    }


def raise_fd_limit(settings: Settings) -> int:
    """Raise this process's open-file limit (soft, up to the hard one) to fit
    `max_connections` plus room for files; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = settings.max_connections + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
    return int(soft)


class BodyGuard:
    """Caps and a deadline on every request body, enforced while it is read."""

    def __init__(
        self, settings: Settings, caps: dict[str, int], on_trip: Callable[..., None]
    ) -> None:
        self.on_trip = on_trip  # (limit, **fields): a log line (Runtime.limit_tripped)
        self.default = settings.max_body_bytes
        self.caps = caps  # exact path -> bytes; POST /s/{service}/report by prefix
        self.form_cap = caps.get("/s/*/report", self.default)
        self.timeout = settings.body_timeout_s

    def cap(self, path: str) -> int:
        exact = self.caps.get(path)
        if exact is not None:
            return exact
        if path.startswith("/s/") and path.endswith("/report"):
            return self.form_cap
        return self.default

    def declared_too_large(self, scope: Scope, cap: int) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value) > cap
                except ValueError:
                    return False
        return False

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """This request's guarded `receive`; None when its declared length is already
        past the cap (the 413 is sent here, and nothing of the body is read)."""
        path = scope["path"]
        cap = self.cap(path)
        if self.declared_too_large(scope, cap):
            self.on_trip("body_too_large", route=path)
            exc = body_too_large(cap)
            headers = [(k.encode(), v.encode()) for k, v in (exc.headers or {}).items()]
            await respond(send, exc.status, body_bytes(exc.code, exc.message, exc.field), headers)
            return None
        return self.receive(receive, cap, path)

    def receive(self, receive: Receive, cap: int, path: str) -> Receive:
        """`receive` that raises ApiError 413 past `cap` bytes and 408 past the
        deadline; once the body is complete it is the server's own again (streams
        wait on it for the disconnect)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        seen = 0
        done = False

        async def guarded() -> Message:
            nonlocal seen, done
            if done:
                return await receive()
            try:
                if deadline <= loop.time():
                    raise TimeoutError
                # A timeout scope, not wait_for: no task per body read (a report's
                # body is usually there already and `receive` returns at once).
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                done = True
                self.on_trip("body_timeout", route=path)
                raise body_timeout(self.timeout) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    done = True
                    self.on_trip("body_too_large", route=path)
                    raise body_too_large(cap)
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        return guarded


class GuardedBodies:
    """`BodyGuard` as ASGI middleware, for apps without the main server's front (the
    broker's intake node): the same caps and deadline, the same answers."""

    def __init__(self, app: ASGIApp, guard: BodyGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            guarded = await self.guard.admit(scope, receive, send)
            if guarded is None:
                return
            receive = guarded
        await self.app(scope, receive, send)


# The rest of the body is not read: the connection closes after the answer.
CLOSE = {"connection": "close"}


def body_too_large(cap: int) -> ApiError:
    message = f"the body of this request is at most {cap} bytes"
    return ApiError(413, "body_too_large", message, headers=CLOSE)


def body_timeout(seconds: float) -> ApiError:
    message = f"the request body must arrive within {seconds:g} s of the headers"
    return ApiError(408, "body_timeout", message, headers=CLOSE)
