"""Webhooks: subscriptions, a durable outbox, signed deliveries with retries.

Every incident event that matches a subscription (a service, a region, or all)
becomes a row in the `deliveries` outbox in DuckDB before anything is sent, so a
restart loses none. A deliverer sends what is due, signs the body with
HMAC-SHA256 over `"{timestamp}.{body}"` (header `Outagewatch-Signature:
t=<ts>,v1=<hex>`), and on failure retries with exponential backoff until
`MAX_ATTEMPTS`. Time comes in as an argument: tests drive `deliver_due(now)`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import polars as pl

from app.events import Event
from ingest.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS webhooks (
    id VARCHAR PRIMARY KEY,
    url VARCHAR NOT NULL,
    service VARCHAR,
    region VARCHAR,
    format VARCHAR NOT NULL,
    secret VARCHAR NOT NULL,
    created_at DOUBLE NOT NULL,
    active BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id VARCHAR PRIMARY KEY,
    webhook_id VARCHAR NOT NULL,
    event_id BIGINT NOT NULL,
    event_type VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    next_at DOUBLE NOT NULL,
    status VARCHAR NOT NULL,
    last_error VARCHAR
);
"""
MAX_ATTEMPTS = 8
BASE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
FORMATS = ("json", "slack")


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


def payload(fmt: str, event: Event, base_url: str) -> bytes:
    inc = event.incident
    if fmt == "slack":
        where = f" ({inc['region']})" if inc.get("region") else ""
        icon = {"opened": ":rotating_light:", "escalated": ":red_circle:"}.get(
            event.type, ":white_check_mark:"
        )
        text = (
            f"{icon} {inc['service']}{where}: {inc['level']} {event.type} "
            f"({inc['total_reports']} reports) {base_url}/s/{inc['service']}"
        )
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

    def matches(self, incident: dict[str, Any]) -> bool:
        if self.service is not None and incident["service"] != self.service:
            return False
        return self.region is None or incident["region"] == self.region

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "service": self.service,
            "region": self.region,
            "format": self.format,
        }


class Webhooks:
    def __init__(self, store: Store, base_url: str = "", timeout_s: float = 5.0) -> None:
        self.store = store
        self.base_url = base_url
        store.write(DDL)
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._lock = threading.Lock()  # one delivery round at a time

    def close(self) -> None:
        self._http.close()

    # --- subscriptions ------------------------------------------------------------------
    def subscribe(
        self, url: str, service: str | None, region: str | None, fmt: str, now: float
    ) -> Subscription:
        sub = Subscription(
            id="wh_" + secrets.token_hex(8),
            url=url,
            service=service,
            region=region,
            format=fmt,
            secret=secrets.token_urlsafe(24),
        )
        self.store.append(
            "webhooks",
            pl.DataFrame(
                [[sub.id, url, service, region, fmt, sub.secret, now, True]],
                schema={
                    "id": pl.String,
                    "url": pl.String,
                    "service": pl.String,
                    "region": pl.String,
                    "format": pl.String,
                    "secret": pl.String,
                    "created_at": pl.Float64,
                    "active": pl.Boolean,
                },
                orient="row",
            ),
        )
        return sub

    def subscriptions(self) -> list[Subscription]:
        rows = self.store.query(
            "SELECT id, url, service, region, format, secret FROM webhooks WHERE active "
            "ORDER BY created_at, id"
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
        """Called with new events (writer thread): one outbox row per matching webhook."""
        subs = self.subscriptions()
        rows = [
            (f"{s.id}:{e.id}", s.id, e.id, e.type, payload(s.format, e, self.base_url).decode())
            for e in events
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
        """Send what is due at `now`; returns how many were sent, retried, given up."""
        with self._lock:
            due = self.store.query(
                "SELECT d.id, d.body, d.event_type, d.attempts, w.url, w.secret "
                "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
                "WHERE d.status = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.id "
                "LIMIT ?",
                [now, limit],
            )
            results = [self._send(now, *row) for row in due]
            if results:
                self._record(results)
        summary = {"delivered": 0, "retry": 0, "failed": 0}
        for r in results:
            summary[r[1]] += 1
        return summary

    def _send(
        self, now: float, did: str, body: str, kind: str, attempts: int, url: str, secret: str
    ) -> tuple[str, str, int, float, str | None]:
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
            resp = self._http.post(url, content=data, headers=headers)
            if 200 <= resp.status_code < 300:
                return did, "delivered", attempts + 1, now, None
            error = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        attempts += 1
        if attempts >= MAX_ATTEMPTS:
            return did, "failed", attempts, now, error
        return did, "retry", attempts, now + backoff(attempts), error

    def _record(self, results: list[tuple[str, str, int, float, str | None]]) -> None:
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
