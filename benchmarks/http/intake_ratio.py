"""POST /v1/reports against the bare ASGI handler, alternated in one run.

    .venv/bin/python -m benchmarks.http.intake_ratio [--rounds 5] [--duration 5]

The machine is shared and noisy, so one pair of figures says little: each round
measures the bare handler and then the real server (a fresh data directory, the same
settings as benchmarks/http/run.py), back to back, and the ratio of each round is
kept. Prints min / median / max of the ratio; results in benchmarks/out/intake_ratio.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import orjson

from benchmarks.http.run import OUT, REAL_ENV, bare_server, free_port, real_server, server, wrk


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
        with server(bare_server(port), port) as base:
            bare = wrk(base, "post_report.lua", d, c)
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            with server(real_server(port, tmp), port, REAL_ENV) as base:
                real = wrk(base, "post_report.lua", d, c)
        ratio = real["rps"] / bare["rps"]
        rounds.append({"bare": bare, "real": real, "ratio": ratio})
        print(
            f"round {i + 1}: bare {bare['rps']:,.0f}/s, ours {real['rps']:,.0f}/s "
            f"(p99 {real['p99_ms']:.1f} ms, {real['errors']:.0f} errors): {ratio:.2f}x",
            flush=True,
        )
    ratios = [r["ratio"] for r in rounds]
    summary = {"min": min(ratios), "median": statistics.median(ratios), "max": max(ratios)}
    print("ratio min / median / max: " + " / ".join(f"{v:.2f}x" for v in summary.values()))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "intake_ratio.json").write_bytes(
        orjson.dumps({"rounds": rounds, "ratio": summary}, option=orjson.OPT_INDENT_2)
    )


if __name__ == "__main__":
    main()
