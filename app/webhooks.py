"""Webhooks: subscriptions, a durable outbox, signed deliveries with retries.

Every incident event that matches a subscription (a service, a region, or all)
becomes a row in the `deliveries` outbox in DuckDB before anything is sent, so a
restart loses none. A deliverer sends what is due, signs the body with
HMAC-SHA256 over `"{timestamp}.{body}"` (header `Outagewatch-Signature:
t=<ts>,v1=<hex>`), and on failure retries with exponential backoff until
`MAX_ATTEMPTS`. Time comes in as an argument: tests drive `deliver_due(now)`.

Targets: a webhook URL is a request the server makes on someone's behalf, so by
default it may only reach public addresses. Loopback, private, link-local,
multicast, reserved, shared and unspecified addresses are refused, in whatever form
the host is written (`2130706433`, `0x7f000001`, `127.1`, `[::ffff:127.0.0.1]`):
the host is resolved (getaddrinfo, in a thread) and every address checked, when
subscribing and again before every delivery, and the delivery then connects to the
address that was checked (so a name cannot be re-pointed in between).
`webhook_allow_private` turns this off for internal receivers.

Deliveries run concurrently, at most `concurrency` at once, each under one total
deadline (connect, send and the answer's status line and headers together; the
answer's body is never read), so a receiver that trickles bytes holds nobody else
up and its own delivery for at most `deadline_s`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import orjson
import polars as pl

from outagewatch.app.events import Event
from outagewatch.app.faces.outage_text import NO_NAMES, Names, reports
from outagewatch.app.i18n import ENGLISH, Text
from outagewatch.ingest.store import Store

log = logging.getLogger("outagewatch")
delivery_log = logging.getLogger("outagewatch.deliveries")
T = TypeVar("T")

MAX_ATTEMPTS = 8
BASE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
FORMATS = ("json", "slack")  # of webhooks; notifications are "apprise" (app/notify.py)
LEVELS = ("possible", "outage")
ALLOW_PRIVATE_HINT = (
    "webhooks are only sent to public addresses; for a receiver inside your network, "
    "start the server with OUTAGEWATCH_WEBHOOK_ALLOW_PRIVATE=true"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (delivery id, "delivered" | "retry" | "failed", attempts, next_at, last error)
Result = tuple[str, str, int, float, str | None]


class TargetRefused(Exception):
    """A webhook URL that leads inside; the message says why and what to do."""


def refusal(ip: IPAddress) -> str | None:
    """Why a delivery may not go to `ip` (None: a public address).

    >>> ip = ipaddress.ip_address
    >>> [refusal(ip(a)) for a in ("127.0.0.1", "::ffff:10.1.2.3", "93.184.215.14")]
    ['loopback', 'private', None]
    >>> refusal(ip("0.0.0.0")), refusal(ip("169.254.169.254"))
    ('unspecified', 'link-local')
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return refusal(embedded)
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges, ...
        return "non-public"
    return None


@dataclass(frozen=True)
class Target:
    """Where one request goes: the URL as given, or pinned to a checked address."""

    url: str
    host_header: str | None = None
    sni: str | None = None


