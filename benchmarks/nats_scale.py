"""Measure the scale-out path on this machine: intake publishes and worker apply rate.

    .venv/bin/python -m benchmarks.nats_scale [--reports 60000]

Starts a local 3-node cluster (R3). Intake: N reports through IntakeNode.handle
(validation, hashing, dedup, JetStream publish awaiting the PubAck), with C requests
in flight, for 1 and 2 nodes in this one process. Workers: `outagewatch worker`
subprocesses over 8 partitions, 1, 2 and 3 of them, timed until every consumer has
applied everything (includes ~2 s of process start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import IntakeNode
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock

T0 = 1_793_577_600.0


async def intake(urls: list[str], n: int, nodes: int, inflight: int, clock: ManualClock) -> float:
    # One client address and made-up services: the limits and catalog are for a crowd.
    settings = Settings(
        data=None, broker=",".join(urls), tick_interval_s=0, reporter_salt="s",
        rate_address_per_s=1e9, prefix_cap=0, accept_unknown_services=True,
        new_services_per_hour=100_000, new_regions_per_hour=100_000,
    )  # fmt: skip
    ns = [IntakeNode(settings, clock) for _ in range(nodes)]
    for node in ns:
        await node.start()
    bodies = [
        orjson.dumps({"service": f"svc{i % 500}", "region": "US", "reporter": f"r{i}"})
        for i in range(n)
    ]
    sem = asyncio.Semaphore(inflight)

    async def one(i: int) -> None:
        async with sem:
            clock.set(T0 + i * 3600 / n)  # an hour of stream time
            out = await ns[i % nodes].handle(bodies[i], b"application/json", "1.2.3.4", "b")
            assert out.status == 202

    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    took = time.perf_counter() - t
    await ns[0].publish_ticks()
    for node in ns:
        await node.stop()
    return n / took


async def forget_consumers(urls: list[str]) -> None:
    import nats

    nc = await nats.connect(servers=urls)
    for p in range(8):
        with contextlib.suppress(Exception):  # none yet on the first run
            await nc.jetstream().delete_consumer("REPORTS", f"p{p}")
    await nc.close()


def drain(urls: list[str], root: Path, workers: int) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.nats helpers
    from tests.nats.conftest import drained

    parts = [list(range(8))[i::workers] for i in range(workers)]
    asyncio.run(forget_consumers(urls))  # else `drained` sees the last run's cursors
    exe = str(Path(sys.executable).parent / "outagewatch")
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                exe,
                "worker",
                "--broker",
                ",".join(urls),
                "--partitions",
                ",".join(map(str, p)),
                "--data",
                str(root / f"w{workers}-{i}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, p in enumerate(parts)
    ]
    drained(urls, 8, 600)
    took = time.perf_counter() - t
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=60000)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    for nodes, inflight in ((1, 1), (1, 256), (2, 256)):
        c = LocalCluster(root / f"c{nodes}-{inflight}")
        c.start()
        try:
            n = args.reports if inflight > 1 else args.reports // 10
            rate = asyncio.run(intake(c.urls, n, nodes, inflight, ManualClock(T0)))
            print(f"intake nodes={nodes} in-flight={inflight}: {rate:,.0f} reports/s")
            if inflight > 1 and nodes == 1:
                for w in (1, 2, 3):
                    took = drain(c.urls, root, w)
                    print(f"workers={w}: {n:,} reports in {took:.1f} s = {n / took:,.0f}/s")
        finally:
            c.stop()


if __name__ == "__main__":
    main()
