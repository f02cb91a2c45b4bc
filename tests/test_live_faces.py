"""The live faces as people meet them: an SSE client on a real server, and webhooks
delivered to a real local HTTP receiver that checks signatures."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse

from outagewatch.app.main import create_app
from outagewatch.app.webhooks import verify
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running, serving, settings, surge, tick_to, warm_up
from tests.receivers import served

KEY = {"authorization": f"Bearer {API_KEY}"}
# The receivers here listen on 127.0.0.1, which webhooks refuse unless told otherwise.
INTERNAL = {"webhook_allow_private": True}


def test_sse_stream_reports_lifecycle_and_resumes(clock: ManualClock) -> None:
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        warm_up(app, client, clock)
        got: list[tuple[str, str, dict[str, Any]]] = []
        ready = threading.Event()

        def listen() -> None:
            with (
                httpx.Client(base_url=base, timeout=30) as c,
                connect_sse(
                    c, "GET", "/v1/outages/stream", params={"service": "tinyapp"}
                ) as source,
            ):
                ready.set()
                for sse in source.iter_sse():
                    got.append((sse.id, sse.event, orjson.loads(sse.data)))
                    kinds = [e[1] for e in got]
                    if kinds.count("resolved") == kinds.count("opened"):
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert ready.wait(10)
        surge(client, clock)
        tick_to(app, clock, clock.now() + 45 * 60)
        listener.join(timeout=20)
        by_incident: dict[str, list[str]] = {}
        for _, kind, inc in got:
            by_incident.setdefault(inc["id"], []).append(kind)
        assert (
            sorted(by_incident)
            == sorted(  # service-wide and the IT region
                [i for i in by_incident if i.startswith(("tinyapp--all--", "tinyapp--IT--"))]
            )
            and len(by_incident) == 2
        )
        assert all(kinds == ["opened", "resolved"] for kinds in by_incident.values())
        opened = [inc for _, kind, inc in got if kind == "opened"]
        assert all(inc["level"] == "outage" and inc["state"] == "open" for inc in opened)
        # A client that saw only the first event resumes right after it.
        with connect_sse(
            client, "GET", "/v1/outages/stream", headers={"last-event-id": got[0][0]}
        ) as source:
            first = next(iter(source.iter_sse()))
        assert (first.event, first.id) == (got[1][1], got[1][0])


class Receiver:
    """A real HTTP endpoint: fails each delivery `failures` times, records everything."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: dict[str, int] = {}
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                delivery = self.headers["outagewatch-delivery"]
                tries = receiver.seen[delivery] = receiver.seen.get(delivery, 0) + 1
                status = 500 if tries <= receiver.failures else 200
                receiver.requests.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body, status)
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        with served(self.server):
            yield self


def test_webhook_signed_retried_with_backoff_then_delivered(clock: ManualClock) -> None:
    with Receiver(failures=2).running() as rx, running(clock, **INTERNAL) as (app, client):
        resp = client.post("/v1/webhooks", json={"url": rx.url, "service": "tinyapp"}, headers=KEY)
        assert resp.status_code == 201
        hook = resp.json()
        slack = client.post(
            "/v1/webhooks", json={"url": rx.url + "/slack", "format": "slack"}, headers=KEY
        ).json()
        assert client.post("/v1/webhooks", json={"url": "ftp://x"}, headers=KEY).status_code == 422
        assert client.post("/v1/webhooks", json={"url": rx.url}).status_code == 401
        warm_up(app, client, clock)
        surge(client, clock)
        tick_to(app, clock, clock.now() + 120)

        first = app.runtime.deliver()  # every first attempt fails (500)
        assert first["retry"] >= 2 and first["delivered"] == 0
        assert app.runtime.deliver() == {"delivered": 0, "retry": 0, "failed": 0}  # not due yet
        clock.advance(60)
        app.runtime.deliver()
        clock.advance(60)
        app.runtime.deliver()
        log = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=KEY).json()
        opened = [d for d in log["deliveries"] if d["event"] == "opened"]
        assert opened and all(d["status"] == "delivered" and d["attempts"] == 3 for d in opened)
        for delivery in opened:  # every retry carries the same body
            bodies = {b for h, b, _ in rx.requests if h["outagewatch-delivery"] == delivery["id"]}
            assert len(bodies) == 1
        for headers, body, _ in rx.requests:
            secret = hook["secret"] if b'"incident"' in body else slack["secret"]
            assert verify(secret, headers["outagewatch-signature"], body, clock.now(), 600)
            assert not verify("wrong", headers["outagewatch-signature"], body, clock.now(), 600)
        assert any(b'"text"' in r[1] and b"tinyapp" in r[1] for r in rx.requests)
        assert sorted(rx.seen.values()) == [3] * len(rx.seen)


def test_pending_deliveries_survive_a_restart(clock: ManualClock, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Receiver(failures=0).running() as rx:
        with running(clock, data, **INTERNAL) as (app, client):
            client.post("/v1/webhooks", json={"url": rx.url}, headers=KEY)
            warm_up(app, client, clock)
            surge(client, clock)
            tick_to(app, clock, clock.now() + 120)
            assert rx.requests == []  # nothing sent before the restart
        with running(clock, data, **INTERNAL) as (app, client):
            sent = app.runtime.deliver()
            assert sent["delivered"] >= 1
            assert any(b'"opened"' in body for _, body, _ in rx.requests)
