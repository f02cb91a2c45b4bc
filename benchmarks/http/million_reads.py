"""The API's reads while the real server steps a million series.

    .venv/bin/python -m benchmarks.http.million_reads [--services 20000] [--regions 50]
        [--reports 200000] [--paths feed,page,badge,widget,embed]
        [--json benchmarks/out/million_reads.json]

The real server (`outagewatch serve`, its defaults, on core 0) on wall time:

1. floor: a few services (10 x 50 regions) imported, one minute closed; each read
   path is measured by wrk (on core 1, 4 connections) for 10 s on this small server;
2. a million series: one minute holding a report for every service x region (20,000
   x 50, plus each service's service-wide series: 1.02M series), sent by
   `POST /v1/import` in slices; the server closes that minute and steps every series;
3. then, minute after minute, `--reports` reports over random series are imported at
   the start of the minute (the ingest goes on), and one read path is measured by wrk
   over the whole minute, so each figure's window holds one step of all 1.02M series.

Printed per path: p50/p99 on the small server (the floor) and during the million, and
their ratio; the server's RSS at the end. Targets (issue 17): the reads stay under
their targets meanwhile: GET /v1/outages p99 <= 10 ms; status page, badge, embed
p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from benchmarks.http.run import OUT, REAL_ENV, free_port, real_server, served, wrk
from benchmarks.million_series import status_mb
from outagewatch.ingest.regions import REGIONS

PATHS = {  # what a reader asks for, by name; each with its target p99 (ms)
    "feed": ("/v1/outages", 10.0),
    "page": ("/s/svc00001", 20.0),
    "badge": ("/v1/services/svc00001/badge.svg", 20.0),
    "embed": ("/embed/svc00001", 20.0),
    "widget": ("/v1/services/svc00001/widget.json", 20.0),
}
SLICE = 100_000  # rows per import request


def every_series(ts: float, services: list[str], regions: list[str]) -> list[dict[str, Any]]:
    """One report per (service, region), all at `ts`."""
    return [{"ts": ts, "service": s, "region": r} for s in services for r in regions]


def post(base: str, rows: list[dict[str, Any]]) -> None:
    """Reports through `POST /v1/import`, in slices of SLICE rows."""
    with httpx.Client(base_url=base, timeout=600, headers={"x-api-key": "bench"}) as c:
        for i in range(0, len(rows), SLICE):
            c.post("/v1/import", content=orjson.dumps(rows[i : i + SLICE])).raise_for_status()


def metric(base: str, name: str) -> int:
    """One of the server's own figures, from /metrics (0 before it exists)."""
    text = httpx.get(base + "/metrics", timeout=60).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return int(float(m.group(1))) if m else 0


def series(base: str) -> int:
    return metric(base, "outagewatch_series")


def wait_for_step(base: str, after: int, timeout: float) -> None:
    """Until the detector has stepped more than `after` buckets."""
    start = time.monotonic()
    while metric(base, "outagewatch_detector_buckets_total") <= after:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"no bucket stepped after {after} in {timeout} s")
        time.sleep(1)


def wait_for_series(base: str, at_least: int, timeout: float) -> float:
    """Seconds until the server watches `at_least` series (born at their first report)."""
    start = time.monotonic()
    while series(base) < at_least:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"fewer than {at_least} series after {timeout} s")
        time.sleep(1)
    return time.monotonic() - start


