"""DuckDB's memory is capped for a database file: a server that writes every minute's
counts must not keep every block it ever wrote cached (DuckDB's own limit is 80% of
the machine's memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.store import Store
from tests.conftest import running


def _duckdb_mb(store: Store) -> float:
    rows = store.query("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")
    return float(rows[0][0] or 0) / 1e6


def _minute(m: int, n: int, rng: np.random.Generator) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": np.full(n, 1_790_000_000.0 + 60 * m),
            "service": [f"svc{i:05d}" for i in rng.integers(0, 20_000, n)],
            "region": [f"R{i:02d}" for i in rng.integers(0, 50, n)],
            "count": rng.integers(1, 5, n).astype(float),
            "expected": rng.random(n),
            "score": rng.random(n),
            "level": pl.Series([None] * n, dtype=pl.String),
        }
    )


def test_a_database_file_keeps_its_memory_under_the_cap_while_its_tables_grow(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    capped = Store(tmp_path / "capped.duckdb", memory_mb=24)
    free = Store(tmp_path / "free.duckdb")
    n, minutes = 100_000, 20
    for m in range(minutes):
        df = _minute(m, n, rng)
        capped.append_series_buckets(df)
        free.append_series_buckets(df)
    # Uncapped, DuckDB keeps what it wrote cached; capped, it keeps at most the cap.
    assert _duckdb_mb(free) > 40
    assert _duckdb_mb(capped) <= 24
    # Nothing written is lost to the cap: every row reads back, and a query over all
    # of them (larger than the cap) still answers.
    assert capped.count("series_buckets") == n * minutes
    (total,) = capped.query("SELECT sum(count) FROM series_buckets")[0]
    (expected,) = free.query("SELECT sum(count) FROM series_buckets")[0]
    assert total == expected
    capped.close()
    free.close()


def test_the_server_caps_duckdb_as_its_settings_say(tmp_path: Path, clock: ManualClock) -> None:
    with running(clock, tmp_path / "a", duckdb_memory_mb=96) as (app, _):
        rows = app.runtime.store.query("SELECT current_setting('memory_limit')")
        assert rows[0][0] == "91.5 MiB"  # 96 MB, as DuckDB shows it
    with running(clock, tmp_path / "b", duckdb_memory_mb=0) as (app, _):
        rows = app.runtime.store.query("SELECT current_setting('memory_limit')")
        assert rows[0][0] != "91.5 MiB"  # 0: DuckDB's own default