def _split(url: str) -> tuple[str, str, int, str, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
    rest = parts.path or "/"
    if parts.query:
        rest += "?" + parts.query
    return parts.scheme, host, port, rest, parts.netloc.rsplit("@", 1)[-1]


def readable(url: str) -> bool:
    """A URL whose host and port can be read (the pattern lets port 99999 through).

    >>> readable("http://example.org:8080/h"), readable("http://x:99999/"), readable("http://[::1]/")
    (True, False, True)
    """
    try:
        _, host, port, _, _ = _split(url)
    except ValueError:
        return False
    return bool(host) and 0 < port < 65536


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` stands for; numeric forms too (getaddrinfo reads
    `2130706433` and `127.1` as 127.0.0.1). Empty when the name does not resolve."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def public_addresses(host: str, port: int, *, must_resolve: bool) -> list[IPAddress]:
    """The addresses `host` stands for, all public; raises TargetRefused if any leads
    inside, or if it does not resolve and `must_resolve` (else: empty)."""
    addresses = await resolve(host, port)
    if not addresses and must_resolve:
        raise TargetRefused(f"the host {host!r} does not resolve")
    for address in addresses:
        why = refusal(address)
        if why is not None:
            shown = host if str(address) == host else f"{host} ({address})"
            raise TargetRefused(f"url leads to {shown}, a {why} address: {ALLOW_PRIVATE_HINT}")
    return addresses


async def check_target(url: str, allow_private: bool, *, must_resolve: bool) -> Target:
    """Raises TargetRefused for a URL that leads inside; else where to send."""
    if allow_private:
        return Target(url)
    scheme, host, port, rest, netloc = _split(url)
    addresses = await public_addresses(host, port, must_resolve=must_resolve)
    if not addresses:
        return Target(url)
    first = addresses[0]
    literal = f"[{first}]" if first.version == 6 else str(first)
    return Target(f"{scheme}://{literal}:{port}{rest}", host_header=netloc, sni=host)


def complete(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous code (a thread of its own when the
    calling thread already runs an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value a receiver recomputes to trust a delivery.

    >>> sign("s", 1, b"{}")[:6]
    't=1,v1'
    """
    mac = hmac.new(secret.encode(), b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """Receiver side, for our tests and as a reference for people's code."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), header)


def backoff(attempts: int) -> float:
    return float(min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** max(attempts - 1, 0)))


def unsent(did: str, attempts: int, now: float, error: str) -> Result:
    """A delivery that failed: retried with backoff, or given up after MAX_ATTEMPTS."""
    attempts += 1
    if attempts >= MAX_ATTEMPTS:
        return did, "failed", attempts, now, error
    return did, "retry", attempts, now + backoff(attempts), error


def payload(
    fmt: str, event: Event, base_url: str, t: Text = ENGLISH, names: Names = NO_NAMES
) -> bytes:
    """The body sent for an event: the incident as JSON, or words for people (Slack,
    Apprise) in the server's language `t`, services by their display names (`names`)."""
    inc = event.incident
    # Words for people live with the notifications (app/notify.py imports this module).
    from outagewatch.app import notify

    if fmt == "apprise":
        return notify.message(event, base_url, t, names)
    if fmt == "slack":
        icon = {"opened": ":rotating_light:", "escalated": ":red_circle:"}.get(
            event.type, ":white_check_mark:"
        )
        count = reports(t, int(inc["total_reports"]))
        text = f"{icon} {notify.title(event, t, names)} ({count}) {base_url}/s/{inc['service']}"
        return orjson.dumps({"text": text})
    return orjson.dumps({"event": event.type, "event_id": event.id, "incident": inc})


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    service: str | None
    region: str | None
    format: str
    secret: str
    level: str | None = None  # the least level that notifies (None: every level)
    lang: str | None = None  # the language of its words for people (None: the server's)

    def matches(self, incident: dict[str, Any]) -> bool:
        if self.service is not None and incident["service"] != self.service:
            return False
        if self.level is not None and LEVELS.index(incident["level"]) < LEVELS.index(self.level):
            return False
        return self.region is None or incident["region"] == self.region

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "service": self.service,
            "region": self.region,
            "format": self.format,
            "level": self.level,
            "lang": self.lang,
        }


class Webhooks:
    def __init__(
        self,
        store: Store,
        base_url: str = "",
        *,
        allow_private: bool = False,
        deadline_s: float = 10.0,
        concurrency: int = 8,
        text: Text = ENGLISH,
        names: Callable[[], Names] = lambda: NO_NAMES,
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.text = text  # the language of what people read (Slack, Apprise)
        self.names = names  # the catalog's display names, as they are now
        self.allow_private = allow_private
        self.deadline_s = deadline_s
        self.concurrency = max(1, concurrency)
        self._lock = threading.Lock()
        self._inflight: set[str] = set()  # claimed by a sender, not yet recorded

    def _text(self, lang: str | None) -> Text:
        """A subscription's language, else the server's."""
        return self.text if lang is None else Text(lang)

    def close(self) -> None:
        """Nothing held between rounds (each round or loop opens its own client)."""

    async def check(self, url: str) -> None:
        """At subscription: refuse a URL that leads inside (TargetRefused)."""
        await check_target(url, self.allow_private, must_resolve=False)

    # --- subscriptions ------------------------------------------------------------------
    def subscribe(
        self,
        url: str,
        service: str | None,
        region: str | None,
        fmt: str,
        now: float,
        level: str | None = None,
        lang: str | None = None,
    ) -> Subscription:
        sub = Subscription(
            id=("nt_" if fmt == "apprise" else "wh_") + secrets.token_hex(8),
            url=url,
            service=service,
            region=region,
            format=fmt,
            secret=secrets.token_urlsafe(24),
            level=level,
            lang=lang,
        )
        self.store.append(
            "webhooks",
            pl.DataFrame(
                [[sub.id, url, service, region, fmt, sub.secret, now, True, level, lang]],
                schema={
                    "id": pl.String,
                    "url": pl.String,
                    "service": pl.String,
                    "region": pl.String,
                    "format": pl.String,
                    "secret": pl.String,
                    "created_at": pl.Float64,
                    "active": pl.Boolean,
                    "min_level": pl.String,
                    "lang": pl.String,
                },
                orient="row",
            ),
        )
        return sub

    def subscriptions(self) -> list[Subscription]:
        rows = self.store.query(
            "SELECT id, url, service, region, format, secret, min_level, lang FROM webhooks "
            "WHERE active ORDER BY created_at, id"
        )
        return [Subscription(*r) for r in rows]

    def unsubscribe(self, webhook_id: str) -> bool:
        found = self.store.query("SELECT 1 FROM webhooks WHERE id = ? AND active", [webhook_id])
        if not found:
            return False
        self.store.write("UPDATE webhooks SET active = false WHERE id = ?", [webhook_id])
        self.store.write(
            "UPDATE deliveries SET status = 'cancelled' "
            "WHERE webhook_id = ? AND status = 'pending'",
            [webhook_id],
        )
        return True

    # --- the outbox ---------------------------------------------------------------------
    def enqueue(self, events: list[Event]) -> int:
        """Called with new events (writer thread): one outbox row per matching webhook.
        Incidents marked as planned maintenance notify no one (app/maintenance.py)."""
        subs = self.subscriptions()
        names = self.names()
        rows = [
            (
                f"{s.id}:{e.id}",
                s.id,
                e.id,
                e.type,
                payload(s.format, e, self.base_url, self._text(s.lang), names).decode(),
            )
            for e in events
            if not e.incident.get("maintenance")
            for s in subs
            if s.matches(e.incident)
        ]
        if rows:
            self.store.append(
                "deliveries",
                pl.DataFrame(
                    {
                        "id": [r[0] for r in rows],
                        "webhook_id": [r[1] for r in rows],
                        "event_id": [r[2] for r in rows],
                        "event_type": [r[3] for r in rows],
                        "body": [r[4] for r in rows],
                        "attempts": [0] * len(rows),
                        "next_at": [events[0].at] * len(rows),
                        "status": ["pending"] * len(rows),
                        "last_error": [None] * len(rows),
                    },
                    schema={
                        "id": pl.String,
                        "webhook_id": pl.String,
                        "event_id": pl.Int64,
                        "event_type": pl.String,
                        "body": pl.String,
                        "attempts": pl.Int32,
                        "next_at": pl.Float64,
                        "status": pl.String,
                        "last_error": pl.String,
                    },
                ),
                replace=True,
            )
        return len(rows)

    def deliver_due(self, now: float, limit: int = 200) -> dict[str, int]:
        """Send what is due at `now` and wait for it (concurrently, each delivery under
        the deadline); returns how many were sent, retried, given up."""
        due = self._claim(now, limit)
        results: list[Result] = []
        try:
            if due:
                results = complete(self._round(now, due))
                self._record(results)
        finally:
            self._release([row[0] for row in due])
        summary = {"delivered": 0, "retry": 0, "failed": 0}
        for r in results:
            summary[r[1]] += 1
        return summary

    def run(self, stop: threading.Event, now: Callable[[], float], every_s: float = 1.0) -> None:
        """The deliverer thread: every `every_s`, start what is due without waiting for
        what is still in flight; each result is recorded as soon as it is known."""
        complete(self._run(stop, now, every_s))

    async def _run(self, stop: threading.Event, now: Callable[[], float], every_s: float) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        async with self._client() as http:
            while not stop.is_set():
                try:
                    due = await asyncio.to_thread(self._claim, now(), 200)
                except Exception:
                    log.exception("webhook outbox could not be read")
                    due = []
                for row in due:
                    task = asyncio.create_task(self._one(http, gate, now, row))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(every_s)
            for task in list(tasks):  # still pending in the outbox: sent after a restart
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(
        self,
        http: httpx.AsyncClient,
        gate: asyncio.Semaphore,
        now: Callable[[], float],
        row: tuple[Any, ...],
    ) -> None:
        try:
            async with gate:
                result = await self._send(http, now(), *row)
            await asyncio.to_thread(self._record, [result])
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", row[0])
        finally:
            self._release([row[0]])

    async def _round(self, now: float, due: list[tuple[Any, ...]]) -> list[Result]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(http: httpx.AsyncClient, row: tuple[Any, ...]) -> Result:
            async with gate:
                return await self._send(http, now, *row)

        async with self._client() as http:
            return list(await asyncio.gather(*(one(http, row) for row in due)))

    def _client(self) -> httpx.AsyncClient:
        # No kept-alive connections: requests are pinned to addresses, and a connection
        # opened (TLS name included) for one host must not carry another host's delivery.
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=0)
        return httpx.AsyncClient(timeout=self.deadline_s, follow_redirects=False, limits=limits)

    def _claim(self, now: float, limit: int) -> list[tuple[Any, ...]]:
        """Due deliveries no sender holds yet, now held by the caller."""
        with self._lock:
            rows = self.store.query(
                "SELECT d.id, d.body, d.event_type, d.attempts, w.url, w.secret, w.format "
                "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
                "WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.id "
                "LIMIT ?",
                [now, limit + len(self._inflight)],
            )
            due = [r for r in rows if r[0] not in self._inflight][:limit]
            self._inflight.update(r[0] for r in due)
            return due

    def _release(self, ids: list[str]) -> None:
        with self._lock:
            self._inflight.difference_update(ids)

    async def _send(
        self,
        http: httpx.AsyncClient,
        now: float,
        did: str,
        body: str,
        kind: str,
        attempts: int,
        url: str,
        secret: str,
        fmt: str = "json",
    ) -> Result:
        if fmt == "apprise":
            return await self._notify(now, did, body, attempts, url)
        data = body.encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "outagewatch-webhooks/1",
            "outagewatch-event": kind,
            "outagewatch-delivery": did,
            "outagewatch-signature": sign(secret, int(now), data),
        }
        error: str | None = None
        try:
            status = await asyncio.wait_for(self._post(http, url, data, headers), self.deadline_s)
            if 200 <= status < 300:
                return did, "delivered", attempts + 1, now, None
            error = f"HTTP {status}"
        except TargetRefused as exc:
            error = f"refused: {exc}"[:300]
        except TimeoutError:
            error = f"no complete answer within {self.deadline_s:g} s"
        except Exception as exc:  # HTTPError, InvalidURL, ...: this delivery's, no one else's
            error = f"{type(exc).__name__}: {exc}"[:300]
        return unsent(did, attempts, now, error)

    async def _notify(self, now: float, did: str, body: str, attempts: int, url: str) -> Result:
        """A person's notification through Apprise (app/notify.py), same outbox rules."""
        from outagewatch.app import notify

        error: str | None = None
        try:
            sent = await asyncio.wait_for(
                notify.send(url, body, self.allow_private), self.deadline_s
            )
            if sent:
                return did, "delivered", attempts + 1, now, None
            error = "the notification service did not take it"
        except TargetRefused as exc:
            error = f"refused: {exc}"[:300]
        except TimeoutError:
            error = f"not sent within {self.deadline_s:g} s"
        except Exception as exc:  # this delivery's, no one else's
            error = f"{type(exc).__name__}: {exc}"[:300]
        return unsent(did, attempts, now, error)

    async def _post(
        self, http: httpx.AsyncClient, url: str, data: bytes, headers: dict[str, str]
    ) -> int:
        """Check the target again (names can change), POST, and return the status
        once the status line and headers are in; the body is not read."""
        target = await check_target(url, self.allow_private, must_resolve=True)
        if target.host_header is not None:
            headers = {**headers, "host": target.host_header}
        extensions = {"sni_hostname": target.sni} if target.sni else None
        request = http.build_request(
            "POST", target.url, content=data, headers=headers, extensions=extensions
        )
        response = await http.send(request, stream=True)
        await response.aclose()
        return response.status_code

    def _record(self, results: list[Result]) -> None:
        for did, status, attempts, next_at, error in results:
            if status != "delivered":  # one line per failed attempt, for operators
                delivery_log.warning(
                    "webhook delivery %s %s: %s",
                    did,
                    "failed for good" if status == "failed" else "failed, will retry",
                    error,
                    extra={
                        "event": "delivery.failed",
                        "delivery": did,
                        "webhook": did.split(":", 1)[0],
                        "attempts": attempts,
                        "final": status == "failed",
                        "retry_at": None if status == "failed" else next_at,
                        "error": error,
                    },
                )
        df = pl.DataFrame(
            {
                "id": [r[0] for r in results],
                "status": ["pending" if r[1] == "retry" else r[1] for r in results],
                "attempts": [r[2] for r in results],
                "next_at": [r[3] for r in results],
                "last_error": [r[4] for r in results],
            },
            schema={
                "id": pl.String,
                "status": pl.String,
                "attempts": pl.Int32,
                "next_at": pl.Float64,
                "last_error": pl.String,
            },
        )
        self.store.update_from("deliveries", df, key="id")

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        rows = self.store.query(
            "SELECT id, event_id, event_type, attempts, status, next_at, last_error "
            "FROM deliveries WHERE webhook_id = ? ORDER BY event_id",
            [webhook_id],
        )
        keys = ("id", "event_id", "event", "attempts", "status", "next_at", "last_error")
        return [dict(zip(keys, r, strict=True)) for r in rows]
