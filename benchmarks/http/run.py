"""HTTP figures in one run, each beside the bare-ASGI ceiling measured the same way.

    .venv/bin/python -m benchmarks.http.run [--duration 10] [--connections 64] [--tail-seconds 65]

The server gets core 0 and the load generator core 1 (taskset), so the two do not
fight for a core. Results: a Markdown table on stdout and benchmarks/out/http.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "benchmarks" / "out"


# wrk is one client: lift the per-network limit (still checked on every request), and
# accept its made-up services (the catalog and the new-service cap still run).
REAL_ENV = {
    "OUTAGEWATCH_API_KEYS": "bench",
    "OUTAGEWATCH_RATE_ADDRESS_PER_S": "1e9",
    "OUTAGEWATCH_RATE_ADDRESS_BURST": "1e9",
    "OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "1",
    "OUTAGEWATCH_NEW_SERVICES_PER_HOUR": "1000000",
    "OUTAGEWATCH_NEW_REGIONS_PER_HOUR": "1000000",
}


def bare_server(port: int) -> list[str]:
    """The ceiling: benchmarks/http/bare_asgi.py under the same uvicorn."""
    return [str(BIN / "python"), "-m", "uvicorn", "benchmarks.http.bare_asgi:app",
            "--no-access-log", "--log-level", "warning", "--port", str(port)]  # fmt: skip


def bare_logged_server(port: int) -> list[str]:
    """The durable ceiling: the bare handler plus our write-ahead log ($BENCH_WAL_DIR)."""
    return [str(BIN / "python"), "-m", "uvicorn", "benchmarks.http.bare_logged_asgi:app",
            "--no-access-log", "--log-level", "warning", "--port", str(port)]  # fmt: skip


def real_server(port: int, data: str) -> list[str]:
    """The real server with its defaults (log with fsync, dedup, limits, catalog)."""
    return [str(BIN / "outagewatch"), "serve", "--port", str(port), "--data", data]


def pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(cmd: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    with served(cmd, port, env) as (base, _):
        yield base


@contextmanager
def served(
    cmd: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server started and answering: its base URL and its process."""
    proc = subprocess.Popen(
        pin(0) + cmd, env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/healthz", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {proc.stderr.read()!r}") from None
            time.sleep(0.1)
    try:
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wrk(
    base: str, script: str, duration: int, connections: int, env: dict[str, str] | None = None
) -> dict[str, float]:
    cmd = [
        *pin(1),
        "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
        "-s", str(HERE / "wrk" / script), base,
    ]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, float] = orjson.loads(line[len("WRKJSON ") :])
    return result


def paced(base: str, rate: float, duration: int, connections: int = 50) -> dict[str, float]:
    """Open-ish loop: each connection waits connections/rate between requests."""
    delay_ms = max(1, round(connections * 1000 / rate))
    return wrk(base, "post_report.lua", duration, connections, {"RATE_DELAY_MS": str(delay_ms)})