def next_minute(offset: float = 1.0) -> float:
    """Sleep to `offset` seconds into the next wall-clock minute; return that minute."""
    now = time.time()
    start = (now // 60 + 1) * 60
    time.sleep(start + offset - now)
    return start


class RssWatch:
    """A process's resident memory sampled every 0.2 s on a thread of its own: the
    highest figure of each phase (VmHWM gives only the highest of all)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.phase, self.peaks = pid, "floor", {}
        self.peak_at: dict[str, float] = {}  # the second of its minute a phase peaked at
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            try:
                now = status_mb(self.pid)
            except OSError:  # the server is gone
                return
            if now > self.peaks.get(self.phase, 0.0):
                self.peaks[self.phase] = now
                self.peak_at[self.phase] = round(time.time() % 60, 1)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def run(services_n: int, regions_n: int, reports: int, paths: list[str]) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    services = [f"svc{i:05d}" for i in range(services_n)]
    regions = sorted(REGIONS)[:regions_n]
    out: dict[str, Any] = {"services": services_n, "regions": regions_n, "reports": reports}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        with served(real_server(port, tmp), port, REAL_ENV) as (base, proc):
            watch = RssWatch(proc.pid)
            minute = next_minute()
            post(base, every_series(minute + 1, services[:10], regions))
            wait_for_series(base, 10 * (regions_n + 1), 180)
            out["floor"] = {
                name: wrk(base, "get.lua", 10, 4, {"GET_PATH": PATHS[name][0]}) for name in paths
            }
            minute = next_minute()
            watch.phase = "first minute"  # its import, and the step that creates every series
            started = time.monotonic()
            post(base, every_series(minute + 1, services, regions))
            out["import_1m_s"] = time.monotonic() - started
            n = services_n * (regions_n + 1)
            out["all_watched_s"] = wait_for_series(base, n, 900) + out["import_1m_s"]
            out["series"] = series(base)
            # The step that creates every series is the first minute's, not the steady
            # state: it closes that minute's bucket, so it is the first after the minute.
            time.sleep(max(0.0, minute + 60 - time.time()))
            wait_for_step(base, metric(base, "outagewatch_detector_buckets_total"), 900)
            out["million"] = {}
            watch.phase = "steady"
            for name in paths:
                path = PATHS[name][0]
                minute = next_minute()
                picks = rng.integers(0, services_n * regions_n, reports)
                rows = [
                    {"ts": minute + 2, "service": services[p // regions_n],
                     "region": regions[p % regions_n]}
                    for p in picks.tolist()
                ]  # fmt: skip
                post(base, rows)
                # the rest of this minute and the step after it
                left = minute + 60 + 15 - time.time()
                out["million"][name] = wrk(base, "get.lua", max(30, int(left)), 4,
                                           {"GET_PATH": path})  # fmt: skip
            out["rss_mb"] = status_mb(proc.pid)
            out["peak_rss_mb"] = status_mb(proc.pid, "VmHWM")
            out["rss_peaks_mb"] = watch.stop()
            out["rss_peak_second"] = watch.peak_at
            proc.kill()  # a million series' snapshot on a clean stop is not measured here
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=20_000)
    ap.add_argument("--regions", type=int, default=50)
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--json", type=Path, default=OUT / "million_reads.json")
    ap.add_argument("--paths", default=",".join(PATHS), help=f"which reads, of {','.join(PATHS)}")
    a = ap.parse_args(argv)
    paths = a.paths.split(",")
    if unknown := set(paths) - set(PATHS):
        ap.error(f"unknown paths: {', '.join(sorted(unknown))}")
    out = run(a.services, a.regions, a.reports, paths)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))
    print(
        f"{out['series']:,} series; import of the first minute {out['import_1m_s']:.0f} s, "
        f"all series watched {out['all_watched_s']:.0f} s after it began; server RSS "
        f"{out['rss_mb']:,.0f} MB at the end, {out['peak_rss_mb']:,.0f} MB at the highest"
    )
    peaks = out["rss_peaks_mb"]
    at = out["rss_peak_second"]
    print(
        "highest RSS by phase (and the second of its minute): "
        + ", ".join(f"{k} {v:,.0f} MB (:{at.get(k, 0):04.1f})" for k, v in peaks.items())
    )
    print("| read | floor p50 / p99 | 1M series p50 / p99 | p99 ratio | target p99 |")
    print("|---|---|---|---|---|")
    for name in paths:
        (path, target), f, m = PATHS[name], out["floor"][name], out["million"][name]
        print(
            f"| {path} | {f['p50_ms']:.1f} / {f['p99_ms']:.1f} ms | {m['p50_ms']:.1f} / "
            f"{m['p99_ms']:.1f} ms ({m['requests']:,.0f} requests, {m['errors']:.0f} errors) | "
            f"{m['p99_ms'] / f['p99_ms']:.1f}x | <= {target:.0f} ms |"
        )


if __name__ == "__main__":
    main()
