"""A million live series on one box: what one bucket's step costs, and the memory.

    .venv/bin/python -m benchmarks.million_series [--services 20000] [--regions 50]
        [--buckets 6] [--reports 200000] [--surging 0] [--store] [--keep-freed]
        [--json out.json] [--keep-snapshot FILE] [--restore FILE]

20,000 services x 50 regions (plus each service's service-wide series: 1.02M series)
go through the real pipeline, the one the server and `replay` drive: a first bucket
holds one report for every series (so every series exists), then each later minute
brings `--reports` reports spread over random series (a busy minute; most series see
none, as in life), and the minute is closed with `drive` (the one driver): aggregation,
score, incidents, learning (and, with `--store`, the writes to a DuckDB file).
With `--surging N`, from the third minute the first N services get `SURGE` reports in
every region each minute as well, so that their series open incidents and the steps
carry thousands of them (an outage wave, as on the day a cloud region fails).
After the first minute the system and its series are taken as ones that have run for
a week: the series may alarm, each learns all it would (its weekly shapes and
dispersion too), and all of its state is in memory, as on a server that has run a
week (the model keeps its rings and hours slot by slot, so a series' weekly hours are
written an hour at a time over the week: here they are touched at once, outside the
timed steps). `--young` leaves the series in their first day (as this benchmark did
before the compiled step, with their weekly shapes' pages untouched).

Printed per bucket: the advance's wall and CPU seconds (the process's own CPU time,
steadier than wall time on a shared machine) and RSS. Beside them, a floor measured in
the same run: one numpy pass (`np.log1p`) over an array as long as the series, the
least a per-series step could cost; the step is given as a multiple of it.
Then the snapshot the server packs every minute (time, size, peak RSS while packing)
and a restore from it in a new process, as a restart does (its time and peak RSS;
`--restore FILE` is that process, `--keep-snapshot FILE` keeps the snapshot).
Targets (issue 17): one bucket's step <= 5 s, RSS <= 4 GB.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl

from outagewatch.app.engine import drive as drive_module
from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.ingest.batch import normalize
from outagewatch.ingest.regions import REGIONS
from outagewatch.ingest.store import Store

T0 = 1_793_577_600.0  # a Monday, 00:00 UTC
PROBLEMS = ["login", "app", "website", "payments", "connection", "other"]
SURGE = 30  # reports a minute in each region of a surging service (`--surging`)


def rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def status_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS) or at its highest (VmHWM), in MB, from
    /proc: unlike ru_maxrss, VmHWM is not inherited from the process that started it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def floor_s(n: int, repeats: int = 5) -> float:
    """One numpy pass over n float64: the least a per-series step could cost."""
    x = np.random.default_rng(0).random(n)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.log1p(x)
        best = min(best, time.perf_counter() - t)
    return best


def minute(
    rng: np.random.Generator, t: float, services: list[str], regions: list[str], reports: int
) -> pl.DataFrame:
    """`reports` anonymous reports in the minute starting at t, over random series."""
    s = rng.integers(0, len(services), reports)
    r = rng.integers(0, len(regions), reports)
    return pl.DataFrame(
        {
            "ts": t + rng.uniform(0, 59, reports),
            "service": pl.Series(services).gather(s),
            "region": pl.Series(regions).gather(r),
            "problem": pl.Series(PROBLEMS).gather(rng.integers(0, len(PROBLEMS), reports)),
        }
    )


def surge(t: float, services: list[str], regions: list[str]) -> pl.DataFrame:
    """SURGE reports in each region of each of `services` in the minute starting at t."""
    grid = pl.DataFrame({"service": services}).join(pl.DataFrame({"region": regions}), how="cross")
    rows = grid.select(pl.all().repeat_by(SURGE).explode())
    return rows.with_columns(
        (t + 1.0 + pl.int_range(pl.len()) % 58).cast(pl.Float64).alias("ts"),
        pl.lit("login").alias("problem"),
    ).select("ts", "service", "region", "problem")


def every_series(t: float, services: list[str], regions: list[str]) -> pl.DataFrame:
    """One report for every (service, region): the bucket that creates every series."""
    grid = pl.DataFrame({"service": services}).join(pl.DataFrame({"region": regions}), how="cross")
    return grid.with_columns(
        pl.lit(t + 1.0).alias("ts"), pl.lit("app").alias("problem"), pl.lit(1).alias("count")
    )


def run(
    services_n: int,
    regions_n: int,
    buckets: int,
    reports: int,
    store: bool,
    keep_snapshot: Path | None = None,
    surging: int = 0,
    young: bool = False,
) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    services = [f"svc{i:05d}" for i in range(services_n)]
    regions = sorted(REGIONS)[:regions_n]
    with tempfile.TemporaryDirectory() as tmp:
        db = Store(Path(tmp) / "bench.duckdb") if store else None
        pipe = Pipeline(PipelineConfig(early_check_s=0), store=db)
        rss0 = rss_mb()
        rows: list[dict[str, Any]] = []
        for b in range(buckets + 1):
            t = T0 + b * 60
            df = (
                every_series(t, services, regions)
                if b == 0
                else minute(rng, t, services, regions, reports)
            )
            if b == 1 and (surging or not young):  # as if the server had run a while
                day = 86400 // pipe.config.bucket_seconds
                pipe.bank.system_age = day  # series may alarm
                if not young:  # and every series learns all it would (its weekly shapes,
                    # its dispersion), with all of its state in memory, as on a server
                    # that has run a week; young series leave their weekly shapes untouched
                    ages = pipe.bank.age[: pipe.bank.n]
                    ages[:] = np.maximum(ages, day)
                    resident(pipe)
            if surging and b >= 2:
                df = pl.concat([df, surge(t, services[:surging], regions)])
            t_in = time.perf_counter()
            pipe.ingest(normalize(df))
            ingest_s = time.perf_counter() - t_in
            gc.collect()
            w, c = time.perf_counter(), time.process_time()
            drive(pipe, t + 60 + pipe.config.allowed_lateness_s)  # as the server does
            rows.append(
                {
                    "bucket": b,
                    "rows_in": df.height,
                    "ingest_s": ingest_s,
                    "step_wall_s": time.perf_counter() - w,
                    "step_cpu_s": time.process_time() - c,
                    "rss_mb": rss_mb(),
                    "open_incidents": len(pipe.tracker.open),
                }
            )
            r = rows[-1]
            print(
                f"bucket {b}: {r['rows_in']:>9,} rows in {r['ingest_s']:6.2f} s; step "
                f"{r['step_wall_s']:6.2f} s wall, {r['step_cpu_s']:6.2f} s CPU; "
                f"RSS {r['rss_mb']:,.0f} MB; {r['open_incidents']:,} incidents open",
                flush=True,
            )
        series, peak = pipe.view.n, peak_rss_mb()
        # The snapshot the server packs on its writer thread, and the restore from it
        # (into a new pipeline once this one is gone: the peak is the snapshot's).
        w, c = time.perf_counter(), time.process_time()
        blob = pipe.snapshot()
        snap = {"mb": len(blob) / 1e6, "wall_s": time.perf_counter() - w}
        snap["cpu_s"], snap["peak_rss_mb"] = time.process_time() - c, peak_rss_mb()
        if db is not None:
            db.close()
        del pipe, db
        gc.collect()
        snap.update(restore_elsewhere(blob, Path(tmp) / "snapshot.bin", keep_snapshot))
    steady = rows[1:]  # the first bucket creates every series: reported apart
    floor = floor_s(series)
    cpu = float(np.median([r["step_cpu_s"] for r in steady]))
    wall = float(np.median([r["step_wall_s"] for r in steady]))
    return {
        "series": series,
        "reports_per_bucket": reports,
        "surging_services": surging,
        "store": store,
        "buckets": rows,
        "step_cpu_s_median": cpu,
        "step_wall_s_median": wall,
        "step_cpu_s_max": max(r["step_cpu_s"] for r in steady),
        "first_bucket_step_wall_s": rows[0]["step_wall_s"],
        "floor_numpy_pass_s": floor,
        "step_over_floor": cpu / floor,
        "rss_start_mb": rss0,
        "rss_end_mb": rows[-1]["rss_mb"],
        "peak_rss_mb": peak,
        "bytes_per_series": (rows[-1]["rss_mb"] - rss0) * 1e6 / series,
        "snapshot": snap,
    }


def resident(pipe: Pipeline) -> None:
    """Write every page of the model's state (its values unchanged), as a week of
    steps has: a step writes one slot of each series' rings and hours, so most of
    a young bank's pages were never touched and take no memory yet."""
    for name, rows in pipe.bank.state().items():  # views of the first n series
        if name == "scalars":
            continue
        if rows.dtype == np.bool_:
            rows |= False
        else:
            rows += 0


