"""POST /v1/reports against the bare ASGI handler, alternated in one run.

    .venv/bin/python -m benchmarks.http.intake_ratio [--rounds 5] [--duration 5]

The machine is shared and noisy, so one pair of figures says little: each round
measures the bare handler and then the real server (a fresh data directory, the same
settings as benchmarks/http/run.py), back to back, and the ratio of each round is
kept. Requests per second move with whatever else the machine runs; the server's CPU
time per request (all its threads, from /proc) moves much less, so each round also
gives that ratio (bare CPU per request / ours): what the throughput ratio would be on a
core of its own, as long as the server is bound by its CPU. Prints min / median / max
of both; results in benchmarks/out/intake_ratio.json.

Each round also runs a third server between the two: the bare handler plus the real
server's write-ahead log (benchmarks/http/bare_logged_asgi.py: fsync per group, 202
once on disk). Its CPU per request splits our gap in two: what durability costs any
handler, and what our rules and guards add to it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from typing import Any

import orjson

from benchmarks.http.run import (
    OUT,
    REAL_ENV,
    bare_logged_server,
    bare_server,
    free_port,
    real_server,
    served,
    wrk,
)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(cmd: list[str], port: int, env: dict[str, str] | None, d: int, c: int) -> Any:
    """wrk against the server, with its CPU time per request (after a 1 s warm-up)."""
    with served(cmd, port, env) as (base, proc):
        wrk(base, "post_report.lua", 1, c)
        before = cpu_seconds(proc.pid)
        result = wrk(base, "post_report.lua", d, c)
        result["cpu_us_per_request"] = (cpu_seconds(proc.pid) - before) * 1e6 / result["requests"]
    return result


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def show(name: str, values: dict[str, float], fmt: Callable[[float], str]) -> None:
    print(f"{name} min / median / max: " + " / ".join(fmt(v) for v in values.values()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    d, c = args.duration, args.connections
    rounds = []
    for i in range(args.rounds):
        port = free_port()
        bare = measure(bare_server(port), port, None, d, c)
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            logged = measure(bare_logged_server(port), port, {"BENCH_WAL_DIR": tmp}, d, c)
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            real = measure(real_server(port, tmp), port, REAL_ENV, d, c)
        ratio = real["rps"] / bare["rps"]
        cpu_ratio = bare["cpu_us_per_request"] / real["cpu_us_per_request"]
        logged_ratio = bare["cpu_us_per_request"] / logged["cpu_us_per_request"]
        rounds.append(
            {"bare": bare, "bare_logged": logged, "real": real, "ratio": ratio,
             "cpu_ratio": cpu_ratio, "bare_logged_cpu_ratio": logged_ratio}
        )  # fmt: skip
        print(
            f"round {i + 1}: bare {bare['rps']:,.0f}/s {bare['cpu_us_per_request']:.0f} us, "
            f"bare + log {logged['rps']:,.0f}/s {logged['cpu_us_per_request']:.0f} us "
            f"(CPU {logged_ratio:.2f}x), "
            f"ours {real['rps']:,.0f}/s {real['cpu_us_per_request']:.0f} us "
            f"(p99 {real['p99_ms']:.1f} ms, {real['errors']:.0f} errors): "
            f"{ratio:.2f}x, CPU {cpu_ratio:.2f}x",
            flush=True,
        )
    summary = {
        "ratio": spread([r["ratio"] for r in rounds]),
        "cpu_ratio": spread([r["cpu_ratio"] for r in rounds]),
        "bare_logged_cpu_ratio": spread([r["bare_logged_cpu_ratio"] for r in rounds]),
        "bare_cpu_us": spread([r["bare"]["cpu_us_per_request"] for r in rounds]),
        "bare_logged_cpu_us": spread([r["bare_logged"]["cpu_us_per_request"] for r in rounds]),
        "real_cpu_us": spread([r["real"]["cpu_us_per_request"] for r in rounds]),
    }
    show("requests/s ratio", summary["ratio"], lambda v: f"{v:.2f}x")
    show("CPU ratio", summary["cpu_ratio"], lambda v: f"{v:.2f}x")
    show("bare + log CPU ratio", summary["bare_logged_cpu_ratio"], lambda v: f"{v:.2f}x")
    show("bare CPU per request", summary["bare_cpu_us"], lambda v: f"{v:.0f} us")
    show("bare + log CPU per request", summary["bare_logged_cpu_us"], lambda v: f"{v:.0f} us")
    show("our CPU per request", summary["real_cpu_us"], lambda v: f"{v:.0f} us")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "intake_ratio.json").write_bytes(
        orjson.dumps({"rounds": rounds, **summary}, option=orjson.OPT_INDENT_2)
    )


if __name__ == "__main__":
    main()