def bulk_import(base: str, batches: int = 20, rows: int = 10_000) -> float:
    t0 = time.time() - 3 * 86400  # a backfill of recent days (imports reach 7 days back)
    bodies = [
        b"\n".join(
            orjson.dumps(
                {
                    "ts": t0 + b * rows + i,
                    "service": f"svc{i % 500}",
                    "region": "IT",
                    "reporter": f"b{b}-{i}",
                }
            )
            for i in range(rows)
        )
        for b in range(batches)
    ]
    with httpx.Client(base_url=base, timeout=120, headers={"x-api-key": "bench"}) as c:
        start = time.perf_counter()
        for body in bodies:
            c.post("/v1/import", content=body).raise_for_status()
        return batches * rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--tail-seconds", type=int, default=65,
        help="window for the p99 figures (paced POST, feed; pages get half)",
    )  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: run scripts/install-bench-tools.sh")
    d, c = args.duration, args.connections
    results: dict[str, Any] = {"pinned": bool(pin(0)), "duration_s": d, "connections": c}
    port = free_port()
    with server(bare_server(port), port) as base:
        results["bare_post"] = wrk(base, "post_report.lua", d, c)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        with server(real_server(port, tmp), port, REAL_ENV) as base:
            real = results["real_post"] = wrk(base, "post_report.lua", d, c)
            # Tails are measured over whole minutes, so a bucket close (:10) and a
            # snapshot (:00) always fall inside the window.
            results["real_post_half_rate"] = paced(base, real["rps"] / 2, args.tail_seconds)
            results["bulk_import_reports_per_s"] = bulk_import(base)
            # Reads while ~2k reports/s come in: the poster runs in the background.
            short = max(3, d // 3)
            read_seconds = {"feed": args.tail_seconds, "page": args.tail_seconds // 2,
                            "badge": args.tail_seconds // 2, "embed": args.tail_seconds // 2,
                            "widget": short, "service": short, "services": short,
                            "home": short}  # fmt: skip
            reads = sum(read_seconds.values())
            paths = [("feed", "/v1/outages"), ("service", "/v1/services/svc-1"),
                     ("services", "/v1/services"), ("page", "/s/svc-1"),
                     ("badge", "/v1/services/svc-1/badge.svg"), ("embed", "/embed/svc-1"),
                     ("widget", "/v1/services/svc-1/widget.json"), ("home", "/")]  # fmt: skip
            # Each read's floor: the same read with nothing coming in, same server, same
            # run, between the minute's snapshot (:00) and bucket step (:10) and the next:
            # 8 reads x 6 s from :15. Each read is warmed for a second first: a page's
            # first renders (templates, the reader's language) are not its floor.
            time.sleep((15 - time.time()) % 60)
            for name, path in paths:
                wrk(base, "get.lua", 1, 4, {"GET_PATH": path})
                results[f"get_{name}_idle"] = wrk(base, "get.lua", 5, 4, {"GET_PATH": path})
            poster = subprocess.Popen(
                [*pin(1), "wrk", "-t1", "-c20", f"-d{reads + 8}s", "-s",
                 str(HERE / "wrk" / "post_report.lua"), base],
                env={**os.environ, "RATE_DELAY_MS": "10"}, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(5)  # past the first burst of new series: measure the steady state
            for name, path in paths:
                results[f"get_{name}_under_ingest"] = wrk(
                    base, "get.lua", read_seconds[name], 4, {"GET_PATH": path}
                )
            poster.wait()
    bare, real = results["bare_post"]["rps"], results["real_post"]["rps"]
    results["ratio_real_to_bare"] = real / bare
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "http.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    half = results["real_post_half_rate"]

    def read(name: str) -> str:
        ingest, idle = results[f"get_{name}_under_ingest"], results[f"get_{name}_idle"]
        return (
            f"{ingest['p99_ms']:.1f} ms ({ingest['p99_ms'] / idle['p99_ms']:.1f}x the "
            f"{idle['p99_ms']:.1f} ms of the same read idle)"
        )

    rows = [
        ("bare ASGI POST", f"{bare:,.0f}/s", "ceiling"),
        ("POST /v1/reports", f"{real:,.0f}/s ({real / bare:.2f}x bare)", ">= 0.5x bare"),
        ("POST p99 at max", f"{results['real_post']['p99_ms']:.1f} ms", ""),
        ("POST non-2xx at max", f"{results['real_post']['errors']:,.0f}", "0"),
        (f"POST p99 at {half['rps']:,.0f}/s", f"{half['p99_ms']:.1f} ms", "< 25 ms"),
        ("bulk import", f"{results['bulk_import_reports_per_s']:,.0f} reports/s", ">= 200k/s"),
        ("GET /v1/outages p99 under ingest", read("feed"), "<= 10 ms"),
        ("GET /v1/services/{s} p99 under ingest", read("service"), ""),
        ("status page /s/{s} p99 under ingest", read("page"), "<= 20 ms"),
        ("embed card /embed/{s} p99 under ingest", read("embed"), "<= 20 ms"),
        ("widget data p99 under ingest", read("widget"), "<= 20 ms"),
        ("badge p99 under ingest", read("badge"), "<= 20 ms"),
        ("home page / p99 under ingest", read("home"), ""),
    ]  # fmt: skip
    print("| figure | value | target |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