def restore_elsewhere(blob: bytes, path: Path, keep: Path | None) -> dict[str, float]:
    """A restart's restore, in a process of its own (this one's peak is its steps'):
    wall time, and that process's RSS before, at its highest and after."""
    path.write_bytes(blob)
    if keep is not None:
        keep.write_bytes(blob)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.million_series", "--restore", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    out: dict[str, float] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return out


def restore_only(path: Path) -> dict[str, float]:
    """`--restore FILE`: restore a new pipeline from a snapshot file, as a restart does."""
    blob = path.read_bytes()
    before = rss_mb()
    w = time.perf_counter()
    pipe = Pipeline(PipelineConfig(early_check_s=0))
    pipe.restore(blob, [])
    wall = time.perf_counter() - w
    return {
        "restore_wall_s": wall,
        "restore_series": float(pipe.bank.n),
        "restore_rss_before_mb": before,
        "restore_peak_rss_mb": status_mb(field="VmHWM"),
        "restore_rss_after_mb": rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=20_000)
    ap.add_argument("--regions", type=int, default=50)
    ap.add_argument("--buckets", type=int, default=6)
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--surging", type=int, default=0, help="services in outage from minute 3")
    ap.add_argument("--store", action="store_true", help="write counts to a DuckDB file too")
    ap.add_argument(
        "--young",
        action="store_true",
        help="leave the series in their first day (as before 2026-11-30's seventh stop)",
    )
    ap.add_argument(
        "--keep-freed",
        action="store_true",
        help="do not give freed heap pages back after a step (what it saves, what it costs)",
    )
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep-snapshot", type=Path, default=None, help="write the snapshot here")
    ap.add_argument("--restore", type=Path, default=None, help="only restore this snapshot")
    a = ap.parse_args(argv)
    if a.restore is not None:
        print(orjson.dumps(restore_only(a.restore)).decode())
        return
    if a.keep_freed:
        drive_module.release_freed = lambda: False
    out = run(
        a.services, a.regions, a.buckets, a.reports, a.store, a.keep_snapshot, a.surging, a.young
    )
    print(
        f"{out['series']:,} series: step median {out['step_cpu_s_median']:.2f} s CPU "
        f"({out['step_wall_s_median']:.2f} s wall), max {out['step_cpu_s_max']:.2f} s CPU; "
        f"floor (one numpy pass) {out['floor_numpy_pass_s'] * 1e3:.1f} ms, step = "
        f"{out['step_over_floor']:,.0f}x floor; RSS {out['rss_end_mb']:,.0f} MB "
        f"(peak {out['peak_rss_mb']:,.0f} MB, {out['bytes_per_series']:,.0f} B per series)"
    )
    snap = out["snapshot"]
    print(
        f"snapshot: {snap['mb']:,.0f} MB packed in {snap['cpu_s']:.1f} s CPU "
        f"({snap['wall_s']:.1f} s wall; peak RSS then {snap['peak_rss_mb']:,.0f} MB); "
        f"restored by a new process in {snap['restore_wall_s']:.1f} s wall, its peak RSS "
        f"{snap['restore_peak_rss_mb']:,.0f} MB ({snap['restore_rss_after_mb']:,.0f} MB after; "
        f"{snap['restore_rss_before_mb']:,.0f} MB before)"
    )
    if a.json is not None:
        a.json.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
