"""Seed a fresh server with a day of ordinary reports through the bulk import, so the
detector is past its one-day warm-up before a surge run (a fresh install alarms on
nothing until it has seen a day).

    OUTAGEWATCH_API_KEYS=load ... outagewatch serve --port 8765 --data /tmp/loaddata
    .venv/bin/python load_tests/warm_up.py http://127.0.0.1:8765 load

aws gets a report every 2 minutes, svc-00001..svc-00199 about one every 10 minutes.
"""

from __future__ import annotations

import random
import sys
import time

import httpx
import orjson


def main() -> None:
    base, key = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "load"
    now = time.time()
    start = now - 86400 - 600
    rng = random.Random(1)
    rows = []
    for m in range(1450):
        t = start + m * 60
        if m % 2 == 0:
            rows.append(
                {"ts": t + rng.uniform(0, 60), "service": "aws", "region": "US",
                 "reporter": f"w-aws-{m}"}
            )  # fmt: skip
        for s in range(1, 200):
            if rng.random() < 0.1:
                rows.append(
                    {"ts": t + rng.uniform(0, 60), "service": f"svc-{s:05d}", "region": "US",
                     "reporter": f"w{s}-{m}"}
                )  # fmt: skip
    rows = sorted((r for r in rows if r["ts"] < now - 5), key=lambda r: r["ts"])
    body = b"\n".join(orjson.dumps(r) for r in rows)
    resp = httpx.post(
        base + "/v1/import",
        content=body,
        headers={"x-api-key": key, "content-type": "application/x-ndjson"},
        timeout=120,
    )
    print(resp.status_code, resp.text)
    resp.raise_for_status()


if __name__ == "__main__":
    main()
