"""The pipeline: dedup -> aggregator -> store -> detector -> incidents.

One object, driven by stream time, shared by the server and `outagewatch replay`,
so a replay gives the incidents the server would have given live. Intake only
buffers (cheap, under a short lock); `advance(now)` does the real work in batches
on the single writer thread: it flushes raw reports, closes the buckets that
stream time has passed, steps the detector over every series and writes results.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
import polars as pl

from outagewatch.app.engine.chart import DayChart
from outagewatch.app.engine.config import IngestResult, PipelineConfig
from outagewatch.app.engine.early import Checks, PartialBuckets, PendingChecks, plan_checks
from outagewatch.app.engine.hour_counts import count_hours
from outagewatch.app.engine.intake_buffer import Buffered, ReportBuffer
from outagewatch.app.engine.open_incidents import OpenIncidents
from outagewatch.app.engine.read_view import ReadView, frozen
from outagewatch.app.engine.recent_problems import RecentProblems
from outagewatch.app.engine.snapshot import Snapshots
from outagewatch.detector.incidents import Incident, IncidentTracker, NewSeries, cold_alarm
from outagewatch.detector.kernels import screen_bar_ufunc
from outagewatch.detector.model import ModelParams, SeriesBank, may_be_evidence, recent_buckets
from outagewatch.detector.runs import Carried, run_limit, step_run
from outagewatch.ingest.aggregator import Aggregator, ClosedBatch
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.limits import PrefixCap
from outagewatch.ingest.series import SeriesKey
from outagewatch.ingest.store import Store

# The config and a batch's answer live in config.py; importable from here as before.
__all__ = ["IngestResult", "Pipeline", "PipelineConfig"]
LEVEL_NAMES = ("", "possible", "outage")
_STEP_SCHEMA = {
    "ts": pl.Float64,
    "sid": pl.Int64,
    "count": pl.Float64,
    "expected": pl.Float64,
    "score": pl.Float64,
    "level": pl.Int8,
}


class Pipeline(ReportBuffer, Snapshots):
    def __init__(
        self,
        config: PipelineConfig | None = None,
        store: Store | None = None,
        scores_sink: Callable[[pl.DataFrame], None] | None = None,
    ) -> None:
        self.config = cfg = config or PipelineConfig()
        self.store = store
        self.scores_sink = scores_sink
        self.dedup = Dedup(cfg.dedup_window_s)
        # Not in the snapshot: a restored pipeline starts with an empty cap, as the
        # embedded server's intake does after a restart.
        self.prefix_cap = PrefixCap(cfg.prefix_cap, cfg.dedup_window_s) if cfg.prefix_cap else None
        self.agg = Aggregator(cfg.bucket_seconds, cfg.allowed_lateness_s)
        self.bank = SeriesBank(
            ModelParams(**{**cfg.model.__dict__, "bucket_seconds": cfg.bucket_seconds})
        )
        self.tracker = IncidentTracker(cfg.incidents, cfg.bucket_seconds)
        self.partial = PartialBuckets(cfg.bucket_seconds, cfg.early_check_s, self.agg.series)
        # Counted reports per series per clock hour (a ring of 24): totals for the API
        # without scanning raw reports. `version` moves whenever readers' data changed.
        self.hourly = np.zeros((64, 24), dtype=np.float32)  # whole counts: exact to 16M
        self._hour_of: float | None = None
        self.version = 0
        self.chart = DayChart(cfg.bucket_seconds)
        self.problems = RecentProblems(span_s=3600.0)  # what pages show: the last hour
        self.view = ReadView.empty(cfg.bucket_seconds)  # what readers see (app/engine/read_view.py)
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        # Called with changed incidents before they are stored or heard by listeners:
        # the server adds its own fields to the feed objects (planned maintenance).
        self.markers: list[Callable[[list[dict[str, Any]]], None]] = []
        self.incidents: dict[str, Incident] = {}  # open ones and the latest resolved
        self.open_book = OpenIncidents()  # the open ones' feed objects, as stored
        self.now = 0.0
        self.silent_buckets = 0  # buckets skipped as system-wide silence (our outage)
        self._seen = np.zeros(0)  # counts per series while the system is cold
        self.reports_accepted = 0
        self.reports_counted = 0
        self._lock = threading.Lock()  # intake buffer vs the writer thread
        self._work = threading.Lock()  # one advance at a time
        self._buf: list[Buffered] = []
        self._pending_raw: list[pl.DataFrame] = []
        self._waiting_for: set[str] = set()
        self._retry: pl.DataFrame | None = None  # reports whose write failed, retried first
        self.held_back = 0  # rows of `_retry`: intake refuses past a cap (app/runtime.py)
        self._frontier: float | None = None  # buckets before it are (being) closed
        self._keys: list[tuple[str, str]] = []  # import idempotency keys and answers
        self._retry_keys: list[tuple[str, str]] = []
        # Outages opened from a partial bucket, credited with its reports so far:
        # series id -> (bucket, incident), until that bucket is stepped.
        self._credited: dict[int, tuple[float, Incident]] = {}
        self._later: dict[str, Incident] = {}  # stored after the snapshot (restore)

    def set_providers(self, providers: dict[str, tuple[str, ...]]) -> None:
        """Who runs on whom (the catalog's declared providers), for the detector's
        common-cause prior; called again whenever the catalog changes."""
        self.tracker.set_providers(providers)

    # --- the writer -------------------------------------------------------------------
    def advance(self, now: float) -> list[dict[str, Any]]:
        """Move stream time to `now`: flush, close buckets, detect. Returns changed incidents."""
        with self._work:
            self.now = max(self.now, now)
            raw, keys = self._drain_with_keys()
            if self.store is not None and (raw is not None or keys):
                try:  # keys first: a retry rewrites them, while reports go in once
                    if keys:
                        self.store.save_import_keys(keys)
                    if raw is not None:
                        self.store.append_reports(raw)
                except Exception:
                    with self._lock:  # kept, in order, for the next advance to retry
                        self._retry, self._retry_keys = raw, keys
                    self.held_back = 0 if raw is None else len(raw)
                    raise
                self.held_back = 0
            if raw is not None:
                counted = raw.with_columns(pl.col("weight") * pl.col("counted"))
                self.agg.add(counted)  # too-late reports are stored, just not counted
                if self.config.early_check_s > 0:
                    self.partial.add(counted)
            changed: dict[str, dict[str, Any]] = {}
            score_frames: list[pl.DataFrame] = []
            problem_frames: list[pl.DataFrame] = []
            pending = self._plan_partial()

            def before(start: float) -> None:
                # Partial-bucket checks whose model state is "stepped up to `start`".
                for checks in pending.due(start):
                    self._check_partial(checks, changed)
                if self._credited:
                    self._uncredit(start)

            for batch in self.agg.close(self.now):
                frame, probs = self._steps(batch, changed, before, pending)
                score_frames.append(frame)
                self.problems.add(batch.starts, batch.problems, self.agg.series.wide_mask())
                if not probs.is_empty():
                    problem_frames.append(probs)
            for checks in pending.due(math.inf):  # points in buckets that stay open
                self._check_partial(checks, changed)
            if self.agg.closed_until is not None:
                self.partial.prune(self.agg.closed_until)
            if self._later:  # the first advance after a restore
                for body in self.settle_later():
                    changed[body["id"]] = body
            self._write(score_frames, problem_frames, list(changed.values()))
            if raw is not None or score_frames or changed:
                self.version += 1
                self.publish()  # else nothing readers see has moved
            return list(changed.values())

    def _plan_partial(self) -> PendingChecks:
        """Grid points where a partial bucket may already prove an outage (app/engine/early.py).

        One vectorised pass finds the points where a series reaches the lowest bar
        its model could give it (`_screen_bar` of a zero peak); its own bar and the
        exact test follow at the model state a live server would have had at that
        moment (`_check_partial`), so batch cuts change nothing.
        """
        cfg = self.config
        grid = self.partial.grid(self.now) if cfg.early_check_s > 0 else np.empty(0)
        none = np.empty(0, dtype=np.int64)
        gi, sid = (
            self.partial.crossings(grid, self._screen_bar(np.zeros(len(self.agg.series))))
            if len(grid)
            else (none, none)
        )
        return plan_checks(grid, gi, sid, cfg.bucket_seconds, cfg.allowed_lateness_s, self.partial)

    def _screen_bar(self, peak: np.ndarray) -> np.ndarray:
        """Partial counts worth the exact test: far above a series' busiest hour."""
        floor = float(self.config.incidents.min_reporters_outage)
        return np.asarray(screen_bar_ufunc(peak, floor))

    def _check_partial(self, checks: Checks, changed: dict[str, dict[str, Any]]) -> None:
        """The screen and the exact test at points of one bucket; opens the outages
        they prove.

        Every point sees the same model state (nothing is stepped between them), so
        the screen's bar (from the daily peak as the model now has it) and the test
        run for all of them at once; the outages open in the order a live server
        would have opened them (by point, then series), each point's common cause
        taken before any of them opens.
        """
        ip = self.config.incidents
        # Most checks met while stepping one bucket at a time are for a series whose
        # incident is open: they end here, before any array is built.
        free = [s for s in checks.sids.tolist() if s not in self.tracker.open]
        if not free:
            return
        n = len(self.agg.series)
        self.bank.ensure(n)
        sids = np.array(free, dtype=np.int64)
        sids = sids[self._allowed(n)[sids]]
        if not len(sids):
            return
        b = checks.bucket
        counts = self.partial.series_counts(sids, checks.points)
        bar = self._screen_bar(self.bank.daily_peak(sids))
        # Counts only grow in a bucket: the first point at or over the bar, if any.
        first = (counts < bar[:, None]).sum(axis=1)
        passing = first < len(checks.points)
        if not passing.any():
            return
        sids, first, counts = sids[passing], first[passing], counts[passing]
        mu = self.bank.expected(b, n)[sids]
        if not may_be_evidence(counts[:, -1], mu).any():
            return
        rows, cols = np.nonzero(np.arange(len(checks.points))[None, :] >= first[:, None])
        log_p = self.bank.bucket_logsf(b, counts[rows, cols], sids[rows], mu[rows])
        hit = log_p <= math.log(ip.p_outage)
        if not hit.any():
            return
        rows, cols = rows[hit], cols[hit]
        order = np.lexsort((sids[rows], cols))
        keys = self.agg.series.keys()
        cause, cause_at = None, -1
        for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
            sid = int(sids[r])
            if sid in self.tracker.open:
                continue
            g = float(checks.points[c])
            if c != cause_at:  # as a closed bucket's: before this point's openings
                cause, cause_at = self.tracker.common_cause(b, g, keys), c
            inc = self.tracker.open_early(
                sid, keys[sid], b, g, float(mu[r]), None if cause is None else cause.of.get(sid)
            )
            if inc is not None:
                self.bank.restart_cusum([sid])
                self._credit(inc, sid, b, g, float(counts[r, c]), keys)
                self.incidents[inc.id] = inc
                changed[inc.id] = inc.to_dict()

    def _credit(
        self, inc: Incident, sid: int, b: float, g: float, count: float, keys: Sequence[SeriesKey]
    ) -> None:
        """An outage opened from a partial bucket carries the reports that opened it:
        the count so far as its peak and total, with their problems and regions.
        Taken back just before the bucket is stepped, which counts the whole bucket
        (so nothing is counted twice)."""
        problems, regions = self.partial.breakdown(sid, g)
        inc.peak_reports = inc.total_reports = int(count)
        inc.problems = problems
        if inc.region is None:
            inc.regions = {str(keys[rid][1]): k for rid, k in regions.items()}
            for other in self.tracker.open.values():
                if other.service == inc.service and other.region is not None:
                    inc.region_levels[other.region] = other.level
        self._credited[sid] = (b, inc)

    def _uncredit(self, start: float) -> None:
        """Before bucket `start` is stepped: credited incidents of buckets up to it go
        back to their state at opening, and the tracker counts the closed buckets."""
        for sid, (b, inc) in list(self._credited.items()):
            if b <= start:
                del self._credited[sid]
                inc.total_reports = inc.peak_reports = 0
                inc.problems, inc.regions, inc.region_levels = {}, {}, {}

    def _steps(
        self,
        batch: ClosedBatch,
        changed: dict[str, dict[str, Any]],
        before: Callable[[float], None] | None = None,
        pending: PendingChecks | None = None,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Step the detector and tracker through a run of closed buckets.

        `before(start)` runs what is due before bucket `start` is stepped: the
        `pending` partial-bucket checks. Runs of buckets where no incident is open or
        opens are stepped in one compiled pass (detector/runs.py), which
        passes the checks that would do nothing and stops at those that would do
        more; the other buckets are stepped one at a time, numpy over all series.
        Frames are built once per run.
        """
        width = self.config.bucket_seconds
        # A bucket is decided this long after it starts (when a server closes it).
        delay = width + self.config.allowed_lateness_s
        keys = self.agg.series.keys()
        n, nb = len(keys), len(batch.starts)
        self.bank.ensure(n)
        counts_all = batch.counts
        if counts_all.shape[1] < n:  # series born in a later batch of the same close
            counts_all = np.pad(counts_all, ((0, 0), (0, n - counts_all.shape[1])))
        starts = np.asarray(batch.starts, dtype=np.float64)
        expected = np.empty((nb, n))
        score = np.empty((nb, n))
        levels = np.empty((nb, n), dtype=np.int8)
        wide = self._wide_ids(n)
        # `slow`: where a run stopped, stepped one at a time. A run stopped by a
        # partial-bucket check is not: the check runs (`before`), and if it opened
        # nothing the next run starts at that same bucket.
        i, slow = 0, -1
        while i < nb:
            start = float(starts[i])
            if before is not None:
                before(start)
            if i != slow and not self._credited:
                carried = Carried(keys, batch.problem_counts)
                j = step_run(self.bank, self.tracker, starts, counts_all, i,
                               run_limit(self.bank, i, nb), delay, (expected, score, levels),
                               pending, (wide, self.config.silence_expected),
                               None if self.bank.warm else self._seen_of(n), carried)  # fmt: skip
                if j > i:
                    for inc in carried.changed:  # copies, some: the register keeps its own
                        changed[inc.id] = inc.to_dict()
                    i = j
                    if j == nb or pending is None or not pending.is_due(float(starts[j])):
                        slow = j
                    continue
            counts = counts_all[i]
            silent = self._silent(start, counts, n)
            if silent is not None:  # our outage: not data, neither learned nor scored
                expected[i], score[i], levels[i] = silent, 0.0, 0
            else:
                allowed = self._allowed(n)
                warming = np.flatnonzero(~allowed)  # their CUSUM starts with watching
                step = self.bank.score(start, counts)
                forced = None if self.bank.warm else self._cold(step, counts, n)
                problems = partial(batch.problem_counts, lo=i)
                incidents, learn, lv = self.tracker.observe(
                    start, start + delay, step, counts, keys, problems,
                    allowed=allowed, forced=forced, young=self._young,
                )  # fmt: skip
                self.bank.learn(learn)
                if self.tracker.just_opened or warming.size:
                    self.bank.restart_cusum(
                        np.concatenate(
                            (np.array(self.tracker.just_opened, dtype=np.int64), warming)
                        )
                    )
                if self.tracker.just_resolved:
                    self.bank.consume_evidence(self.tracker.just_resolved)
                for inc in incidents:
                    self.incidents[inc.id] = inc
                    changed[inc.id] = inc.to_dict()
                expected[i], score[i], levels[i] = step.expected, step.score, lv
            i += 1
        # What readers keep of them (nothing reads it while stepping): once per batch.
        self._record(starts, counts_all, expected, levels, keys)
        # Numbers only: names are joined on later, for the rows that are kept.
        frame = pl.DataFrame(
            {
                "ts": np.repeat(batch.starts, n),
                "sid": np.tile(np.arange(n), nb),
                "count": counts_all.ravel(),
                "expected": expected.ravel(),
                "score": score.ravel(),
                "level": levels.ravel(),
            },
            schema=_STEP_SCHEMA,
        )
        service, region = self.agg.series.names(batch.problems["sid"])
        probs = batch.problems.select(
            (pl.col("b") * width + float(batch.starts[0]) if nb else pl.lit(0.0)).alias("ts"),
            service,
            region,
            "problem",
            "count",
        )
        return frame, probs

    def _silent(self, start: float, counts: np.ndarray, n: int) -> np.ndarray | None:
        """Expected counts if bucket `start` is a system-wide silence, else None.

        Every series falling silent at once while the system expected at least
        `silence_expected` reports (P(nothing) < 1e-8 even for a quiet crowd) is our
        outage, not the users' quiet. Such a bucket is skipped by the detector: no
        series learns from it, no incident counts it as quiet, and the windows run
        from the last bucket before the gap to the first after it, so the return of
        normal traffic is compared with normal, not with the silence.
        """
        if counts.any():
            return None
        mu = self.bank.expected(start, n)
        if float(mu[self._wide_ids(n)].sum()) < self.config.silence_expected:
            return None
        self.silent_buckets += 1
        return np.asarray(mu)

    def _wide_ids(self, n: int) -> np.ndarray:
        """The service-wide series among the first n: a silence is judged over them."""
        wide = self.agg.series.wide_ids()
        return wide[wide < n]

    def _seen_of(self, n: int) -> np.ndarray:
        """Counts per series over all the system has seen while cold (n of them)."""
        if len(self._seen) < n:
            self._seen = np.pad(self._seen, (0, n - len(self._seen)))
        return self._seen

    def _cold(self, step: Any, counts: np.ndarray, n: int) -> np.ndarray:
        """On a cold system, the series with counts no baseline could explain."""
        self._seen_of(n)[: len(counts)] += counts[:n]
        return cold_alarm(
            step.recent,
            self._seen,
            self.bank.system_age + 1,
            recent_buckets(self.config.bucket_seconds),
            self.bank.prior_per_bucket,
            self.config.incidents,
        )

    @property
    def _young(self) -> NewSeries:
        """Which series have no baseline yet, and the rate a new one is assumed at."""
        return NewSeries(self.bank.age, self.bank.day_buckets, self.bank.prior_per_bucket)

    def _allowed(self, n: int) -> np.ndarray:
        """Series that may raise incidents: every one, once the system has seen a day.

        Before that nothing has a normal to compare with; after it, a series born
        yesterday has its own day of data, and one born now (a service never seen
        before) has the new-series prior, against which a burst stands out. CUSUMs are
        held at zero until then, so no evidence piles up while alarms are not allowed.
        """
        return np.full(n, self.bank.warm, dtype=bool)

    def _write(
        self,
        score_frames: list[pl.DataFrame],
        problem_frames: list[pl.DataFrame],
        changed: list[dict[str, Any]],
    ) -> None:
        if changed:
            for mark in self.markers:
                mark(changed)
        scores = pl.concat(score_frames) if score_frames else None
        if scores is not None:
            if self.scores_sink is not None:
                self.scores_sink(self._named(scores))
            if self.store is not None:
                keep = scores.filter(  # quiet regional series are not stored
                    pl.Series(self.agg.series.wide_mask()).gather(scores["sid"])
                    | (pl.col("count") > 0)
                    | (pl.col("level") > 0)
                )
                self.store.append_series_buckets(self._named(keep))
        if self.store is not None:
            if problem_frames:
                self.store.append_problem_buckets(pl.concat(problem_frames))
            details = {
                d["id"]: self.incidents[d["id"]].to_record()
                for d in changed
                if d["id"] in self.incidents
            }
            self.store.upsert_incidents(changed, details)
        self.open_book.note(changed)
        if changed:
            for listener in self.listeners:
                listener(changed)
            self._forget_resolved()

    def _named(self, scores: pl.DataFrame) -> pl.DataFrame:
        """A step's rows with their series' names and level words, as stored and written."""
        service, region = self.agg.series.names(scores["sid"])
        return scores.select(
            "ts",
            service,
            region,
            "count",
            "expected",
            "score",
            pl.col("level").replace_strict(
                list(range(len(LEVEL_NAMES))), list(LEVEL_NAMES), return_dtype=pl.String
            ),
        )

    def _forget_resolved(self) -> None:
        """Bound the memory of a long-running server: the oldest resolved go first
        (the dict keeps the order incidents first appeared in, which is their opening)."""
        cap = self.config.keep_resolved
        if cap is None:
            return
        excess = len(self.incidents) - len(self.tracker.open) - cap
        if excess <= 0:
            return
        resolved = (i for i, inc in self.incidents.items() if inc.state != "open")
        old = list(islice(resolved, excess))
        for incident_id in old:
            del self.incidents[incident_id]

    # --- state ------------------------------------------------------------------------
    def _record(
        self,
        starts: np.ndarray,
        counts: np.ndarray,
        expected: np.ndarray,
        levels: np.ndarray,
        keys: Sequence[SeriesKey],
    ) -> None:
        """What readers keep of stepped buckets: hourly counts and the day chart."""
        n = counts.shape[1]
        if self.hourly.shape[0] < n:
            grown = np.zeros((max(n, 2 * self.hourly.shape[0]), 24), dtype=np.float32)
            grown[: self.hourly.shape[0]] = self.hourly
            self.hourly = grown
        was = -1 if self._hour_of is None else int(self._hour_of)
        self._hour_of = count_hours(self.hourly, was, starts, counts)
        self.chart.record(starts, counts, expected, levels, keys)

    def publish(self) -> None:
        """Publish what readers may see, as of now: by advance (under the writer's lock)
        and once a restore is complete (before the writer runs).

        Totals are counted reports per series over the last hour (the detector's
        longest window: an hour at 1m, 5m and 1h buckets) and the last day, closed
        buckets plus the still-open ones, so a report shows at the next tick."""
        n = len(self.agg.series)
        open_starts, open_counts = self.partial.open_buckets(n)
        open_now = open_counts.sum(axis=0)
        hour, hour_expected = np.zeros(n), np.zeros(n)
        k = min(n, self.bank.n)
        hour[:k] = self.bank.win_x[:k, -1]
        hour_expected[:k] = self.bank.win_mu[:k, -1]
        day = np.zeros(n)
        k = min(n, self.hourly.shape[0])
        day[:k] = self.hourly[:k].sum(axis=1, dtype=np.float64)
        learning = np.ones(n, dtype=np.bool_)
        if self.bank.warm:
            k = min(n, self.bank.n)
            learning[:k] = self.bank.age[:k] < self.bank.day_buckets
        levels = Counter(inc.level for inc in self.tracker.open.values())
        self.view = ReadView(
            version=self.version,
            closed_until=self.agg.closed_until,
            n=n,
            series=self.agg.series,
            hour=frozen(hour + open_now),
            day=frozen(day + open_now),
            hour_expected=frozen(hour_expected),
            learning=frozen(learning),
            phi=frozen(np.array(self.bank.phi()[: min(n, self.bank.n)], dtype=np.float64)),
            chart=self.chart,
            chart_last=self.chart.last,
            open_by_level=dict(levels),
            open_starts=frozen(open_starts),
            open_counts=frozen(open_counts),
            too_late=self.agg.too_late,
            buckets_stepped=self.bank.steps,
            problems=self.problems.view(),
            open=self.open_book.view(),
        )

    def all_incidents(self) -> list[dict[str, Any]]:
        return [inc.to_dict() for inc in sorted(self.incidents.values(), key=_order)]


def _order(inc: Incident) -> tuple[float, str]:
    return inc.opened_at, inc.id
