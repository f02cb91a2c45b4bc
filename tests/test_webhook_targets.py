"""Webhook targets and delivery through the real app: internal addresses refused
(when subscribing and again when delivering), one total deadline per delivery, and
deliveries concurrent so a receiver that trickles bytes holds nobody else up."""

from __future__ import annotations

import http.server
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, running, surge, tick_to, warm_up
from tests.receivers import served
from tests.test_live_faces import Receiver

KEY = {"authorization": f"Bearer {API_KEY}"}
INSIDE = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://0.0.0.0:8000/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f000001/",  # ... in hex
    "http://127.1/",  # ... shortened
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::]/",
    "http://10.1.2.3/",
    "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://100.64.0.1/",  # carrier-grade NAT, not public
]


@pytest.mark.parametrize("url", INSIDE)
def test_internal_targets_are_refused_when_subscribing(clock: ManualClock, url: str) -> None:
    with running(clock) as (_, client):
        resp = client.post("/v1/webhooks", json={"url": url}, headers=KEY)
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert error["code"] == "internal_target" and error["field"] == "url"
        assert "OUTAGEWATCH_WEBHOOK_ALLOW_PRIVATE=true" in error["message"]
        assert client.get("/v1/webhooks", headers=KEY).json()["webhooks"] == []


def test_public_targets_and_the_opt_in(clock: ManualClock) -> None:
    with running(clock) as (_, client):
        public = client.post("/v1/webhooks", json={"url": "http://93.184.215.14/h"}, headers=KEY)
        assert public.status_code == 201, public.text
        bad = client.post("/v1/webhooks", json={"url": "http://x:99999/"}, headers=KEY)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_url"
    with running(clock, webhook_allow_private=True) as (_, client):
        for url in ("http://127.0.0.1:8000/hook", "http://[::1]/hook", "http://10.1.2.3/"):
            assert client.post("/v1/webhooks", json={"url": url}, headers=KEY).status_code == 201


def test_targets_are_checked_again_when_delivering(clock: ManualClock, tmp_path: Path) -> None:
    """Subscribed while internal receivers were allowed; the setting is then turned off:
    nothing reaches the receiver, and the delivery log says why."""
    data = tmp_path / "data"
    with Receiver(failures=0).running() as rx:
        with running(clock, data, webhook_allow_private=True) as (app, client):
            hook = client.post("/v1/webhooks", json={"url": rx.url}, headers=KEY).json()
            warm_up(app, client, clock)
            surge(client, clock)
            tick_to(app, clock, clock.now() + 120)
        with running(clock, data) as (app, client):
            sent = app.runtime.deliver()
            assert sent["retry"] >= 1 and sent["delivered"] == 0
            assert rx.requests == []
            log = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=KEY).json()
            errors = {d["last_error"] for d in log["deliveries"]}
            assert errors and all("refused" in e and "loopback" in e for e in errors), errors


class Trickler:
    """A receiver that reads the request, then answers one byte every 0.2 s and never
    finishes its headers: under a per-read timeout it would hold a sender forever."""

    def __init__(self) -> None:
        self.connections = 0
        self.stop = threading.Event()
        trickler = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                trickler.connections += 1
                sock: socket.socket = self.request
                sock.settimeout(5)
                seen = b""
                while b"\r\n\r\n" not in seen:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    seen += chunk
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 10_000:
                    if trickler.stop.wait(0.2):
                        return
                    try:
                        sock.sendall(bytes([byte]))
                    except OSError:
                        return

        socketserver.ThreadingTCPServer.daemon_threads = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow"

    @contextmanager
    def running(self) -> Iterator[Trickler]:
        with served(self.server):
            try:
                yield self
            finally:
                self.stop.set()  # the trickling handlers end before the server does


class Quick:
    """A receiver that answers at once and says which events it got, as they come."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.changed = threading.Condition()
        quick = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                self.send_response(200)
                self.end_headers()
                with quick.changed:
                    quick.events.append(self.headers["outagewatch-event"])
                    quick.changed.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/quick"

    def wait_for(self, kind: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: kind in self.events, timeout)

    @contextmanager
    def running(self) -> Iterator[Quick]:
        with served(self.server):
            yield self


def test_a_trickling_receiver_holds_up_nobody_and_meets_its_deadline(
    clock: ManualClock,
) -> None:
    deadline = 2.0
    with (
        Trickler().running() as slow,
        Quick().running() as quick,
        running(clock, webhook_allow_private=True, webhook_deadline_s=deadline) as (app, client),
    ):
        # The slow receiver subscribed first: in order, it would be served first.
        slow_hook = client.post("/v1/webhooks", json={"url": slow.url}, headers=KEY).json()
        client.post("/v1/webhooks", json={"url": quick.url}, headers=KEY)
        warm_up(app, client, clock)
        surge(client, clock)
        tick_to(app, clock, clock.now() + 120)

        summary: dict[str, int] = {}
        started = time.monotonic()
        delivering = threading.Thread(target=lambda: summary.update(app.runtime.deliver()))
        delivering.start()
        assert quick.wait_for("opened", timeout=deadline * 0.75)  # not behind the slow one
        assert delivering.is_alive()  # the slow deliveries were still trickling meanwhile
        delivering.join(timeout=deadline + 10)
        assert not delivering.is_alive()
        elapsed = time.monotonic() - started
        assert elapsed < deadline + 3  # one total deadline, not a timeout per byte read
        assert slow.connections >= 1
        assert summary["delivered"] == quick.events.count("opened") >= 1
        assert summary["retry"] == summary["delivered"]  # each slow one, retried later
        log = client.get(f"/v1/webhooks/{slow_hook['id']}/deliveries", headers=KEY).json()
        assert all(
            d["status"] == "pending"
            and d["last_error"] == f"no complete answer within {deadline:g} s"
            for d in log["deliveries"]
        )


def test_the_deliverer_does_not_wait_for_a_slow_receiver_between_rounds(
    clock: ManualClock,
) -> None:
    """The running deliverer: while the slow receiver's deliveries are still in flight,
    a later event reaches the quick receiver at once."""
    settings = {"webhook_allow_private": True, "webhook_deadline_s": 60.0}
    with (
        Trickler().running() as slow,
        Quick().running() as quick,
        running(clock, **settings) as (app, client),
    ):
        client.post("/v1/webhooks", json={"url": slow.url}, headers=KEY)
        client.post("/v1/webhooks", json={"url": quick.url}, headers=KEY)
        warm_up(app, client, clock)
        stop = threading.Event()
        loop = threading.Thread(target=app.runtime.webhooks.run, args=(stop, clock.now, 0.05))
        loop.start()
        try:
            surge(client, clock)
            tick_to(app, clock, clock.now() + 120)
            assert quick.wait_for("opened", timeout=5)
            tick_to(app, clock, clock.now() + 45 * 60)  # the incidents resolve
            assert quick.wait_for("resolved", timeout=5)
            assert slow.connections >= 2  # its deliveries went out too, and still trickle
        finally:
            stop.set()
            loop.join(timeout=10)
        assert not loop.is_alive()
