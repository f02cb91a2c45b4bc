"""The running system: store, pipeline and the single writer thread that drives them.

The writer thread ticks every `tick_interval_s`: it moves the pipeline to the
clock's time (flush, close buckets, detect) and takes periodic snapshots. Tests
set the interval to 0 and call `tick()` themselves after moving a manual clock.
On start, state is restored from the last snapshot; reports stored after it (the
still-open buckets) are read back from DuckDB into the aggregator.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from outagewatch.app.annotations import Annotations
from outagewatch.app.catalog import ServiceCatalog
from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.app.engine.read_view import ReadView
from outagewatch.app.engine.restore import restore
from outagewatch.app.events import EventLog
from outagewatch.app.i18n import Text
from outagewatch.app.idempotency import encode
from outagewatch.app.keys import ApiKeys, FailureThrottle
from outagewatch.app.log_gaps import describe as describe_gap
from outagewatch.app.log_gaps import missing_runs
from outagewatch.app.logs import LimitLog
from outagewatch.app.maintenance import Maintenance, Marks
from outagewatch.app.privacy import ReporterSalts, reporter_hash, token_hashes
from outagewatch.app.settings import Settings
from outagewatch.app.wal import WriteAheadLog
from outagewatch.app.webhooks import Webhooks
from outagewatch.ingest.clock import Clock
from outagewatch.ingest.store import REPORT_COLUMNS, Store, StoreError

log = logging.getLogger("outagewatch")
incident_log = logging.getLogger("outagewatch.incidents")
LOGGED = ("region", "state", "opened_at", "confirmed_at", "ended_at", "total_reports")
SNAPSHOT = "pipeline"
SNAPSHOT_SHARE = 20  # snapshots take at most a twentieth of the writer's time
POLL_S = 0.02  # how often a reader waiting for the next view looks


class Runtime:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.stop_error: str | None = None
        self.disk_free_mb: float | None = None
        if settings.data is not None:
            _check_writable(Path(settings.data))
            self.check_disk()
            if self.disk_low:
                raise StoreError(
                    f"only {self.disk_free_mb:.0f} MB free in {settings.data}; outagewatch "
                    f"needs {settings.min_free_mb:.0f} MB (OUTAGEWATCH_MIN_FREE_MB) to take reports"
                )
        db = None if settings.data is None else Path(settings.data) / "outagewatch.duckdb"
        self.store = Store(db, settings.duckdb_memory_mb)
        self.wal = (
            None
            if settings.data is None
            else WriteAheadLog(Path(settings.data) / "wal", settings.wal_group_ms)
        )
        self.pipeline = Pipeline(settings.pipeline_config(), self.store)
        data = None if settings.data is None else Path(settings.data)
        self.salts = ReporterSalts(
            None if data is None else data / "reporter-salts.json",
            secret=settings.reporter_salt,
            rotation_s=settings.salt_rotation_s,
            keep_previous_s=settings.dedup_window_s,
            now=clock.now(),
        )
        self.memory_key = secrets.token_bytes(16)  # in-memory keys only (rate limits)
        self.api_keys = ApiKeys(settings.api_keys)
        self.limits = LimitLog(logging.getLogger("outagewatch.limits"))
        self.admin_failures = FailureThrottle(settings.admin_failures_per_minute, self.memory_key)
        self.events = EventLog(self.store)
        self.annotations = Annotations(self.store)
        self.maintenance = Maintenance(self.store)
        self.pipeline.markers.append(Marks.restored(lambda: self.maintenance.windows, self.store))
        self.webhooks = Webhooks(
            self.store,
            settings.base_url,
            allow_private=settings.webhook_allow_private,
            deadline_s=settings.webhook_deadline_s,
            concurrency=settings.webhook_concurrency,
            text=Text(settings.language),
            names=lambda: self.catalog.names,
        )
        self.pipeline.listeners.append(self._on_changes)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._deliverer: threading.Thread | None = None
        self._last_snapshot = clock.now()
        self._snapshot_gap = settings.snapshot_interval_s
        self.last_error: str | None = None
        self.on_tick: Callable[[float], None] | None = None  # tick duration (metrics)
        self.applied = 0  # highest contiguous stored sequence: replay and cuts start here
        self.replayed_imports: dict[str, str] = {}  # idempotency key -> answer
        self.seq_gap: str | None = None  # a gap found at start (app/log_gaps.py)
        self.gap_runs: list[tuple[int, int]] = []
        self.gap_top = 0
        self._gap_lock = threading.Lock()
        self.wal_reset: str | None = None
        try:
            self._restore()
        except duckdb.Error as exc:  # a corrupt block, a truncated file: say so, exit 2
            raise StoreError(f"cannot read the database at {self.store.path}: {exc}") from None

    @property
    def view(self) -> ReadView:
        """What routes read of the engine (with DuckDB): published by each tick."""
        return self.pipeline.view

    async def caught_up(self, service: str | None = None) -> None:
        """When reports (of `service`, if given) wait for the writer's next tick, wait
        for the view it publishes (at most about two ticks, without holding a thread):
        a reader who asks right after their report sees it, not "no reports yet". At
        once without a writer thread (tests that tick by hand) or with nothing waiting:
        a page of a service nobody reported is not held back by others' reports."""
        if self._thread is None or not self.pipeline.waiting(service):
            return
        seen = self.view
        for _ in range(math.ceil((2 * self.settings.tick_interval_s + 0.1) / POLL_S)):
            if self.view is not seen:
                return
            await asyncio.sleep(POLL_S)

    def _restore(self) -> None:
        restore(self.pipeline, self.store, SNAPSHOT)
        self._replay_log()
        self.pipeline.publish()  # readers see the restored state before the first tick
        s = self.settings
        series = self.pipeline.view.keys()
        self.catalog = ServiceCatalog(
            self.store,
            accept_unknown=s.accept_unknown_services,
            new_services_per_hour=s.new_services_per_hour,
            new_regions_per_hour=s.new_regions_per_hour,
            now=self.clock.now(),
            pairs=[(k[0], k[1]) for k in series if k[1] is not None],
        )
        # The detector is told who runs on whom, now and after every catalog change.
        self.pipeline.set_providers(self.catalog.providers)
        self.catalog.on_providers = self.pipeline.set_providers

    def _replay_log(self) -> None:
        """Acknowledged reports that never reached DuckDB are replayed from the log:
        every record above the highest contiguous stored sequence that DuckDB lacks.
        A sequence held by neither is a gap: reported (/healthz), never skipped over."""
        self.applied = self.store.contiguous_seq()
        if self.wal is None:
            return
        stored = self.store.seqs_above(self.applied)
        notes: list[dict[str, Any]] = []
        records = list(self.wal.replay(self.applied, stored, notes))
        answers = import_answers(records, notes, self.settings.bucket_seconds)
        self.pipeline.replay_raw(wal_frame(records))
        for key, answer in answers.items():
            if self.store.import_answer(key) is None:  # else stored with its first answer
                self.pipeline.remember_import(key, answer)
                self.replayed_imports[key] = answer  # for retries before the next write
        held = stored | {int(r[0]) for r in records}
        self.gap_top = max(held, default=self.applied)
        self.gap_runs = missing_runs(self.applied, self.gap_top, held)
        self.seq_gap = describe_gap(self.gap_runs, self.gap_top)
        stored_max = self.store.max_seq()
        if stored_max > self.wal.found_seq:
            self.wal_reset = (
                f"the write-ahead log ended at sequence {self.wal.found_seq} but the "
                f"database holds reports up to {stored_max}: the log was removed or lost "
                f"since the last stop; numbering continues at {stored_max + 1}"
            )
        self.wal.continue_after(stored_max)

    def acknowledge_gap(self, note: str) -> bool:
        """An operator has seen what /healthz reports about the log: a gap's runs are
        recorded as lost for good (replay and log cuts go past them from the next
        snapshot on), a log reset is cleared (logged with the note: nothing in the
        database names what the lost log held), and /healthz is ok again.
        Returns whether there was anything to acknowledge."""
        with self._gap_lock:
            runs, self.gap_runs = self.gap_runs, []
            if runs:
                try:
                    self.store.record_seq_gaps(runs, self.clock.now(), note)
                except Exception:
                    self.gap_runs = runs  # not recorded: still reported
                    raise
                self.seq_gap = None
            reset, self.wal_reset = self.wal_reset, None
            if reset is not None:
                log.warning("log reset acknowledged", extra={"reset": reset, "note": note})
        return bool(runs) or reset is not None

    def durability_error(self) -> str | None:
        """What /healthz must say about the log and the stored sequence, if anything."""
        return self.seq_gap or self.wal_reset

    def held_back_error(self) -> str | None:
        """Why new reports are refused while the database cannot be written: what is
        acknowledged but unwritten waits in memory, and memory is bounded."""
        held, cap = self.pipeline.held_back, self.settings.max_held_back_reports
        if held < cap:
            return None
        return (
            f"the database cannot be written ({self.last_error or 'its last write failed'}); "
            f"{held} acknowledged reports wait in memory to be written, at most {cap} "
            f"(OUTAGEWATCH_MAX_HELD_BACK_REPORTS): new reports are refused until they are "
            f"written; retry later"
        )

    # --- the disk -----------------------------------------------------------------------
    def check_disk(self) -> None:
        """Free space under the data directory: below the floor, intake answers 503 while
        what was acknowledged can still be written; it resumes when space is back."""
        if self.settings.data is not None:
            self.disk_free_mb = shutil.disk_usage(self.settings.data).free / 2**20

    @property
    def disk_low(self) -> bool:
        return self.disk_free_mb is not None and self.disk_free_mb < self.settings.min_free_mb

    # --- reporter identity ------------------------------------------------------------
    def reporter_id(self, token: str | None, address: str, user_agent: str) -> str:
        """A client token, or a salted hash of address and user agent; raw addresses
        are never stored, and tokens are stored hashed too."""
        return reporter_hash(self.salts.at(self.clock.now())[0], token, address, user_agent)

    def reporter_ids(self, tokens: list[str | None]) -> list[str | None]:
        """`reporter_id` of a batch's client tokens (None stays None), under one salt."""
        return token_hashes(self.salts.at(self.clock.now())[0], tokens)

    def _on_changes(self, changed: list[dict[str, Any]]) -> None:
        """Writer thread: incident changes become events, and events become deliveries."""
        events = self.events.record(changed, self.pipeline.now)
        for e in events:  # one JSON line each, for operators (app/logs.py)
            inc = e.incident
            incident_log.info(
                "incident %s: %s %s",
                e.type,
                inc["service"],
                inc["level"],
                extra={
                    "event": f"incident.{e.type}",
                    "id": inc["id"],
                    "service": inc["service"],
                    "incident_level": inc["level"],
                    "event_id": e.id,
                    **{k: inc.get(k) for k in LOGGED},
                },
            )
        if events:
            self.webhooks.enqueue(events)

    def limit_tripped(self, limit: str, **fields: Any) -> None:
        """A limit refused or discounted a request: a warning line, at most one a
        minute per limit (app/logs.py LimitLog)."""
        self.limits.trip(limit, self.clock.now(), **fields)

    def deliver(self) -> dict[str, int]:
        return self.webhooks.deliver_due(self.clock.now())

    # --- the writer -------------------------------------------------------------------
    def tick(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        started = time.perf_counter()
        self.check_disk()
        changed = drive(self.pipeline, now)  # what intake buffered, up to now
        self.catalog.flush()
        if self.on_tick is not None:
            self.on_tick(time.perf_counter() - started)
        if now - self._last_snapshot >= self._snapshot_gap:
            self.snapshot()
        return changed

    def snapshot(self) -> None:
        started = time.perf_counter()
        self.store.save_snapshot(SNAPSHOT, self.clock.now(), self.pipeline.snapshot())
        self._last_snapshot = self.clock.now()
        # The writer steps nothing while it packs a snapshot (seconds at a million
        # series): spaced out so that packing takes at most 1/SNAPSHOT_SHARE of its time.
        took = time.perf_counter() - started
        self._snapshot_gap = max(self.settings.snapshot_interval_s, took * SNAPSHOT_SHARE)
        if self.wal is not None:  # segments DuckDB holds durably can go
            self.store.checkpoint()
            self.applied = self.store.contiguous_seq(self.applied)
            self.wal.truncate(self.applied)

    def _run(self) -> None:
        """The writer: a tick every `tick_interval_s`, and between ticks the writes other
        threads hand over (ingest/write_queue.py), run as soon as they are asked for."""
        writes = self.store.writes
        writes.attach()
        try:
            due = time.monotonic() + self.settings.tick_interval_s
            while not self._stop.is_set():
                writes.wake.wait(max(0.0, due - time.monotonic()))
                writes.wake.clear()
                writes.drain()
                if time.monotonic() >= due and not self._stop.is_set():
                    self.safe_tick()
                    due = time.monotonic() + self.settings.tick_interval_s
        finally:
            writes.detach()  # what still waits runs now; later writes in their callers

    def safe_tick(self) -> None:
        """A tick as the writer thread runs it: a failure (a full disk) is kept for
        /healthz and the next tick retries; intake goes on taking reports."""
        try:
            self.tick()
            self.last_error = None
        except Exception as exc:  # keep taking reports; /healthz tells the truth
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("tick failed")

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:  # deliveries run concurrently; one slow receiver holds up nobody else
                self.webhooks.run(self._stop, self.clock.now)
            except Exception:
                log.exception("webhook deliverer failed; restarting it")
                self._stop.wait(1.0)

    def start(self) -> None:
        if self.settings.tick_interval_s > 0 and self._thread is None:
            # Reports replayed from the log are stepped before the first request is
            # answered: a read right after a crash counts them all, however long the
            # writer's first tick would take on a loaded machine.
            if self.pipeline.waiting():
                self.safe_tick()
            self._thread = threading.Thread(target=self._run, name="writer", daemon=True)
            self._thread.start()
            self._deliverer = threading.Thread(
                target=self._deliver_loop, name="webhooks", daemon=True
            )
            self._deliverer.start()

    def stop(self) -> None:
        self._stop.set()
        self.store.writes.wake.set()
        for thread in (self._thread, self._deliverer):
            if thread is not None:
                thread.join()
        self._thread = self._deliverer = None
        self.webhooks.close()
        try:
            self.tick()
            self.snapshot()
            self.store.checkpoint()
        except Exception as exc:  # a full disk at exit: the log still holds every report
            self.stop_error = f"{type(exc).__name__}: {exc}"
            log.error(
                "could not write the final state (%s); acknowledged reports stay in the "
                "write-ahead log and are replayed on the next start",
                self.stop_error,
            )
        if self.wal is not None:
            self.wal.close()
        try:
            self.store.close()
        except Exception:  # already reported above
            log.exception("closing the database failed")


def _check_writable(data: Path) -> None:
    """Fail at start, with the reason, rather than on the first report."""
    try:
        data.mkdir(parents=True, exist_ok=True)
        probe = data / ".write-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise StoreError(
            f"the data directory {data} is not writable: {exc.strerror or exc}"
        ) from None


