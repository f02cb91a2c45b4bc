"""What durable acknowledgement costs: the full intake in-process (no network), 64
requests in flight, without a log, with the log but no fsync, and with fsync per group.

    .venv/bin/python -m benchmarks.wal_bench [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from outagewatch.app.main import create_app
from outagewatch.app.settings import Settings


async def drive(app: Any, n: int, inflight: int = 64) -> float:
    bodies = [
        orjson.dumps({"service": f"svc{i % 500}", "region": "IT", "reporter": f"t{i}"})
        for i in range(n)
    ]
    headers = [(b"content-type", b"application/json"), (b"user-agent", b"bench")]
    sem = asyncio.Semaphore(inflight)

    async def one(body: bytes) -> None:
        async with sem:
            msgs = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive() -> dict[str, Any]:
                return msgs.pop()

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    assert message["status"] == 202, message

            scope = {"type": "http", "method": "POST", "path": "/v1/reports",
                     "headers": headers, "client": ("127.0.0.1", 1)}  # fmt: skip
            await app(scope, receive, send)

    start = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    return n / (time.perf_counter() - start)


def run(settings: Settings, n: int) -> float:
    app = create_app(settings)
    try:
        return asyncio.run(drive(app, n))
    finally:
        app.runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    base = {
        "tick_interval_s": 0,
        "rate_address_per_s": 1e9,
        "rate_address_burst": 1e9,
        "prefix_cap": 0,
        "accept_unknown_services": True,  # svcN are not in the seed catalog
        "new_services_per_hour": 1_000_000,
    }
    results = {"no log (in memory)": run(Settings(data=None, **base), args.requests)}
    for group_ms in (2.0, 0.5, 0.0):
        with tempfile.TemporaryDirectory() as tmp:
            s = Settings(data=Path(tmp) / "a", wal_group_ms=group_ms, **base)
            results[f"log + fsync per group, wal_group_ms={group_ms:g}"] = run(s, args.requests)
    for name, rate in results.items():
        print(f"| {name} | {rate:,.0f} reports/s |")


if __name__ == "__main__":
    main()
