"""The per-series model: seasonal negative-binomial counts with a slowly moving level.

Every watched series is one row in a set of numpy arrays (`SeriesBank`), and one
closed bucket updates all series in one compiled pass over them (`kernels.py`);
`SeasonalNB` is the same model for one series behind river's `AnomalyDetector`
interface.

Per bucket, for each series:

    expected  mu = level x week[hour-of-week]
    week[s]   = (Xw[s] + k * day[hour(s)]) / (Ew[s] + k)   gamma-Poisson posteriors:
    day[h]    = (Xd[h] + k) / (Ed[h] + k)                  a series' discounted counts
                X in that slot against its exposure E there, exposure being the plain
                daily-mean rate. The hour-of-week shape is shrunk toward the current
                hour-of-day shape (learned within days), which is shrunk toward a flat
                day while a series has little data. Nothing is shared between series,
                so a partitioned deployment (workers each holding some series) gives
                exactly the embedded mode's results. Shapes learn every bucket.
    level     = (XL + k * base) / (EL + k): recent discounted counts against recent
                exposure (halflife ~12 h, so growth is normal), shrunk toward `base`,
                the two-week level, when the recent past holds few reports. Shapes are
                measured against the daily mean, not the level, so the two cannot
                drift against each other.
    dispersion phi (variance = mu + phi mu^2), learned from residuals

Evidence is the negative-binomial tail probability of the last 1, 5, 15 and 60
buckets' counts (Bonferroni over windows) and of a CUSUM for a doubling of the
rate, which catches slow sustained rises. `p` is the smaller of the two; the score
is 1 - p. Score first, then learn; series with an open incident do not learn
(bounded by the caller), so an outage is not taken as the new normal.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from outagewatch.detector import kernels
from outagewatch.detector.kernels import hour_of_week as hour_of_week  # re-exported

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

SLOTS = 168  # hours of the week; Monday 00:00 UTC is slot 0
RING = 60  # buckets of history kept for the windowed tests
# Series whose window sums are recomputed at a time (`_resum`, once a day): a
# 60-bucket window's copy of a million series would be big.
BLOCK = 1 << 16
RESUM_STEPS = 1440  # window sums recomputed exactly from the ring once this many steps


def by_slot(cap: int, slots: int) -> F32:
    """Room for `slots` values a series (ring buckets, hours of the day or week), laid
    out slot by slot: a step writes one slot of every series, and in this layout that
    is one run of memory (4 bytes a series), not a few bytes of every page. A million
    new series touch 1/60th of their rings in their first minute instead of faulting
    in all of their state at once, a step reads and writes less memory, and a
    series holds the hours of the week it has lived, not all 168 from its first day.
    Indexed `[series, slot]` either way.

    >>> a = by_slot(1000, 60)
    >>> a.shape, a[:, 7].flags.c_contiguous
    ((1000, 60), True)
    """
    return np.zeros((cap, slots), dtype=np.float32, order="F")


def recent_buckets(bucket_seconds: int) -> int:
    """Buckets in the ~15 minutes whose counted reports the reporter floors read.

    >>> recent_buckets(60), recent_buckets(300), recent_buckets(3600)
    (15, 3, 1)
    """
    return max(1, min(RING, 900 // bucket_seconds))


def halflife_alpha(halflife_updates: float) -> float:
    return float(1.0 - 0.5 ** (1.0 / max(halflife_updates, 1e-9)))


@dataclass(frozen=True)
class ModelParams:
    bucket_seconds: int = 60
    level_halflife_s: float = 12 * 3600
    shape_halflife_weeks: float = 3.0
    day_halflife_days: float = 7.0
    shape_prior_reports: float = 10.0  # k: reports in an hour slot that outweigh the prior
    level_prior_reports: float = 5.0
    # recent reports that outweigh the two-week level
    phi_prior: float = 0.1
    phi_prior_weight: float = 50.0  # in units of mu^2 evidence
    phi_halflife_s: float = 7 * 86400
    phi_min: float = 0.005
    phi_max: float = 4.0
    phi_persistent: float = 0.5  # share of a rate swing that does not average out over windows
    # Evidence: a surge must be beyond counting noise (negative binomial, small fixed
    # overdispersion) AND beyond the routine swings of a crowd's rate, which are
    # multiplicative (news, pile-ons) and alike across series: log-normal, variance
    # `rate_var` of the multiple. 0.3 puts a single bucket at 16x normal at p = 1e-8.
    count_phi: float = 0.05
    rate_var: float = 0.3
    # Each series learns its own swings at every window length (bursts included, every
    # bucket, halflife two weeks): a crowd that bursts often (news, launches) needs a
    # larger multiple to alarm, one whose swings average out over minutes (independent
    # people) alarms on a smaller sustained one. The prior (weight a day) is
    # `rate_var` shrunk over a window to its persistent share (`phi_persistent`).
    rate_var_halflife_s: float = 14 * 86400
    rate_var_min: float = 0.02
    rate_var_max: float = 3.0
    windows_s: tuple[int, ...] = (60, 300, 900, 3600)
    # Windows longer than one bucket speak of a sustained rise: a bucket enters them at
    # most `window_clip` x its normal plus `window_clip_reports`, so one spike (judged
    # by the one-bucket test) does not keep them alarmed for the next hour.
    window_clip: float = 16.0
    window_clip_reports: float = 5.0
    # Slow rises: a CUSUM over whole hours for a `cusum_k`-fold rate. An hour's multiple
    # of normal is one observation, judged against the routine swings of a rate
    # (log-normal, `rate_var`) plus its counting noise, because crowds swing for
    # hours at a time: a news day at 2-3x for a few hours stays below the bar, a tool
    # degraded at 2.5x through a working day reaches it.
    cusum_k: float = 2.0
    cusum_cap: float = 30.0
    new_series_level: float = 0.02  # reports per minute assumed for a brand-new series
    clip_swing_sd: float = 2.0  # ... and at mu x exp(this x the one-bucket log sd)
    clip_sd: float = 4.0  # learn from counts clipped at mu + clip_sd * sd (robust to spikes)

    @property
    def windows(self) -> tuple[int, ...]:
        w = sorted({max(1, s // self.bucket_seconds) for s in self.windows_s})
        return tuple(x for x in w if x <= RING)


def nb_sf(x: F64, mu: F64, phi: F64) -> F64:
    """P(X >= x) for a negative binomial with mean mu and variance mu + phi mu^2.

    Only counts above their mean can be evidence: elsewhere the tail is >= ~1/2, and
    it is left at 1, which spares the incomplete beta for most series in most buckets.

    >>> float(nb_sf(np.array([0.0]), np.array([3.0]), np.array([0.1]))[0])
    1.0
    >>> round(float(nb_sf(np.array([5.0]), np.array([3.0]), np.array([0.1]))[0]), 3)
    0.204
    >>> 0.0 < float(nb_sf(np.array([30.0]), np.array([3.0]), np.array([0.1]))[0]) < 1e-9
    True
    """
    out: F64 = kernels.nb_sf_ufunc(x, mu, phi)
    return out


def nb_logsf(x: F64, mu: F64, phi: F64) -> F64:
    """log P(X >= x), exact where the tail is representable and asymptotic beyond it.

    Where `betainc` underflows (tails below ~1e-300) the log is taken of the
    probability mass at x times the geometric sum of the following terms, whose
    ratio only falls as x grows: a strict, slightly generous bound that keeps
    ranking stronger evidence higher however extreme it is.

    >>> float(nb_logsf(np.array([0.0]), np.array([3.0]), np.array([0.1]))[0])
    0.0
    >>> a, b = nb_logsf(np.array([5000.0, 9000.0]), np.array([3.0, 3.0]), np.array([0.1, 0.1]))
    >>> bool(b < a < math.log(1e-300))
    True
    >>> x, m, f = np.array([30.0]), np.array([3.0]), np.array([0.1])
    >>> bool(abs(nb_logsf(x, m, f)[0] - math.log(nb_sf(x, m, f)[0])) < 1e-9)
    True
    """
    out: F64 = kernels.nb_logsf_ufunc(x, mu, phi)
    return out


def rate_logsf(x: F64, mu: F64, var: F64) -> F64:
    """log P(the rate is at least the multiple of `mu` that x needs), for a log-normal
    multiple with mean 1 and variance `var`.

    Routine swings of a crowd's rate are multiplicative, so a rate k times normal is as
    rare in a busy series as in a quiet one. Counting noise is left to the count test:
    here x asks only for the rate that makes it with even odds, about x - sqrt(x).

    >>> lp = rate_logsf(np.array([50.0, 160.0, 500.0]), np.full(3, 10.0), np.full(3, 0.3))
    >>> [round(float(v), 1) for v in lp / math.log(10)]  # log10 p at 4x, 14x, 48x
    [-3.0, -7.7, -14.5]
    """
    out: F64 = kernels.rate_logsf_ufunc(x, mu, var)
    return out


def may_be_evidence(x: F64, mu: F64) -> B:
    """Where x reports against `mu` expected can be evidence at all: the rate test
    gives p = 1 unless x - sqrt(x) > mu (see `rate_logsf`), and the evidence is the
    weaker of the two tests, so elsewhere `evidence_logsf` is >= 0. A cheap screen
    that never drops a bucket the exact test would flag.

    >>> may_be_evidence(np.array([10.0, 20.0]), np.array([8.0, 8.0])).tolist()
    [False, True]
    >>> x, m = np.array([10.0]), np.array([8.0])
    >>> float(evidence_logsf(x, m, np.array([0.05]), np.array([0.02]))[0]) >= 0
    True
    """
    out: B = kernels.may_be_evidence_ufunc(x, mu)
    return out


def evidence_logsf(x: F64, mu: F64, count_phi: F64, rate_var: F64) -> F64:
    """log p of x reports against `mu` expected: the weaker of the counting-noise and
    the rate-swing tests, since a real surge has to pass both.

    Both tests run only where `may_be_evidence` holds: elsewhere the rate test is 0,
    and so is the weaker of the two (the incomplete beta of the count test was a fifth
    of a replay, on entries that could never be evidence). Elementwise, so the values
    are those of the tests over every entry.

    >>> x, m = np.array([3.0, 40.0, 12.0]), np.array([2.0, 10.0, 10.0])
    >>> f, v = np.full(3, 0.05), np.full(3, 0.2)
    >>> everywhere = np.maximum(nb_logsf(x, m, f), rate_logsf(x, m, v))
    >>> bool((evidence_logsf(x, m, f, v) == everywhere).all()), everywhere[[0, 2]].tolist()
    (True, [0.0, 0.0])
    """
    out: F64 = kernels.evidence_logsf_ufunc(x, mu, count_phi, rate_var)
    return out


def score_of(log_p: F64) -> F64:
    """Evidence as a score in [0, 1): -log10(p) / (-log10(p) + 8), so 0.5 is p = 1e-8
    (the outage bar), 0.43 is 1e-6 (possible) and it never saturates: p = 1e-100 is
    0.93 and 1e-1000 is 0.992, always strictly higher for stronger evidence.

    >>> [round(float(s), 3) for s in score_of(np.log(np.array([1.0, 1e-8, 1e-100])))]
    [0.0, 0.5, 0.926]
    """
    out: F64 = kernels.score_ufunc(log_p)
    return out


@dataclass
class Step:
    """What one bucket did to every series, score-before-learn."""

    expected: F64
    p: F64  # combined evidence: the smaller of the window tests and the CUSUM bound
    p1: F64  # single-bucket tail probability (for onset and activity)
    p_short: F64  # ~5-minute window tail probability (or p1 with coarse buckets)
    p_mid: F64  # ~15-minute window tail probability
    cusum: F64
    rising: B  # the CUSUM grew this bucket: the rate is still above normal
    recent: F64  # counts over the last 15 minutes (distinct-reporter floor)
    log_p: F64 | None = None  # log of p, exact far beyond where p underflows
    known_score: F64 | None = field(default=None, repr=False)  # score_of(log_p), if given

    def __post_init__(self) -> None:
        if self.log_p is None:
            with np.errstate(divide="ignore"):
                self.log_p = np.log(self.p)

    @cached_property
    def score(self) -> F64:
        """Computed once (the bank's step gives it): the tracker reads it for every
        open incident, and at a million series each computation is a pass over every
        series."""
        if self.known_score is not None:
            return self.known_score
        assert self.log_p is not None
        return score_of(self.log_p)


class SeriesBank:
    """State of many series, one row each. About 2 KB a series."""

    # What score leaves for learn: t, counts, expected, phi, shape and the closed CUSUM
    # (the window sums are taken again from the ring, as score took them).
    _pending: tuple[float, F64, F64, F64, F64, F64]

    def __init__(
        self, params: ModelParams | None = None, capacity: int = 64, block: int = BLOCK
    ) -> None:
        self.params = p = params or ModelParams()
        self.block = block  # series re-summed at a time (see BLOCK)
        self.windows = p.windows
        width = p.bucket_seconds
        self._a_level = halflife_alpha(p.level_halflife_s / width)
        self._a_dmean = halflife_alpha(86400 / width)
        self._a_base = halflife_alpha(14 * 86400 / width)
        self.day_buckets = max(1, 86400 // width)  # a series this old has a baseline
        self._d_level = 1.0 - self._a_level
        per_slot_week = max(3600 / width, 1.0)
        self._d_shape = 0.5 ** (1.0 / (p.shape_halflife_weeks * per_slot_week))
        self._d_day = 0.5 ** (1.0 / (p.day_halflife_days * per_slot_week / 7))
        self._a_phi = halflife_alpha(p.phi_halflife_s / width)
        self._a_rv = halflife_alpha(p.rate_var_halflife_s / width)
        self._rv_weight = 86400 / width
        pers = p.phi_persistent
        self._rv_prior = np.array([p.rate_var * (pers + (1 - pers) / w) for w in self.windows])
        self._recent_w = recent_buckets(width)
        # Per-bucket constants of the ring arithmetic, built once.
        self._win = np.asarray(self.windows, dtype=np.int64)
        self._before = np.arange(1, self._recent_w, dtype=np.int64)
        self._log1p_prior_w = np.log1p(self._rv_prior) * self._rv_weight
        self._c = kernels.Consts(
            k=p.shape_prior_reports,
            prior=self.prior_per_bucket,
            phi_prior_w=p.phi_prior * p.phi_prior_weight,
            phi_w=p.phi_prior_weight,
            phi_min=p.phi_min,
            phi_max=p.phi_max,
            kl=p.level_prior_reports,
            rv_w=self._rv_weight,
            rv_min=p.rate_var_min,
            rv_max=p.rate_var_max,
            count_phi=p.count_phi,
            clip=p.window_clip,
            clip_reports=p.window_clip_reports,
            log_nw=math.log(len(self.windows)),
            lk=math.log(p.cusum_k),
            cusum_cap=p.cusum_cap,
            a_rv=self._a_rv,
            a_base=self._a_base,
            a_dmean=self._a_dmean,
            d_level=self._d_level,
            d_day=self._d_day,
            d_shape=self._d_shape,
            a_phi=self._a_phi,
            clip_swing_sd=p.clip_swing_sd,
            clip_sd=p.clip_sd,
            day_buckets=self.day_buckets,
        )
        self.n = 0
        self.steps = 0
        self.pos = 0  # ring position of the next bucket, shared by all series
        self._alloc(capacity)
        self.system_age = 0  # buckets stepped: the system's own warm-up
        self.hour_of = -1  # the clock hour the hour sums belong to

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        # The step's views of the arrays (`_state`); None whenever the arrays change.
        self._views: tuple[int, tuple[Any, ...], tuple[Any, ...]] | None = None
        nw = len(self.windows)
        self.level = np.zeros(cap)  # the level in use (kept for snapshots and readers)
        self.lvl_x = np.zeros(cap)  # recent discounted counts
        self.lvl_e = np.zeros(cap)  # recent discounted exposure (shape units)
        self.base = np.zeros(cap)  # two-week level: EWMA of count / shape
        self.dmean = np.zeros(cap)  # EWMA of raw counts over about a day
        self.age = np.zeros(cap, dtype=np.int64)
        self.born_warm = np.zeros(cap, dtype=np.bool_)
        # A series is born at its first report, not when it was registered: its age,
        # learning and cold/warm start then do not depend on how buckets were batched.
        self.alive = np.zeros(cap, dtype=np.bool_)
        self.shape_x = by_slot(cap, SLOTS)
        self.shape_e = by_slot(cap, SLOTS)
        self.day_x = by_slot(cap, 24)
        self.day_e = by_slot(cap, 24)
        self.phi_d = np.zeros(cap)  # discounted sum of (x - mu)^2 - mu
        self.phi_q = np.zeros(cap)  # discounted sum of mu^2
        self.cusum = np.zeros(cap)
        # Per window: discounted sums of squared log multiples (less counting noise).
        self.rv_d = np.zeros((cap, nw))
        self.rv_q = np.zeros((cap, nw))
        self.hour_x = np.zeros(cap)  # counts of the hour in progress (for the CUSUM)
        self.hour_mu = np.zeros(cap)  # and what was expected in it
        self.ring_x = by_slot(cap, RING)
        self.ring_xc = by_slot(cap, RING)  # as the windows see it
        self.ring_mu = by_slot(cap, RING)
        # Running sums over each window of the ring (count, clipped count, mu), in step.
        self.win_x = np.zeros((cap, nw))
        self.win_xc = np.zeros((cap, nw))
        self.win_mu = np.zeros((cap, nw))

    def _grow(self, n: int) -> None:
        if n <= self.cap:
            return
        old = {k: getattr(self, k)[: self.n] for k in self._array_names()}
        self._alloc(max(n, self.cap * 2))
        for k, v in old.items():
            new = getattr(self, k)
            if v.ndim == 1:
                new[: len(v)] = v
                continue
            # Slot by slot, only the slots ever written: a copy of an unwritten one
            # would touch its pages (2 MB at a time, numpy asks for huge pages).
            for slot in np.flatnonzero(v.any(axis=0)).tolist():
                new[: len(v), slot] = v[:, slot]

    @staticmethod
    def _array_names() -> tuple[str, ...]:
        return ("level", "lvl_x", "lvl_e", "base", "dmean", "age", "born_warm", "alive",
                "shape_x", "shape_e", "day_x", "day_e", "phi_d", "phi_q", "cusum",
                "hour_x", "hour_mu", "rv_d", "rv_q", "ring_x", "ring_xc", "win_xc",
                "ring_mu", "win_x", "win_mu")  # fmt: skip

    def ensure(self, n: int) -> None:
        """Make room for series ids < n (born at their first report)."""
        if n <= self.n:
            return
        self._grow(n)
        self.n = n

    @property
    def warm(self) -> bool:
        """The system has seen a day of data: a series born now is genuinely new."""
        return self.steps_to_warm() == 0

    def steps_to_warm(self) -> int:
        """Buckets the system still steps cold, before it has seen a day (0: warm)."""
        day = -(-86400 // self.params.bucket_seconds)  # the buckets in a day, rounded up
        return max(0, int(day) - self.system_age)

    def _rows(self, n: int | slice | None) -> slice:
        """The series a call is about: the first n (all when None), or a slice of them."""
        if isinstance(n, slice):
            return n
        return slice(0, self.n if n is None else n)

    def _blocks(self, n: int) -> Iterator[slice]:
        """The first n series, `block` at a time. Never a block of one series alone:
        numpy sums a lone row's window pairwise and several rows' in order, and a
        block must give exactly the values of one pass."""
        size, lo = max(self.block, 2), 0
        while lo < n:
            hi = min(lo + size, n)
            hi = n if n - hi == 1 else hi
            yield slice(lo, hi)
            lo = hi

    def expected(self, t: float, n: int | None = None) -> F64:
        return self._expected(t, self._rows(n))[0]

    def _expected(self, t: float, rows: slice) -> tuple[F64, F64]:
        """Expected counts in bucket `t` and the shape behind them."""
        return kernels.expected_rows(
            self.age[rows], self.level[rows], self.day_x[rows], self.day_e[rows],
            self.shape_x[rows], self.shape_e[rows], hour_of_week(t), self._c,
        )  # fmt: skip

    @property
    def prior_per_bucket(self) -> float:
        """The reports a bucket a brand-new series is assumed at."""
        return self.params.new_series_level * self.params.bucket_seconds / 60

    def daily_peak(self, sids: I64) -> F64:
        """Each series' expected count at its busiest hour of the day, doubled (a
        generous bar: the partial-bucket screen's, app/engine/pipeline.py)."""
        out: F64 = kernels.daily_peak_rows(
            self.day_x, self.day_e, self.level, self.age, sids, self._c
        )
        return out

    def rate_var(self, n: int | slice | None = None) -> F64:
        """Each series' variance of its rate's multiple of normal, per window (n, windows):
        its discounted squared log multiples, shrunk toward the prior (a day's weight)."""
        rows = self._rows(n)
        out: F64 = kernels.rate_var_rows(
            self.rv_d[rows], self.rv_q[rows], self._log1p_prior_w, self._c
        )
        return out

    def bucket_logsf(self, t: float, x: F64, sids: I64, mu: F64 | None = None) -> F64:
        """log p of x reports in bucket `t` for series `sids` (one each), by the same
        one-bucket test as `score`, Bonferroni-corrected over the windows as there:
        for a partial bucket that already proves an outage (app/engine/early.py). `mu`, if
        given, is `expected(t)[sids]` as the caller already has it."""
        n = self.n
        if mu is None:
            mu = self.expected(t, n)[sids]
        extra = self.estimate_variance(t, n)[sids]
        rv = self.rate_var(n)[sids, 0]
        p = self.params
        out: F64 = evidence_logsf(x, mu, p.count_phi + extra, rv + extra)
        return np.minimum(out + math.log(len(self.windows)), 0.0)

    def phi(self, n: int | slice | None = None) -> F64:
        rows = self._rows(n)
        out: F64 = kernels.phi_rows(self.phi_d[rows], self.phi_q[rows], self._c)
        return out

    def estimate_variance(self, t: float, n: int | slice) -> F64:
        """Relative variance of the expectation itself (posterior predictive): a rate
        learned from few reports is uncertain, and that does not average out over a
        window. About 1/(reports behind it) for the level and each shape."""
        rows = self._rows(n)
        out: F64 = kernels.extra_rows(
            self.day_e[rows], self.shape_e[rows], self.lvl_x[rows], hour_of_week(t), self._c
        )
        return out

    def step(self, t: float, counts: F64, learn: B | None = None) -> Step:
        """Score bucket `t` (its start) for every series, then learn where `learn` is set."""
        out = self.score(t, counts)
        self.learn(learn)
        return out

    def _state(self, n: int) -> tuple[tuple[npt.NDArray[Any], ...], tuple[npt.NDArray[Any], ...]]:
        """The arrays a step reads and writes, for the first n series (views, kept until
        the arrays or n change: building them is a tenth of a small bank's step)."""
        if self._views is None or self._views[0] != n:
            names = ("age", "level", "lvl_x", "day_x", "day_e", "shape_x", "shape_e", "phi_d",
                     "phi_q", "rv_d", "rv_q", "ring_x", "ring_xc", "ring_mu", "win_x",
                     "win_xc", "win_mu", "cusum", "hour_x", "hour_mu")  # fmt: skip
            step = tuple(getattr(self, k)[:n] for k in names)
            more = tuple(getattr(self, k)[:n] for k in ("lvl_e", "base", "dmean", "alive"))
            self._views = (n, step, more)
        return self._views[1], self._views[2]

    def score(self, t: float, counts: F64) -> Step:
        """Score bucket `t` for every series; `learn` must follow before the next bucket."""
        self.ensure(len(counts))
        n = self.n
        x = np.zeros(n)
        x[: len(counts)] = counts
        born = (x > 0) & ~self.alive[:n]  # idempotent: scoring twice births once
        if born.any():
            self.alive[:n] |= born
            self.born_warm[:n] |= born & self.warm
        hour = math.floor(t / 3600)
        closes = self.hour_of >= 0 and hour != self.hour_of
        # expected, p, log_p, score, p1, p_short, p_mid, cusum, recent; phi, shape, closed
        floats = tuple(np.empty((12, n)))
        rising = np.empty(n, dtype=np.bool_)
        kernels.score_rows(
            x, hour_of_week(t), self.pos, closes, self._state(n)[0], self._win,
            self._log1p_prior_w, self._before, self._c, (floats, rising),
        )  # fmt: skip
        mu, p, log_p, score, p1, p_short, p_mid, cusum, recent, phi, shape, closed = floats
        self._pending = (t, x, mu, phi, shape, closed)
        return Step(
            expected=mu,
            p=p,
            log_p=log_p,
            p1=p1,
            p_short=p_short,
            p_mid=p_mid,
            cusum=cusum,
            rising=rising,
            recent=recent,
            known_score=score,
        )

    def learn(self, learn: B | None = None) -> None:
        """Learn the scored bucket, only where `learn` is set (frozen series keep state)."""
        t, x, mu, phi, shape, closed = self._pending
        n = len(x)
        hour = math.floor(t / 3600)
        if hour != self.hour_of:
            self.hour_x[:n] = 0.0
            self.hour_mu[:n] = 0.0
            self.hour_of = hour
        lm = np.ones(n, dtype=np.bool_) if learn is None else np.asarray(learn[:n], dtype=np.bool_)
        state, more = self._state(n)
        kernels.learn_rows(
            x, mu, phi, shape, closed, lm, hour_of_week(t), self.pos, state, more,
            self._win, self._log1p_prior_w, self._c,
        )  # fmt: skip
        if self.steps_to_resum() == 0:
            self._resum(n, self.pos)
        self.pos = (self.pos + 1) % RING
        self.steps += 1
        self.system_age += 1

    def steps_to_resum(self) -> int:
        """Steps before the one whose `learn` recomputes the window sums exactly from
        the ring (float drift), once every RESUM_STEPS (0: the next step does)."""
        return (RESUM_STEPS - 1 - self.steps) % RESUM_STEPS

    def restart_cusum(self, sids: list[int] | npt.NDArray[np.int64]) -> None:
        """After an alarm the CUSUM starts again, so it speaks only of what follows."""
        self.cusum[sids] = 0.0
        self.hour_x[sids] = 0.0
        self.hour_mu[sids] = 0.0

    def consume_evidence(self, sids: list[int]) -> None:
        """After an incident resolves, its buckets must not open the next one: the
        windows' history is set to what was expected, and the CUSUM restarts."""
        self.ring_x[sids] = self.ring_mu[sids]
        self.ring_xc[sids] = self.ring_mu[sids]
        self.restart_cusum(sids)
        self._resum(self.n, (self.pos - 1) % RING)

    def _resum(self, n: int, newest: int) -> None:
        """Window sums recomputed exactly from the ring (drift, or the ring was edited)."""
        for rows in self._blocks(n):  # a block at a time: a 60-bucket window's copy is big
            for j, w in enumerate(self.windows):
                idx = (newest - np.arange(w)) % RING
                for ring, win in ((self.ring_x, self.win_x), (self.ring_xc, self.win_xc),
                                  (self.ring_mu, self.win_mu)):  # fmt: skip
                    win[rows, j] = ring[rows][:, idx].sum(axis=1, dtype=np.float64)

    def nbytes_per_series(self) -> float:
        total = sum(int(getattr(self, k).nbytes) for k in self._array_names())
        return total / max(self.cap, 1)

    # Snapshots: a dict of arrays and back.
    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """The model's arrays, as views: read them before the next step (a copy of a
        million series' state would be 2.5 GB more, for the length of a snapshot)."""
        out: dict[str, npt.NDArray[np.generic]] = {
            k: getattr(self, k)[: self.n] for k in self._array_names()
        }
        out["scalars"] = np.array(
            [self.n, self.steps, self.pos, self.system_age, self.hour_of], dtype=np.float64
        )
        return out

    def load(self, state: dict[str, npt.NDArray[np.generic]], owned: bool = False) -> None:
        """Carry on from `state()`'s arrays. `owned`: they are the caller's to give
        (fresh, writable, used nowhere else), so those of the bank's own shape and type
        become its arrays instead of being copied: a million series' restore would
        otherwise hold both, 2.5 GB more at its peak."""
        scalars = [float(v) for v in state["scalars"]]
        n, steps, pos, system_age = scalars[:4]
        self.hour_of = int(scalars[4]) if len(scalars) > 4 else -1
        self._alloc(max(int(n), 64))  # zeros: pages untouched until written
        for k in self._array_names():
            if k not in state:  # a snapshot from before a state array existed starts it at 0
                continue
            mine, given = getattr(self, k), state[k]
            if owned and _fits(given, mine):
                setattr(self, k, given)
                self._views = None
            else:
                mine[: int(n)] = given
        self.n, self.steps, self.pos = int(n), int(steps), int(pos)
        self.system_age = int(system_age)


def _fits(given: npt.NDArray[np.generic], mine: npt.NDArray[np.generic]) -> bool:
    """`given` can stand for `mine` as it is: same shape, type and layout (`by_slot`'s
    arrays slot by slot), contiguous, writable."""
    flags = given.flags
    laid_out = flags.f_contiguous if mine.flags.f_contiguous else flags.c_contiguous
    return (
        given.shape == mine.shape
        and given.dtype == mine.dtype
        and bool(laid_out)
        and bool(flags.writeable)
    )
