"""The pipeline's intake side: reports decided by dedup wait in a buffer, under a short
lock, until the writer's next `advance` takes them (in order, a failed write's first).

A part of `Pipeline` (app/engine/pipeline.py), which holds the state it uses.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from operator import itemgetter

import polars as pl

from outagewatch.app.engine.config import IngestResult, PipelineConfig
from outagewatch.ingest.aggregator import Aggregator
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.limits import PrefixCap
from outagewatch.ingest.store import REPORT_COLUMNS

Buffered = tuple[float, str, str | None, str | None, str | None, int, bool, int | None]
# A live report with dedup's verdict: (ts, service, region, problem, reporter, counted).
Decided = tuple[float, str, str | None, str | None, str, bool]


class ReportBuffer:
    # Set by Pipeline.__init__.
    config: PipelineConfig
    dedup: Dedup
    prefix_cap: PrefixCap | None
    agg: Aggregator
    now: float
    reports_accepted: int
    reports_counted: int
    _lock: threading.Lock
    _buf: list[Buffered]
    _pending_raw: list[pl.DataFrame]
    _waiting_for: set[str]  # services with reports in `_buf` or `_pending_raw`
    _retry: pl.DataFrame | None
    _frontier: float | None
    _keys: list[tuple[str, str]]
    _retry_keys: list[tuple[str, str]]

    def submit(
        self,
        ts: float,
        service: str,
        region: str | None,
        problem: str | None,
        reporter: str,
        seq: int | None = None,
        allow: bool = True,
        alias: str | None = None,
    ) -> bool:
        """One live report, already validated; returns whether it counts. `allow` False
        stores it uncounted whatever dedup says (a policy such as the prefix cap); `alias`
        is the reporter under the previous salt (see app/privacy.py)."""
        counted = self.decide(ts, service, reporter, allow, alias)
        self.buffer(ts, service, region, problem, reporter, counted, seq)
        return counted

    def decide(
        self, ts: float, service: str, reporter: str, allow: bool = True, alias: str | None = None
    ) -> bool:
        """Dedup's verdict on one report (remembered: `forget` takes it back)."""
        with self._lock:
            return self.dedup.check(reporter, service, ts, alias) and allow

    def forget(self, reporters: list[str | None], services: list[str], ts: list[float]) -> None:
        """Take back counted verdicts of reports that were never acknowledged (their log
        write failed), so that the client's retry counts."""
        with self._lock:
            self.dedup.forget(reporters, services, ts)

    def waiting(self, service: str | None = None) -> bool:
        """Whether reports (of `service`, if given) wait for the next advance: the
        published view lacks them."""
        with self._lock:
            if service is not None:
                return service in self._waiting_for
            return bool(self._buf or self._pending_raw)

    def buffer(
        self,
        ts: float,
        service: str,
        region: str | None,
        problem: str | None,
        reporter: str,
        counted: bool,
        seq: int | None = None,
    ) -> None:
        """A decided report joins the next write and is counted (after it is durable)."""
        self.buffer_many([(ts, service, region, problem, reporter, counted)], seq)

    def buffer_many(self, rows: list[Decided], first_seq: int | None = None) -> None:
        """Decided reports join the next write, under one lock, numbered from `first_seq`
        (the log's sequence of the first; None for reports kept in memory only)."""
        seqs = itertools.count(first_seq) if first_seq is not None else itertools.repeat(None)
        with self._lock:
            self._buf.extend(
                (ts, service, region, problem, reporter, 1, counted, seq)
                for (ts, service, region, problem, reporter, counted), seq in zip(
                    rows, seqs, strict=False
                )
            )
            self._waiting_for.update(map(itemgetter(1), rows))
            self.reports_accepted += len(rows)
            self.reports_counted += sum(row[5] for row in rows)

    def ingest(self, df: pl.DataFrame) -> IngestResult:
        """A validated batch: ts (epoch s), service, region, problem, reporter, count.

        A row without a reporter stands for `count` distinct anonymous reports.
        """
        return self.take(self.judge(df))

    def judge(self, df: pl.DataFrame) -> pl.DataFrame:
        """The batch with dedup's verdict per row as `counted` (remembered). Rows that
        carry their client's network (`network`, a NATS worker's) also pass the
        per-network cap, as the embedded server's intake applies it."""
        with self._lock:
            counted = self.dedup.check_many(df["reporter"], df["service"], df["ts"])
            if self.prefix_cap is not None and "network" in df.columns:
                counted = self.prefix_cap.admit_many(
                    df["network"], df["service"], df["ts"], counted
                )
        return df.with_columns(pl.Series("counted", counted))

    def take(
        self,
        df: pl.DataFrame,
        late: bool = False,
        key: str | None = None,
        describe: Callable[[IngestResult], str] | None = None,
    ) -> IngestResult:
        """A judged batch joins the next write and is counted. With `late`, rows in
        buckets already closed (or being closed) are stored uncounted and reported as
        `too_late`, so an import's answer says what really counted. With `key`, the
        import's idempotency key and its answer (`describe`) are stored with its rows."""
        batch = df.select(
            pl.col("ts").cast(pl.Float64),
            "service",
            "region",
            "problem",
            "reporter",
            pl.col("count").cast(pl.Int64).alias("weight"),
            pl.col("counted").cast(pl.Boolean),
            (pl.col("seq") if "seq" in df.columns else pl.lit(None)).cast(pl.Int64).alias("seq"),
        )
        width = self.config.bucket_seconds
        with self._lock:
            too_late = 0
            if late and self._frontier is not None:
                stale = (pl.col("ts") / width).floor() * width < self._frontier
                too_late = int(batch.filter(stale & pl.col("counted"))["weight"].sum() or 0)
                if too_late:
                    batch = batch.with_columns(pl.col("counted") & ~stale)
            n_reports = int(batch["weight"].sum() or 0)
            n_counted = int(batch.filter(pl.col("counted"))["weight"].sum() or 0)
            self._pending_raw.append(batch)
            self._waiting_for.update(batch["service"].unique().to_list())
            self.reports_accepted += n_reports
            self.reports_counted += n_counted
            result = IngestResult(
                len(batch), n_reports, n_counted, batch, too_late,
                self._frontier if too_late else None,
            )  # fmt: skip
            if key is not None and describe is not None:  # in the same write as the rows
                self._keys.append((key, describe(result)))
        return result

    def replay_raw(self, batch: pl.DataFrame) -> None:
        """Reports from the write-ahead log that DuckDB never got: stored and counted as
        they were acknowledged (their dedup verdict travels with them)."""
        if batch.is_empty():
            return
        with self._lock:
            kept = batch.filter(pl.col("counted"))  # remembered, as live
            self.dedup.check_many(kept["reporter"], kept["service"], kept["ts"])
            self._pending_raw.append(batch.select(list(REPORT_COLUMNS)))
            self._waiting_for.update(batch["service"].unique().to_list())
            self.reports_accepted += int(batch["weight"].sum() or 0)
            self.reports_counted += int(kept["weight"].sum() or 0)

    def _drain(self) -> pl.DataFrame | None:
        return self._drain_with_keys()[0]

    def _drain_with_keys(self) -> tuple[pl.DataFrame | None, list[tuple[str, str]]]:
        """What was buffered since the last advance (a failed write's first), in order."""
        with self._lock:
            buf, self._buf = self._buf, []
            raw, self._pending_raw = self._pending_raw, []
            self._waiting_for = set()
            keys, self._keys = self._retry_keys + self._keys, []
            if self._retry is not None:  # a write that failed goes first, as it was
                raw.insert(0, self._retry)
            self._retry, self._retry_keys = None, []
            if buf:
                cols = list(zip(*buf, strict=True))
                raw.append(
                    pl.DataFrame(
                        dict(zip(REPORT_COLUMNS, cols, strict=True)),
                        schema=REPORT_COLUMNS,
                    )
                )
            out = None
            if raw:
                out = pl.concat(raw, how="vertical_relaxed") if len(raw) > 1 else raw[0]
            self._frontier = self._closes_to(out)
        return out, keys

    def remember_import(self, key: str, answer: str) -> None:
        """An import's idempotency key and its answer, stored with the next write."""
        with self._lock:
            self._keys.append((key, answer))

    def _closes_to(self, raw: pl.DataFrame | None) -> float | None:
        """Where `closed_until` will be once this advance is done: reports taken from
        now on reach the aggregator after it (see `take`)."""
        agg = self.agg
        start = agg.closed_until
        if start is None:
            firsts = [agg.first_open()]
            if raw is not None:
                counted = raw.filter(pl.col("counted") & (pl.col("weight") > 0))
                if not counted.is_empty():
                    width = self.config.bucket_seconds
                    firsts.append(math.floor(float(counted["ts"].min()) / width) * width)  # type: ignore[arg-type]
            known = [f for f in firsts if f is not None]
            if not known:
                return None
            start = min(known)
        cutoff = math.floor(agg.watermark_for(self.now) / agg.width) * agg.width
        return max(start, cutoff)
