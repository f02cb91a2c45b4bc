"""Disk faults: a corrupt database, a read-only or full data directory.

Each gives a clear message and a non-zero exit at start, or a 503 with /healthz
telling the truth while running, and taking reports again once space is back. The
full and read-only disks are real tmpfs mounts (root only; skipped elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from outagewatch.ingest.clock import ManualClock
from tests.conftest import running

BIN = Path(sys.executable).parent / "outagewatch"


def serve(data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`outagewatch serve` that is expected to refuse to start (else the timeout fails)."""
    return subprocess.run(
        [str(BIN), "serve", "--port", "1", "--data", str(data)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300", **env},
    )  # fmt: skip


@contextmanager
def tmpfs(path: Path, size: str, *options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=False)
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "outagewatch.duckdb").write_bytes(os.urandom(64 * 1024))
    done = serve(tmp_path)
    assert done.returncode == 2
    assert "cannot start" in done.stderr and "not a valid DuckDB database" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_a_read_only_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
        for target in (ro, ro / "data"):
            done = serve(target)
            assert done.returncode == 2, done.stderr
            assert "cannot start" in done.stderr and "Read-only file system" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_a_full_disk_refuses_to_start(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "8m") as small:
        done = serve(small, OUTAGEWATCH_MIN_FREE_MB="64")
        assert done.returncode == 2
        assert "MB free" in done.stderr and "OUTAGEWATCH_MIN_FREE_MB" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_a_disk_filling_up_stops_intake_then_recovers(clock: ManualClock, tmp_path: Path) -> None:
    with (
        tmpfs(tmp_path / "disk", "48m") as disk,
        running(clock, disk, min_free_mb=16) as (
            app,
            client,
        ),
    ):
        body = {"service": "aws", "reporter": "r0"}
        assert client.post("/v1/reports", json=body).status_code == 202
        filler = disk / "filler"
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        filler.write_bytes(b"\0" * (free - 8 * 2**20))  # leave 8 MB: under the floor
        app.runtime.tick()

        refused = client.post("/v1/reports", json={"service": "aws", "reporter": "r1"})
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert "disk is nearly full" in refused.json()["error"]["message"]
        health = client.get("/healthz")
        assert health.status_code == 503 and "disk nearly full" in health.json()["error"]

        filler.unlink()
        app.runtime.tick()
        assert client.get("/healthz").status_code == 200
        again = client.post("/v1/reports", json={"service": "aws", "reporter": "r2"})
        assert again.status_code == 202
        app.runtime.tick()
        stored = app.runtime.store.query("SELECT count(*) FROM reports")[0][0]
        assert stored == 2  # the two acknowledged ones, and not the refused one
