"""DuckDB storage: raw reports, bucket counts, incidents, snapshots.

One writer owns the database: every write runs on the server's writer thread, as
whole batches registered from Arrow (never row by row); a write another thread asks
for (an admin request, the webhook deliverer) is handed to it (ingest/write_queue.py)
and awaited. Reads use their own cursors, so HTTP handlers never wait on the writer.
Times are stored as naive UTC TIMESTAMPs.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl

from outagewatch.ingest.schema import MIGRATIONS, SCHEMA
from outagewatch.ingest.write_queue import WriteQueue

REPORT_COLUMNS = {
    "ts": pl.Float64,
    "service": pl.String,
    "region": pl.String,
    "problem": pl.String,
    "reporter": pl.String,
    "weight": pl.Int64,
    "counted": pl.Boolean,
    "seq": pl.Int64,  # the write-ahead log's sequence (a NATS worker: the stream's)
}


# Sequences above ? held: stored with a report, or in a gap an operator acknowledged.
_HELD = (
    "SELECT seq FROM reports WHERE seq > ? UNION SELECT seq FROM ("
    "  SELECT unnest(range(first_seq, last_seq + 1)) AS seq FROM seq_gaps WHERE last_seq > ?"
    ") WHERE seq > ?"
)


class StoreError(RuntimeError):
    """The database cannot be opened or written: a clear message, never a silent loss."""


def to_timestamp(col: str) -> pl.Expr:
    return (pl.col(col) * 1_000_000).cast(pl.Int64).cast(pl.Datetime("us"))


def _utc(value: dt.datetime | None) -> float | None:
    return None if value is None else value.replace(tzinfo=dt.UTC).timestamp()


def _naive(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None)


class Store:
    def __init__(self, path: str | Path | None = None, memory_mb: int = 0) -> None:
        """`path` None keeps everything in memory (tests, replays).

        `memory_mb` caps DuckDB's memory for a database file (0: DuckDB's own limit,
        80% of the machine's). DuckDB keeps the blocks of every table it writes cached
        up to its limit, so a server writing a minute's counts for many series grew
        without end (+4 MB a minute at 220k rows a minute, measured): with a cap it
        evicts blocks already on disk, and spills large queries to disk. An in-memory
        database is not capped (its tables live in that memory)."""
        target = ":memory:" if path is None else str(path)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if path is not None and memory_mb:
            config["memory_limit"] = f"{memory_mb}MB"
        try:
            self._con = duckdb.connect(target, config=config)
            self._con.execute(SCHEMA)
            for change in MIGRATIONS:
                self._con.execute(change)
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"cannot open the database at {target}: {exc}") from exc
        self.path = target
        # One writer at a time, and a transaction holds it to the end: its writes, and
        # no other thread's, commit together (reentrant: writes inside it take it again).
        self._write_lock = threading.RLock()
        self._txn_owner: int | None = None  # the thread inside transaction()
        # Other threads' writes are run by the writer thread once one attaches
        # (app/runtime.py): one writer in fact, not only one at a time.
        self.writes = WriteQueue()

    def close(self) -> None:
        with self._write_lock:
            self._con.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (a worker's batch + offset);
        other threads' writes wait for it to end."""
        with self._write_lock:
            self._txn_owner = threading.get_ident()
            self._con.begin()
            try:
                yield
            except BaseException:
                self._con.rollback()
                raise
            else:
                self._con.commit()
            finally:
                self._txn_owner = None

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    # --- writes (on the writer thread when one runs, always under one lock) -------------
    def _writing(self, write: Callable[[], None]) -> None:
        """`write()` under the lock, on the writer thread when one is attached (inline
        inside this thread's own transaction, which holds the lock already)."""

        def locked() -> None:
            with self._write_lock:
                write()

        if self._txn_owner == threading.get_ident():
            locked()
        else:
            self.writes.run(locked)

    def _append(self, table: str, df: pl.DataFrame, verb: str = "INSERT") -> None:
        if df.is_empty():
            return

        def append() -> None:
            self._con.register("_batch", df.to_arrow())
            try:
                self._con.execute(f"{verb} INTO {table} SELECT * FROM _batch")
            finally:
                self._con.unregister("_batch")

        self._writing(append)

    def append(self, table: str, df: pl.DataFrame, *, replace: bool = False) -> None:
        """A batch into a table the app owns (events, webhooks): Arrow, never row by row."""
        self._append(table, df, "INSERT OR REPLACE" if replace else "INSERT")

    def update_from(self, table: str, df: pl.DataFrame, *, key: str) -> None:
        """Set columns of many rows at once from a batch keyed by `key`."""
        if df.is_empty():
            return
        sets = ", ".join(f"{c} = _upd.{c}" for c in df.columns if c != key)

        def update() -> None:
            self._con.register("_upd", df.to_arrow())
            try:
                self._con.execute(
                    f"UPDATE {table} SET {sets} FROM _upd WHERE {table}.{key} = _upd.{key}"
                )
            finally:
                self._con.unregister("_upd")

        self._writing(update)

    def write(self, sql: str, params: list[Any] | None = None) -> None:
        """One statement that changes many rows at once (DDL, set-based updates)."""

        def execute() -> None:
            self._con.execute(sql, params or [])

        self._writing(execute)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._reader() as cur:
            return cur.execute(sql, params or []).fetchall()

    def append_reports(self, df: pl.DataFrame) -> None:
        """Columns as REPORT_COLUMNS; ts in epoch seconds."""
        self._append(
            "reports",
            df.select(
                to_timestamp("ts").alias("ts"),
                "service",
                "region",
                "problem",
                "reporter",
                pl.col("weight").cast(pl.Int32),
                "counted",
                "seq",
            ),
        )

    def max_seq(self) -> int:
        """The highest write-ahead-log sequence stored: what a restart need not replay."""
        with self._reader() as cur:
            row = cur.execute("SELECT coalesce(max(seq), 0) FROM reports").fetchone()
        return int(row[0]) if row else 0

    def contiguous_seq(self, after: int = 0) -> int:
        """The highest sequence n such that every sequence from 1 to n is stored (or in
        an acknowledged gap), given that every one up to `after` is: where replay starts
        and the log may be cut. A gap stops it, however far beyond it later reports reach."""
        with self._reader() as cur:
            row = cur.execute(
                f"WITH held AS ({_HELD}) SELECT min(seq), min(seq) FILTER (WHERE nxt IS NULL"
                "  OR nxt > seq + 1) FROM (SELECT seq, lead(seq) OVER (ORDER BY seq) AS nxt"
                "  FROM held)",
                [after, after, after],
            ).fetchone()
        if row is None or row[0] is None or int(row[0]) != after + 1:
            return after  # nothing held right after it
        return int(row[1])

    def seqs_above(self, seq: int) -> frozenset[int]:
        """Held sequences above `seq`, stored or in an acknowledged gap (beyond a gap: few)."""
        with self._reader() as cur:
            rows = cur.execute(_HELD, [seq, seq, seq]).fetchall()
        return frozenset(int(r[0]) for r in rows)

    def record_seq_gaps(self, runs: list[tuple[int, int]], at: float, note: str) -> None:
        """Runs of sequence numbers lost for good, as an operator acknowledged them."""
        df = pl.DataFrame(
            {
                "first_seq": [a for a, _ in runs],
                "last_seq": [b for _, b in runs],
                "acknowledged_at": [at] * len(runs),
                "note": [note] * len(runs),
            },
            schema={
                "first_seq": pl.Int64,
                "last_seq": pl.Int64,
                "acknowledged_at": pl.Float64,
                "note": pl.String,
            },
        )
        self._append("seq_gaps", df)

    def seq_gaps(self) -> list[tuple[int, int, float, str]]:
        """Acknowledged gaps, oldest first: the history of what was lost."""
        with self._reader() as cur:
            rows = cur.execute(
                "SELECT first_seq, last_seq, acknowledged_at, note FROM seq_gaps "
                "ORDER BY acknowledged_at, first_seq"
            ).fetchall()
        return [(int(a), int(b), float(t), str(n)) for a, b, t, n in rows]

    def save_import_keys(self, keys: list[tuple[str, str]]) -> None:
        """Imports' idempotency keys with the answers they were given."""
        df = pl.DataFrame(
            {"key": [k for k, _ in keys], "answer": [a for _, a in keys]},
            schema={"key": pl.String, "answer": pl.String},
        ).unique("key", keep="last")
        self._append("import_keys", df, "INSERT OR REPLACE")

    def import_answer(self, key: str) -> str | None:
        with self._reader() as cur:
            row = cur.execute("SELECT answer FROM import_keys WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def append_series_buckets(self, df: pl.DataFrame) -> None:
        self._append(
            "series_buckets",
            df.select(
                to_timestamp("ts").alias("ts"),
                "service",
                "region",
                "count",
                "expected",
                "score",
                "level",
            ),
        )

    def append_problem_buckets(self, df: pl.DataFrame) -> None:
        self._append(
            "problem_buckets",
            df.select(
                to_timestamp("ts").alias("ts"),
                "service",
                "region",
                "problem",
                pl.col("count").cast(pl.Int32),
            ),
        )

    def upsert_incidents(
        self, incidents: list[dict[str, Any]], details: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """Feed objects by id; `details` (by id) is the detector's state kept beside them."""
        if not incidents:
            return
        latest = {d["id"]: d for d in incidents}  # one row per id per statement
        rows = list(latest.values())
        kept = details or {}
        df = pl.DataFrame(
            {
                "id": [d["id"] for d in rows],
                "service": [d["service"] for d in rows],
                "region": [d["region"] for d in rows],
                "level": [d["level"] for d in rows],
                "state": [d["state"] for d in rows],
                "opened_at": [_parse_iso(d["opened_at"]) for d in rows],
                "ended_at": [_parse_iso(d["ended_at"]) for d in rows],
                "body": [orjson.dumps(d).decode() for d in rows],
                "detail": [
                    orjson.dumps(kept[d["id"]]).decode() if d["id"] in kept else None for d in rows
                ],
            },
            schema={
                "id": pl.String,
                "service": pl.String,
                "region": pl.String,
                "level": pl.String,
                "state": pl.String,
                "opened_at": pl.Float64,
                "ended_at": pl.Float64,
                "body": pl.String,
                "detail": pl.String,
            },
        ).with_columns(to_timestamp("opened_at"), to_timestamp("ended_at"))
        with self._write_lock:
            self._con.register("_inc", df.to_arrow())
            try:
                self._con.execute(
                    "INSERT OR REPLACE INTO incidents "
                    "(id, service, region, level, state, opened_at, ended_at, body, detail) "
                    "SELECT * FROM _inc"
                )
            finally:
                self._con.unregister("_inc")

    def save_snapshot(self, name: str, taken_at: float, data: bytes) -> None:
        # A batch like every other write, not a bound parameter: DuckDB held a bound
        # blob several times over while inserting it (a million series' snapshot, every
        # minute, took ~7x its size on top of the server's memory), Arrow about once.
        row = pl.DataFrame(
            {"name": [name], "taken_at": [taken_at], "data": pl.Series([data], dtype=pl.Binary)}
        )
        self._append("snapshots", row.with_columns(to_timestamp("taken_at")), "INSERT OR REPLACE")

    def checkpoint(self) -> None:
        with self._write_lock:
            self._con.execute("CHECKPOINT")

    # --- reads ----------------------------------------------------------------------
    def load_snapshot(self, name: str) -> tuple[float, bytes] | None:
        with self._reader() as cur:
            row = cur.execute(
                "SELECT taken_at, data FROM snapshots WHERE name = ?", [name]
            ).fetchone()
        if row is None:
            return None
        return _utc(row[0]) or 0.0, bytes(row[1])

    def open_incidents(self) -> list[dict[str, Any]]:
        with self._reader() as cur:
            rows = cur.execute(
                "SELECT body FROM incidents WHERE state = 'open' ORDER BY opened_at"
            ).fetchall()
        return [orjson.loads(r[0]) for r in rows]

    def open_incident_details(self) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Open incidents as (feed object, detector state or None when not kept)."""
        with self._reader() as cur:
            rows = cur.execute(
                "SELECT body, detail FROM incidents WHERE state = 'open' ORDER BY opened_at"
            ).fetchall()
        return [(orjson.loads(b), None if d is None else orjson.loads(d)) for b, d in rows]

    def opened_since(self, since: float) -> list[dict[str, Any]]:
        """Incidents (any state) opened at or after `since`, oldest first."""
        with self._reader() as cur:
            rows = cur.execute(
                "SELECT body FROM incidents WHERE opened_at >= ? ORDER BY opened_at, id",
                [_naive(since)],
            ).fetchall()
        return [orjson.loads(r[0]) for r in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        with self._reader() as cur:
            row = cur.execute("SELECT body FROM incidents WHERE id = ?", [incident_id]).fetchone()
        return None if row is None else orjson.loads(row[0])

    def incidents(
        self,
        *,
        service: str | None = None,
        region: str | None = None,
        level: str | None = None,
        state: str | None = "open",
        since: float | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `cursor` continues after the last item of the previous page."""
        where: list[str] = ["TRUE"]
        args: list[Any] = []
        if service is not None:
            where.append("service = ?")
            args.append(service)
        if region is not None:
            if region == "all":
                where.append("region IS NULL")
            else:
                where.append("region = ?")
                args.append(region)
        if level is not None:
            where.append("level = ?")
            args.append(level)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if since is not None:
            where.append("(ended_at IS NULL OR ended_at >= ?)")
            args.append(_naive(since))
        if cursor is not None:
            at, last_id = decode_cursor(cursor)
            where.append("(opened_at < ? OR (opened_at = ? AND id < ?))")
            args += [_naive(at), _naive(at), last_id]
        sql = (
            "SELECT body, epoch_us(opened_at), id FROM incidents WHERE "
            + " AND ".join(where)
            + " ORDER BY opened_at DESC, id DESC LIMIT ?"
        )
        with self._reader() as cur:
            rows = cur.execute(sql, [*args, limit + 1]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1][1] / 1e6, rows[-1][2]) if more and rows else None
        return [orjson.loads(r[0]) for r in rows], nxt

    def recent_reporters(self, window_s: float) -> tuple[list[str], list[str], list[float]]:
        """Each reporter's last counted report per service within `window_s` of the
        newest stored report: the dedup memory, rebuilt from what is stored."""
        with self._reader() as cur:
            rows = cur.execute(
                "SELECT reporter, service, max(epoch_us(ts)) / 1e6 FROM reports "
                "WHERE counted AND reporter IS NOT NULL AND ts >= "
                "(SELECT max(ts) FROM reports) - to_microseconds(?::BIGINT) "
                "GROUP BY reporter, service",
                [int(window_s * 1e6)],
            ).fetchall()
        return [r[0] for r in rows], [r[1] for r in rows], [float(r[2]) for r in rows]

    def reports_since(self, since: float) -> pl.DataFrame:
        """Counted reports at or after `since` (the buckets still open at a restart)."""
        with self._reader() as cur:
            # Arrow, not numpy: a region column mixing strings and NULLs comes back from
            # fetchnumpy as an object array that polars cannot cast.
            table = cur.sql(
                "SELECT epoch_us(ts) / 1e6 AS ts, service, region, problem, weight, "
                "true AS counted FROM reports WHERE counted AND ts >= ?",
                params=[_naive(since)],
            ).to_arrow_table()
        df = pl.from_arrow(table)
        assert isinstance(df, pl.DataFrame)
        return df.cast(
            {
                "ts": pl.Float64,
                "service": pl.String,
                "region": pl.String,
                "problem": pl.String,
                "weight": pl.Int64,
                "counted": pl.Boolean,
            }
        )

    def top_problems(self, service: str, since: float) -> list[tuple[str, int]]:
        """Counted reports by problem for one service since `since`, from bucket counts."""
        with self._reader() as cur:
            rows = cur.execute(
                "SELECT coalesce(problem, 'unspecified'), sum(count) FROM problem_buckets "
                "WHERE service = ? AND region IS NULL AND ts >= ? GROUP BY 1 ORDER BY 2 DESC, 1",
                [service, _naive(since)],
            ).fetchall()
        return [(str(p), int(n)) for p, n in rows]

    def history(
        self, service: str, region: str | None, start: float, end: float, limit: int
    ) -> pl.DataFrame:
        """One series' stored buckets in [start, end), oldest first, at most `limit`:
        ts (epoch s), count, expected, score, level. Regional series keep only buckets
        with reports or a level (service-wide ones keep every bucket)."""
        where = "region IS NULL" if region is None else "region = ?"
        args: list[Any] = [service] + ([] if region is None else [region])
        with self._reader() as cur:
            cols = cur.execute(
                "SELECT epoch(ts) AS ts, count, expected, score, coalesce(level, '') AS level "
                f"FROM series_buckets WHERE service = ? AND {where} AND ts >= ? AND ts < ? "
                "ORDER BY ts LIMIT ?",
                [*args, _naive(start), _naive(end), limit],
            ).fetchnumpy()
        names = ("ts", "count", "expected", "score", "level")
        return pl.DataFrame(
            {k: cols[k] for k in names},
            schema={
                "ts": pl.Float64,
                "count": pl.Float64,
                "expected": pl.Float64,
                "score": pl.Float64,
                "level": pl.String,
            },
        )

    def wide_buckets(self, since: float) -> pl.DataFrame:
        """Service-wide bucket rows since `since` (ts, service, count, expected, level)."""
        with self._reader() as cur:
            cols = cur.execute(
                "SELECT epoch(ts) AS ts, service, count, expected, level FROM series_buckets "
                "WHERE region IS NULL AND ts >= ? ORDER BY ts",
                [_naive(since)],
            ).fetchnumpy()
        return pl.DataFrame({k: cols[k] for k in ("ts", "service", "count", "expected", "level")})

    def restore_set(self, since: float | None, window_s: float) -> dict[str, pl.DataFrame]:
        """The rows a restore reads (app/engine/restore.py), as stored: reports at or
        after `since` (the buckets still open; all of them when None) or within
        `window_s` of the newest (the dedup memory), the open incidents and the
        snapshots. `seed` puts them into an empty store, which then restores the same
        pipeline as this one would."""
        recent = "(SELECT max(ts) FROM reports) - to_microseconds(?::BIGINT)"
        queries: dict[str, tuple[str, list[Any]]] = {
            "reports": (
                f"SELECT * FROM reports WHERE ts >= ? OR ts >= {recent} ORDER BY ts",
                [_naive(0.0 if since is None else since), int(window_s * 1e6)],
            ),
            "incidents": ("SELECT * FROM incidents WHERE state = 'open'", []),
            "snapshots": ("SELECT * FROM snapshots", []),
        }
        out = {}
        with self._reader() as cur:
            for table, (sql, params) in queries.items():
                df = pl.from_arrow(cur.sql(sql, params=params).to_arrow_table())
                assert isinstance(df, pl.DataFrame)
                out[table] = df
        return out

    def seed(self, tables: dict[str, pl.DataFrame]) -> None:
        """Rows from another store's `restore_set`, in one transaction: all or none."""
        with self.transaction():
            for table in ("reports", "incidents", "snapshots"):
                self.append(table, tables[table])

    def count(self, table: str) -> int:
        if table not in {"reports", "series_buckets", "problem_buckets", "incidents"}:
            raise ValueError(table)
        with self._reader() as cur:
            row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


def _parse_iso(text: str | None) -> float | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def encode_cursor(opened_at: float, incident_id: str) -> str:
    raw = orjson.dumps([opened_at, incident_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, incident_id = orjson.loads(raw)
        return float(at), str(incident_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ValueError("cursor is not one this server gave out; start without it") from exc