def import_answers(
    records: list[list[Any]], notes: list[dict[str, Any]], width: float
) -> dict[str, str]:
    """Imports replayed from the log (records carrying an idempotency key), with their
    answers: a retry of one after the restart counts nothing again. An import whose
    answer was logged (app/imports.py) gets that answer, and its rows in minutes that
    were closed then are replayed uncounted, as it said (the records are changed in
    place); one whose answer was never given gets the totals its rows give."""
    logged = {n["key"]: n for n in notes}
    totals: dict[str, list[int]] = {}
    for r in records:
        if len(r) > 8 and r[8] is not None:
            closed = logged.get(r[8], {}).get("closed_before")
            if closed is not None and r[6] and math.floor(r[1] / width) * width < closed:
                r[6] = False  # too late then: stored uncounted, as the answer said
            t = totals.setdefault(r[8], [0, 0, 0])
            t[0] += 1
            t[1] += r[7]
            t[2] += r[7] if r[6] else 0
    return {
        k: logged[k]["answer"]
        if k in logged
        else encode(
            None,
            {"accepted": a, "reports": n, "counted": c, "not_counted": n - c, "replayed": True},
        )
        for k, (a, n, c) in totals.items()
    }


def wal_frame(records: Iterable[list[Any]]) -> pl.DataFrame:
    """WAL records ([seq, ts, service, region, problem, reporter, counted, weight?, key?])
    as raw report rows."""
    rows = [
        {
            "ts": r[1], "service": r[2], "region": r[3], "problem": r[4], "reporter": r[5],
            "weight": r[7] if len(r) > 7 else 1, "counted": bool(r[6]), "seq": r[0],
        }
        for r in records
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=REPORT_COLUMNS)
