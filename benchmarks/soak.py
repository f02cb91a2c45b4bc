"""Soak: a hostile crowd and a real one against one local server, together.

    .venv/bin/python -m benchmarks.soak [--sse 1000] [--idle 1000] [--flood-rate 300]
                                        [--max-seconds 240]

Starts `outagewatch serve` on 127.0.0.1 (loopback only, a fresh data directory,
pinned to core 0; the load runs on core 1), imports a day of quiet history for one
service, then, all at once:

- `--sse` clients hold /v1/outages/stream open (each from its own 127.1.x.y address);
- `--idle` connections send a request line and then one header line every 3 s, never
  finishing (slowloris; each from its own 127.2.x.y address); when the server cuts
  one off (408 at its header deadline) it reconnects;
- a flood of reports with a new reporter token each, `--flood-rate` a second, from
  one network (127.0.0.1 itself, no X-Forwarded-For);
- a probe reads GET /v1/outages every 20 ms from 127.0.0.3 and times it;
- after `--crowd-after` seconds, 60 people from 60 distinct networks report the
  service (through the server's trusted proxy, 127.0.0.1, with X-Forwarded-For).

It stops when the outage has been open `--after` seconds, or at `--max-seconds`
whatever happens (every loop checks one stop event; every read has a timeout), and
prints the probe's latency percentiles, when the outage opened, how many streams
saw it, what the flood got, and the limits the server logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
SERVICE = "soakapp"
KEY = "soak-key"
HOST = "127.0.0.1"


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def raise_fd_limit(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    probe_ms: list[float] = field(default_factory=list)
    probe_t: list[float] = field(default_factory=list)  # when each probe started
    server_cpu: float | None = None  # share of one core, during the load
    probe_errors: Counter[str] = field(default_factory=Counter)
    outage_at: float | None = None
    crowd_at: float | None = None
    crowd: Counter[str] = field(default_factory=Counter)
    flood: Counter[str] = field(default_factory=Counter)
    sse_open: int = 0
    sse_refused: Counter[str] = field(default_factory=Counter)
    sse_saw_opened: int = 0
    idle_held: int = 0
    idle_held_range: tuple[int, int] | None = None  # fewest, most held once all ramped
    idle_cut: Counter[str] = field(default_factory=Counter)

    def t(self) -> float:
        return time.monotonic() - self.started


# --- a minimal HTTP/1.1 client over asyncio streams ------------------------------------


async def connect(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(
        asyncio.open_connection(HOST, port, local_addr=(source, 0)), timeout=10
    )


async def read_response(reader: asyncio.StreamReader, timeout: float = 10) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
    return status, body


def request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: soak"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- the parts of the crowd -------------------------------------------------------------


async def sse_client(i: int, port: int, stop: asyncio.Event, stats: Stats) -> None:
    source = f"127.1.{i // 250}.{i % 250 + 1}"
    try:
        reader, writer = await connect(port, source)
    except (OSError, TimeoutError) as exc:
        stats.sse_refused[type(exc).__name__] += 1
        return
    try:
        writer.write(request("GET", "/v1/outages/stream"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split()[1])
        if status != 200:
            stats.sse_refused[str(status)] += 1
            return
        stats.sse_open += 1
        seen = False
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(reader.readline(), 1.0)
            except TimeoutError:
                continue
            if not line:
                stats.sse_refused["closed"] += 1
                break
            if not seen and line.startswith(b"event: opened"):
                seen = True
                stats.sse_saw_opened += 1
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        stats.sse_refused[type(exc).__name__] += 1
    finally:
        writer.close()


async def idle_client(i: int, port: int, stop: asyncio.Event, stats: Stats) -> None:
    source = f"127.2.{i // 250}.{i % 250 + 1}"
    while not stop.is_set():
        try:
            reader, writer = await connect(port, source)
        except (OSError, TimeoutError) as exc:
            stats.idle_cut["connect " + type(exc).__name__] += 1
            await asyncio.sleep(1)
            continue
        stats.idle_held += 1
        try:
            writer.write(b"GET /v1/outages HTTP/1.1\r\nHost: soak\r\n")
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(reader.read(4096), 3.0)
                    stats.idle_cut[data.split(b" ", 2)[1].decode() if data else "closed"] += 1
                    break
                writer.write(b"X-Slow: 1\r\n")
        except (OSError, asyncio.IncompleteReadError, IndexError) as exc:
            stats.idle_cut[type(exc).__name__] += 1
        finally:
            stats.idle_held -= 1
            writer.close()


async def flood(port: int, rate: float, stop: asyncio.Event, stats: Stats, conns: int = 4) -> None:
    async def one(c: int) -> None:
        reader, writer = await connect(port, HOST)
        n = 0
        interval = conns / rate
        next_at = time.monotonic()
        try:
            while not stop.is_set():
                body = orjson.dumps({"service": SERVICE, "reporter": f"flood-{c}-{n}"})
                writer.write(request("POST", "/v1/reports", body, {"User-Agent": f"bot/{n}"}))
                status, answer = await read_response(reader)
                if status == 202:
                    stats.flood["counted" if b'"counted":true' in answer else "not counted"] += 1
                else:
                    stats.flood[str(status)] += 1
                n += 1
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            stats.flood[type(exc).__name__] += 1
        finally:
            writer.close()

    await asyncio.gather(*(one(c) for c in range(conns)))


async def probe(port: int, stop: asyncio.Event, stats: Stats) -> None:
    reader, writer = await connect(port, "127.0.0.3")
    raw = request("GET", "/v1/outages")
    try:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                writer.write(raw)
                status, body = await read_response(reader, timeout=5)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                stats.probe_errors[type(exc).__name__] += 1
                writer.close()
                reader, writer = await connect(port, "127.0.0.3")
                continue
            stats.probe_ms.append((time.perf_counter() - started) * 1000)
            stats.probe_t.append(stats.t())
            if status != 200:
                stats.probe_errors[str(status)] += 1
            elif stats.outage_at is None and f'"service":"{SERVICE}"'.encode() in body:
                stats.outage_at = stats.t()
            await asyncio.sleep(0.02)
    finally:
        writer.close()


async def crowd(port: int, after: float, stop: asyncio.Event, stats: Stats) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), after)
        return
    stats.crowd_at = stats.t()
    reader, writer = await connect(port, HOST)  # the trusted proxy, forwarding 60 people
    try:
        for i in range(60):
            if stop.is_set():
                return
            body = orjson.dumps({"service": SERVICE, "problem": "login", "reporter": f"p{i}"})
            forwarded = {"X-Forwarded-For": f"198.{18 + i % 2}.{i}.7"}
            writer.write(request("POST", "/v1/reports", body, forwarded))
            status, answer = await read_response(reader)
            key = str(status) if status != 202 else ("counted" if b"true}" in answer else "not")
            stats.crowd[key] += 1
            await asyncio.sleep(0.25)
    finally:
        writer.close()


# --- the run ----------------------------------------------------------------------------


def history(now: float, hours: int = 26, per_min: float = 0.03) -> bytes:
    rng = np.random.default_rng(7)
    rows = []
    start = now - hours * 3600
    for m in range(hours * 60):
        for _ in range(rng.poisson(per_min)):
            ts = round(start + m * 60 + float(rng.uniform(0, 60)), 3)
            rows.append(
                {"ts": ts, "service": SERVICE, "region": "IT", "reporter": f"bg{len(rows)}"}
            )
    return b"\n".join(orjson.dumps(r) for r in rows)


async def setup(port: int) -> None:
    reader, writer = await connect(port, HOST)
    body = history(time.time() - 5)
    writer.write(
        request("POST", "/v1/import", body, {"Authorization": f"Bearer {KEY}"}).replace(
            b"application/json", b"application/x-ndjson"
        )
    )
    status, answer = await read_response(reader, timeout=60)
    writer.close()
    if status != 200:
        raise SystemExit(f"history import failed: {status} {answer!r}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(args: argparse.Namespace, port: int, pid: int) -> Stats:
    await setup(port)
    stats = Stats()
    cpu0 = cpu_seconds(pid)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(probe(port, stop, stats))]
    tasks += [asyncio.create_task(sse_client(i, port, stop, stats)) for i in range(args.sse)]
    tasks += [asyncio.create_task(idle_client(i, port, stop, stats)) for i in range(args.idle)]
    if args.flood_rate > 0:
        tasks.append(asyncio.create_task(flood(port, args.flood_rate, stop, stats)))
    tasks.append(asyncio.create_task(crowd(port, args.crowd_after, stop, stats)))
    deadline = time.monotonic() + args.max_seconds
    last = 0.0
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if stats.outage_at is not None and stats.t() - stats.outage_at >= args.after:
            break
        if stats.t() >= 5:
            lo, hi = stats.idle_held_range or (stats.idle_held, stats.idle_held)
            stats.idle_held_range = (min(lo, stats.idle_held), max(hi, stats.idle_held))
        if stats.t() - last >= 10:
            last = stats.t()
            print(
                f"  t={stats.t():5.0f}s sse={stats.sse_open} idle={stats.idle_held} "
                f"flood={sum(stats.flood.values())} probe={len(stats.probe_ms)} "
                f"outage_at={stats.outage_at}",
                file=sys.stderr,
            )
    stats.server_cpu = (cpu_seconds(pid) - cpu0) / stats.t()
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=15)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return stats


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sse", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--flood-rate", type=float, default=300.0, help="reports a second")
    parser.add_argument("--crowd-after", type=float, default=20.0, help="seconds")
    parser.add_argument("--after", type=float, default=10.0, help="seconds open, then stop")
    parser.add_argument("--max-seconds", type=float, default=240.0)
    args = parser.parse_args()
    fds = raise_fd_limit(args.sse + args.idle + 512)
    if fds < args.sse + args.idle + 100:
        sys.exit(f"open-file limit {fds} is too low for {args.sse} + {args.idle} connections")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="outagewatch-soak-") as tmp:
        env = {
            **os.environ,
            "OUTAGEWATCH_DATA": tmp,
            "OUTAGEWATCH_TRUSTED_PROXIES": HOST,
            "OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "true",
            "OUTAGEWATCH_API_KEYS": KEY,
            "OUTAGEWATCH_LOG_LEVEL": "warning",
        }
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [*pin(0), str(BIN / "outagewatch"), "serve", "--host", HOST, "--port", str(port)],
                env=env, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
            try:
                wait_for_server(port, server)
                if pin(1):
                    os.sched_setaffinity(0, {1})
                stats = asyncio.run(run(args, port, server.pid))
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
        limits: Counter[str] = Counter()  # log lines (one a minute per limit at most)
        for line in log_path.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                record = orjson.loads(line)
                if record.get("event") == "limit":
                    limits[record["limit"]] += 1
    report(args, stats, limits)


def wait_for_server(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped at start")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.1)
    raise SystemExit("the server did not start within 30 s")


def report(args: argparse.Namespace, s: Stats, limits: Counter[str]) -> None:
    ms = s.probe_ms
    opened = "never" if s.outage_at is None else f"{s.outage_at - (s.crowd_at or 0):.1f} s"
    errors = sum(s.probe_errors.values())
    lo, hi = s.idle_held_range or (0, 0)
    worst = max(range(len(ms)), key=ms.__getitem__, default=None)
    at = "" if worst is None else f" (max at t={s.probe_t[worst]:.1f} s)"
    ramped = [m for m, t in zip(ms, s.probe_t, strict=True) if t >= 5]
    rows = [
        ("GET /v1/outages during the soak", f"{len(ms)} requests, {errors} errors"),
        ("  p50 / p99 / max", f"{pct(ms, 50):.1f} / {pct(ms, 99):.1f} / {max(ms):.1f} ms{at}"),
        ("  p99 after the first 5 s (connections ramped)", f"{pct(ramped, 99):.1f} ms"),
        ("server CPU during the load", f"{(s.server_cpu or 0) * 100:.0f}% of one core"),
        ("SSE streams open / asked", f"{s.sse_open} / {args.sse} (ended: {dict(s.sse_refused)})"),
        ("SSE streams that saw `opened`", str(s.sse_saw_opened)),
        ("slowloris connections held (fewest-most)", f"{lo}-{hi} of {args.idle}"),
        ("slowloris connections cut off", str(dict(s.idle_cut))),
        ("flood (rotating tokens, one network)", str(dict(s.flood))),
        ("60 networks' reports (sent until the stop)", str(dict(s.crowd))),
        ("outage opened after the crowd began", opened),
        ("limit log lines from the server", str(dict(limits))),
    ]  # fmt: skip
    print(f"\nsoak: --sse {args.sse} --idle {args.idle} --flood-rate {args.flood_rate:g}\n")
    print("| | |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    if s.outage_at is None:
        sys.exit(1)


if __name__ == "__main__":
    main()
