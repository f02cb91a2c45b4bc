"""Connections and bodies against a real uvicorn server, over raw sockets: slow
headers and bodies are cut off, oversized bodies refused while they are read, and
idle connections cannot lock other clients out.

Every wait is bounded by a socket timeout; nothing here sleeps to make a point."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import orjson
import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, serving, settings

WAIT = 10.0  # the longest any answer may take here


@contextmanager
def server(clock: ManualClock, **changes: Any) -> Iterator[tuple[str, int]]:
    app = create_app(settings(**changes), clock)
    with serving(app) as base:
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def connect(addr: tuple[str, int], source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(addr, timeout=WAIT, source_address=(source, 0))
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one answer; the read is bounded by WAIT."""
    sock.settimeout(WAIT)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed mid-answer"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed(sock: socket.socket) -> bool:
    sock.settimeout(WAIT)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def error_code(body: bytes) -> str:
    code: str = orjson.loads(body)["error"]["code"]
    return code


def test_slow_headers_are_cut_off_with_408(clock: ManualClock) -> None:
    with server(clock, header_timeout_s=0.5) as addr:
        slow = connect(addr)
        slow.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-")  # then nothing
        idle = connect(addr)  # sends nothing at all
        started = time.monotonic()
        for sock in (slow, idle):
            status, headers, body = read_answer(sock)
            assert status == 408 and error_code(body) == "header_timeout"
            assert headers["content-type"] == "application/json"
            assert closed(sock)
        assert time.monotonic() - started < WAIT
        # A client that keeps its connection after an answer gets the same deadline.
        kept = connect(addr)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answer(kept)[0] == 200
        kept.sendall(b"GET /healthz HTTP/1.1\r\n")  # a second request, never finished
        assert read_answer(kept)[0] == 408
        for sock in (slow, idle, kept):
            sock.close()


def test_the_header_deadline_runs_from_the_last_answer(clock: ManualClock) -> None:
    """A connection's deadline timer is re-armed lazily: an answer moves the deadline,
    and the timer set for the first request must wait for the moved one."""
    timeout = 1.0
    with server(clock, header_timeout_s=timeout) as addr, connect(addr) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answer(sock)[0] == 200
        # Quiet for most of the deadline: nothing may arrive, no 408 yet.
        assert select.select([sock], [], [], 0.6 * timeout)[0] == []
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_answer(sock)[0] == 200
        answered = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # never finished
        status, _, body = read_answer(sock)
        late = time.monotonic()
        assert status == 408 and error_code(body) == "header_timeout"
        # Cut off a deadline after the second answer, not after the first request.
        assert late - answered >= 0.9 * timeout
        assert late - started >= 1.5 * timeout
        assert closed(sock)


@pytest.mark.parametrize("path", ["/v1/reports", "/s/aws/report", "/v1/webhooks"])
def test_a_slow_body_is_cut_off_with_408(clock: ManualClock, path: str) -> None:
    with server(clock, body_timeout_s=0.5) as addr, connect(addr) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            f"Authorization: Bearer {API_KEY}\r\n"
            "Content-Type: application/json\r\n\r\n{".encode()
        )
        status, headers, body = read_answer(sock)  # the other 99 bytes never come
        assert status == 408, body
        assert error_code(body) == "body_timeout" and headers["connection"] == "close"
        assert closed(sock)


def _stream_until_answered(addr: tuple[str, int], path: str) -> tuple[int, bytes, int]:
    """POST a chunked body of up to 64 MB in 16 KB chunks, looking for an answer
    before each chunk; (status, body, bytes sent before the answer came)."""
    chunk = b"problem=" + b"x" * (16 << 10)
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with connect(addr) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"Authorization: Bearer {API_KEY}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
        )
        sent = 0
        for _ in range((64 << 20) // len(chunk)):
            readable, _, _ = select.select([sock], [], [], 0.02)
            if readable:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        status, _, body = read_answer(sock)
        return status, body, sent


@pytest.mark.parametrize(
    "path, cap", [("/s/aws/report", 4096), ("/v1/reports", 4096), ("/v1/webhooks", 64 << 10)]
)
def test_an_oversized_streamed_body_gets_413_while_it_is_read(
    clock: ManualClock, path: str, cap: int
) -> None:
    with server(clock) as addr:
        status, body, sent = _stream_until_answered(addr, path)
        assert status == 413 and error_code(body) == "body_too_large", body
        assert str(cap) in orjson.loads(body)["error"]["message"]
        # Answered after a few chunks of the 64 MB: the server stopped reading at its cap.
        assert sent < 2 << 20, sent

        with connect(addr) as sock:  # a declared length past the cap: not read at all
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n\r\n".encode()
            )
            status, _, body = read_answer(sock)
            assert status == 413 and error_code(body) == "body_too_large"


def test_idle_connections_cannot_lock_others_out(clock: ManualClock) -> None:
    with (
        server(clock, max_connections_per_address=100, header_timeout_s=30) as addr,
        ExitStack() as stack,
    ):
        # One client (127.0.0.2) opens 1,000 connections and sends nothing.
        held, refused = [], 0
        for _ in range(1000):
            sock = stack.enter_context(connect(addr, source="127.0.0.2"))
            held.append(sock)
        # Its 101st and later are answered 429 and closed at once, freeing the slot.
        for sock in held[100:]:
            status, headers, body = read_answer(sock)
            assert status == 429 and error_code(body) == "too_many_connections"
            assert "retry-after" in headers
            refused += 1
        assert refused == 900
        # Everyone else is served meanwhile.
        base = f"http://{addr[0]}:{addr[1]}"
        with httpx.Client(base_url=base, timeout=WAIT) as other:
            assert other.get("/healthz").status_code == 200
            assert other.get("/v1/outages").status_code == 200
            ok = other.post("/v1/reports", json={"service": "aws", "reporter": "r1"})
            assert ok.status_code == 202


def test_past_max_connections_a_new_one_gets_503_until_idle_ones_time_out(
    clock: ManualClock,
) -> None:
    with (
        server(
            clock, max_connections=50, max_connections_per_address=0, header_timeout_s=1.0
        ) as addr,
        ExitStack() as stack,
    ):
        idle = [stack.enter_context(connect(addr, source="127.0.0.2")) for _ in range(50)]
        with connect(addr) as extra:
            status, headers, body = read_answer(extra)
            assert status == 503 and error_code(body) == "too_many_connections"
            assert headers["retry-after"]
        for sock in idle:  # the header deadline closes every idle connection ...
            assert read_answer(sock)[0] == 408
        base = f"http://{addr[0]}:{addr[1]}"
        with httpx.Client(base_url=base, timeout=WAIT) as other:  # ... and others get in
            assert other.get("/healthz").status_code == 200
