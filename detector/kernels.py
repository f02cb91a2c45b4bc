"""The model's per-series arithmetic, compiled: one pass of scalar code per series.

A bucket of a few hundred series used to be a few dozen numpy calls on small arrays,
each a few µs whatever its size (most of a replay's ~300 µs a bucket). Here a step is
one loop over the series, with no temporaries, for a replay's 240 series as for a
million. `model.py` holds the model and its state; this module only its arithmetic.

Each value is computed as numpy computed it, step by step and type by type: the shapes
are float32 arrays and their arithmetic stays float32 (numpy 2 keeps a float32 array
float32 beside a Python float), the rest float64. Only `exp`, `log` and their kin
differ: they are the C library's here, where numpy has its own SIMD routines, which
differ in the last bit. The tail functions are scipy's own (its Cython API), so the
incomplete beta, `gammaln` and `log_ndtr` are those of `scipy.special`.

>>> float(nb_sf1(5.0, 3.0, 0.1)) == float(special.betainc(5.0, 10.0, 3.0 / 13.0))
True
"""

from __future__ import annotations

import ctypes
import importlib
import math
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import llvmlite.binding as llvm
import numba
import numpy as np
import numpy.typing as npt
from numba.extending import get_cython_function_address
from scipy import special  # noqa: F401  (loads the module whose functions are called)

F64 = npt.NDArray[np.float64]
RING = 60  # buckets of history kept for the windowed tests (model.RING)
LN10 = math.log(10.0)
LOG_FLOOR = math.log(1e-290)  # below this, betainc's tail is no longer representable

CYTHON_SPECIAL = "scipy.special.cython_special"


def cython_name(function: str, signature: str, module: str = CYTHON_SPECIAL) -> str:
    """The exported name of `function`'s version with this C signature. A fused
    function is exported once per type as `__pyx_fuse_<i><name>`, and which i is the
    double one is the build's choice: it is read off each capsule's signature.

    >>> cython_name("betainc", "double (double, double, double, int")
    '__pyx_fuse_0betainc'
    """
    exported: dict[str, Any] = importlib.import_module(module).__pyx_capi__
    for name, capsule in exported.items():
        stem = name.removeprefix("__pyx_fuse_")
        fused = stem != name and stem.lstrip("0123456789") == function
        if (name == function or fused) and _capsule_name(capsule).startswith(signature):
            return name
    raise ImportError(f"{module} exports no {function} with signature {signature}")


def _capsule_name(capsule: object) -> str:
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    return (get_name(capsule) or b"").decode()


# scipy.special's functions through its Cython API, called by name: a compiled function
# that held their addresses could not be cached on disk (addresses change per process).
for _function, _signature in (
    ("betainc", "double (double, double, double, int"),
    ("log_ndtr", "double (double, int"),  # the real one, not the complex
    ("gammaln", "double (double, int"),
):
    _address = get_cython_function_address(CYTHON_SPECIAL, cython_name(_function, _signature))
    llvm.add_symbol(f"outagewatch_{_function}", _address)
# Each takes a last int, Cython's "skip dispatch" flag: 0.
_t: Any = numba.types
_f64, _i32 = _t.float64, _t.int32
_betainc: Any = _t.ExternalFunction("outagewatch_betainc", _f64(_f64, _f64, _f64, _i32))
_log_ndtr: Any = _t.ExternalFunction("outagewatch_log_ndtr", _f64(_f64, _i32))
_gammaln: Any = _t.ExternalFunction("outagewatch_gammaln", _f64(_f64, _i32))

T = TypeVar("T", bound=Callable[..., Any])


def compiled(f: T) -> T:
    """Compiled once and kept on disk (`__pycache__`), so a new process loads it."""
    return cast(T, numba.njit(cache=True, nogil=True)(f))


def ufunc(signature: str) -> Callable[[Callable[..., Any]], np.ufunc]:
    """A numpy ufunc of a scalar function: broadcasting, any shape, compiled."""

    def wrap(f: Callable[..., Any]) -> np.ufunc:
        vectorize: Any = numba.vectorize
        return cast(np.ufunc, vectorize([signature], cache=True)(f))

    return wrap


EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday


@compiled
def hour_of_week(t: float) -> int:
    """The slot of the week (Monday 00:00 UTC is 0) of time t; compiled, as the
    stepping of many buckets in one pass reads it (detector/runs.py)."""
    days = math.floor(t / 86400)
    return int(((days + EPOCH_WEEKDAY) % 7) * 24 + (t - days * 86400) // 3600)


class Consts(NamedTuple):
    """The model's parameters and rates as a step reads them (see SeriesBank)."""

    k: float  # shape_prior_reports
    prior: float  # level of a series with no history, per bucket
    phi_prior_w: float  # phi_prior x phi_prior_weight
    phi_w: float
    phi_min: float
    phi_max: float
    kl: float  # level_prior_reports
    rv_w: float  # the rate-swing prior's weight, in buckets
    rv_min: float
    rv_max: float
    count_phi: float
    clip: float  # window_clip
    clip_reports: float  # window_clip_reports
    log_nw: float  # log of the number of windows (Bonferroni)
    lk: float  # log of cusum_k
    cusum_cap: float
    a_rv: float
    a_base: float
    a_dmean: float
    d_level: float
    d_day: float
    d_shape: float
    a_phi: float
    clip_swing_sd: float
    clip_sd: float
    day_buckets: int


# The tests, one value at a time (model.py's array versions are these as ufuncs).


@compiled
def nb_sf1(x: float, mu: float, phi: float) -> float:
    """P(X >= x) for a negative binomial with mean mu and variance mu + phi mu^2; only
    counts above their mean can be evidence, elsewhere it is left at 1."""
    if not x > mu:
        return 1.0
    r = 1.0 / phi
    return float(_betainc(x, r, mu / (mu + r), 0))


@compiled
def nb_logsf1(x: float, mu: float, phi: float) -> float:
    """log P(X >= x); beyond betainc's range, the log of the mass at x times the
    geometric sum of the following terms (a strict, slightly generous bound)."""
    sf = nb_sf1(x, mu, phi)
    if sf > 1e-290:
        return math.log(sf)
    r = 1.0 / phi
    log_q = math.log(mu) - math.log(mu + r)
    log_pmf: float = (
        _gammaln(x + r, 0)
        - _gammaln(r, 0)
        - _gammaln(x + 1.0, 0)
        + r * (math.log(r) - math.log(mu + r))
        + x * log_q
    )
    ratio = min((x + r) / (x + 1.0) * math.exp(log_q), 1.0 - 1e-12)
    return min(log_pmf - math.log1p(-ratio), LOG_FLOOR)


@compiled
def rate_logsf1(x: float, mu: float, var: float) -> float:
    """log P(a log-normal multiple of mean 1 and variance `var` reaches what x needs)."""
    need = max(x - math.sqrt(x), 0.0) / max(mu, 1e-12)
    if not need > 1.0:
        return 0.0
    s2 = math.log1p(var)
    y = (math.log(max(need, 1e-300)) + s2 / 2) / math.sqrt(s2)
    return float(_log_ndtr(-y, 0))


@compiled
def may_be_evidence1(x: float, mu: float) -> bool:
    return max(x - math.sqrt(x), 0.0) > max(mu, 1e-12)


@compiled
def evidence_logsf1(x: float, mu: float, count_phi: float, rate_var: float) -> float:
    """The weaker of the count and rate tests; 0 where x cannot be evidence at all."""
    if not may_be_evidence1(x, mu):
        return 0.0
    return max(nb_logsf1(x, mu, count_phi), rate_logsf1(x, mu, rate_var))


@compiled
def hour_llr1(hx: float, hm: float, rv: float, lk: float) -> float:
    """Log-likelihood ratio of a k-fold rate for one hour (model.SeriesBank's CUSUM)."""
    if not hm > 0:
        return 0.0
    y = math.log((hx + 0.5) / (hm + 0.5))
    swing = math.log1p(rv)
    s2 = swing + 1.0 / (hm + 0.5)  # plus counting noise, which has no drift
    return lk * (y + swing / 2 - lk / 2) / s2


@compiled
def score1(log_p: float) -> float:
    """Evidence as a score in [0, 1) (model.score_of)."""
    lg = -log_p / LN10
    if not lg > 0.0:  # as numpy's maximum: 0, never -0 (no evidence is log_p = 0)
        return 0.0
    return lg / (lg + 8.0)


@compiled
def _exp(v: float) -> float:
    """exp, without the call for the 0 most tests give (exp(0) is exactly 1)."""
    return 1.0 if v == 0.0 else math.exp(v)


# What a series' state says, one series at a time (model.SeriesBank's formulas).


@compiled
def shape1(
    day_x: Any, day_e: Any, shape_x: Any, shape_e: Any, j: int, s: int, k: float
) -> np.float32:
    """Hour-of-week shape: the week's slot shrunk toward the hour of day, float32."""
    k32 = np.float32(k)
    day = day1(day_x, day_e, j, s % 24, k32)
    week = (shape_x[j, s] + k32 * day) / (shape_e[j, s] + k32)
    return min(max(week, np.float32(0.05)), np.float32(20.0))


@compiled
def day1(day_x: Any, day_e: Any, j: int, h: int, k32: np.float32) -> np.float32:
    """Hour-of-day shape of series j at hour h, float32."""
    out: np.float32 = (day_x[j, h] + k32) / (day_e[j, h] + k32)
    return out


@compiled
def daily_peak1(day_x: Any, day_e: Any, level: Any, age: Any, j: int, c: Consts) -> float:
    """Series j's expected count at its busiest hour of the day, doubled: the generous
    bar of the partial-bucket screen (app/engine/pipeline.py). Its hours' shapes as
    `shape1` gives them without the week, in float32."""
    k32 = np.float32(c.k)
    peak = day1(day_x, day_e, j, 0, k32)
    for h in range(1, 24):
        peak = max(peak, day1(day_x, day_e, j, h, k32))
    peak = min(max(peak, np.float32(0.05)), np.float32(20.0))
    lv = level[j] if age[j] > 0 else c.prior
    return lv * np.float64(peak) * 2.0


@compiled
def cold_alarm1(
    recent: float,
    seen: float,
    before: float,
    window: float,
    prior: float,
    cold_phi: float,
    cold_min_reporters: float,
    p_outage: float,
) -> bool:
    """One series' cold alarm (detector/incidents.py's `cold_alarm`): `recent`
    reports over the last `window` buckets, far in the tail of the rate its `seen`
    reports showed over the `before` buckets ahead of them (or of `prior`)."""
    rate = max((seen - recent) / before, prior)
    return recent >= cold_min_reporters and nb_sf1(recent, rate * window, cold_phi) <= p_outage


@compiled
def screen_bar1(peak: float, min_reporters: float) -> float:
    """Partial counts worth the exact test: far above a series' busiest hour (its
    `daily_peak1`), and at least the reporters an outage needs."""
    return max(min_reporters, 4 * peak + 10)


@compiled
def daily_peak_rows(day_x: Any, day_e: Any, level: Any, age: Any, sids: Any, c: Consts) -> F64:
    out = np.empty(len(sids))
    for i in range(len(sids)):
        out[i] = daily_peak1(day_x, day_e, level, age, sids[i], c)
    return out


@compiled
def phi1(phi_d: float, phi_q: float, c: Consts) -> float:
    return min(max((phi_d + c.phi_prior_w) / (phi_q + c.phi_w), c.phi_min), c.phi_max)


@compiled
def rate_var1(rv_d: float, rv_q: float, log1p_prior_w: float, c: Consts) -> float:
    return min(max(math.expm1((rv_d + log1p_prior_w) / (rv_q + c.rv_w)), c.rv_min), c.rv_max)


@compiled
def extra1(day_e: Any, shape_e: Any, lvl_x: float, j: int, s: int, c: Consts) -> float:
    """Relative variance of the expectation itself (see SeriesBank.estimate_variance)."""
    k32 = np.float32(c.k)
    one = np.float32(1.0)
    part = one / (day_e[j, s % 24] + k32) + one / (shape_e[j, s] + k32)
    return float(part) + 1.0 / (lvl_x + c.kl)


# Readers over many series.


@compiled
def expected_rows(
    age: Any, level: Any, day_x: Any, day_e: Any, shape_x: Any, shape_e: Any, s: int, c: Consts
) -> tuple[F64, F64]:
    n = len(age)
    mu, shape = np.empty(n), np.empty(n)
    for j in range(n):
        shp = shape1(day_x, day_e, shape_x, shape_e, j, s, c.k)
        lv = level[j] if age[j] > 0 else c.prior
        mu[j] = max(lv * np.float64(shp), 1e-6)
        shape[j] = shp
    return mu, shape


@compiled
def phi_rows(phi_d: Any, phi_q: Any, c: Consts) -> F64:
    out = np.empty(len(phi_d))
    for j in range(len(phi_d)):
        out[j] = phi1(phi_d[j], phi_q[j], c)
    return out


@compiled
def rate_var_rows(rv_d: Any, rv_q: Any, log1p_prior_w: Any, c: Consts) -> F64:
    n, nw = rv_d.shape
    out = np.empty((n, nw))
    for j in range(n):
        for w in range(nw):
            out[j, w] = rate_var1(rv_d[j, w], rv_q[j, w], log1p_prior_w[w], c)
    return out


@compiled
def extra_rows(day_e: Any, shape_e: Any, lvl_x: Any, s: int, c: Consts) -> F64:
    out = np.empty(len(lvl_x))
    for j in range(len(lvl_x)):
        out[j] = extra1(day_e, shape_e, lvl_x[j], j, s, c)
    return out


# The step: score every series, then learn.


@compiled
def score_rows(
    x: Any,
    s: int,
    pos: int,
    closes: bool,
    state: Any,
    win: Any,
    log1p_prior_w: Any,
    before: Any,
    c: Consts,
    out: Any,
) -> None:
    """Score bucket x (hour-of-week slot s) for every series; writes `out`'s rows:
    expected, p, log_p, score, p1, p_short, p_mid, cusum, recent, phi, shape, closed
    (rows of one float array), rising."""
    (age, level, lvl_x, day_x, day_e, shape_x, shape_e, phi_d, phi_q, rv_d, rv_q,
     ring_x, ring_xc, ring_mu, _win_x, win_xc, win_mu, cusum, hour_x, hour_mu) = state  # fmt: skip
    (
        o_mu,
        o_p,
        o_logp,
        o_score,
        o_p1,
        o_short,
        o_mid,
        o_cusum,
        o_recent,
        o_phi,
        o_shape,
        o_closed,
    ) = out[0]
    o_rising = out[1]
    nw = len(win)
    lw = np.empty(nw)
    # Ring slots are the same for every series: found once, not per series.
    leaving_at = np.empty(nw, dtype=np.int64)
    for w in range(nw):
        leaving_at[w] = (pos - win[w]) % RING
    recent_at = np.empty(len(before), dtype=np.int64)
    for i in range(len(before)):
        recent_at[i] = (pos - before[i]) % RING
    for j in range(len(x)):
        xj = x[j]
        shp = shape1(day_x, day_e, shape_x, shape_e, j, s, c.k)
        lv = level[j] if age[j] > 0 else c.prior
        mu = max(lv * np.float64(shp), 1e-6)
        extra = extra1(day_e, shape_e, lvl_x[j], j, s, c)
        # The longest window's swing is the CUSUM's; the others only where a window
        # may be evidence (most series in most buckets are not).
        rv_last = rate_var1(rv_d[j, nw - 1], rv_q[j, nw - 1], log1p_prior_w[nw - 1], c)
        # Windowed tail tests over the ring, this bucket included: the running sums
        # gain it and lose the bucket that leaves each window.
        filled = min(age[j] + 1, RING)
        mu32 = np.float64(np.float32(mu))  # as the ring will hold it
        x_in = min(xj, c.clip * mu + c.clip_reports)
        lmin = 0.0
        for w in range(nw):
            lw[w] = 0.0
            if filled < win[w]:
                continue
            leaving = leaving_at[w]
            # One bucket: the raw count; beyond, the clipped sum.
            xs = xj if win[w] == 1 else max(win_xc[j, w] + x_in - ring_xc[j, leaving], 0.0)
            m = max(win_mu[j, w] + mu32 - ring_mu[j, leaving], 1e-12)
            if not may_be_evidence1(xs, m):  # evidence_logsf1 would give 0
                continue
            rv = rv_last if w == nw - 1 else rate_var1(rv_d[j, w], rv_q[j, w], log1p_prior_w[w], c)
            lw[w] = evidence_logsf1(xs, m, c.count_phi + extra, rv + extra)
            lmin = min(lmin, lw[w])
        recent = 0.0
        for at in recent_at:
            recent += ring_x[j, at]
        # The hourly CUSUM moves when an hour closes (the first bucket of a new hour);
        # meanwhile the hour in progress counts as a provisional observation, so a
        # slow rise holds learning (and can alarm) within hours, not at the hour's end.
        # An hour swings as the series' longest window does.
        closed = cusum[j]
        if closes:
            llr = hour_llr1(hour_x[j], hour_mu[j], rv_last, c.lk)
            closed = min(max(0.0, closed + llr), c.cusum_cap)
            hx, hm = xj, mu
        else:
            hx, hm = hour_x[j] + xj, hour_mu[j] + mu
        partial = hour_llr1(hx, hm, rv_last, c.lk)
        cs = min(max(0.0, closed + partial), c.cusum_cap)
        log_p = min(min(lmin + c.log_nw, 0.0), -cs)  # windows Bonferroni-corrected
        o_mu[j] = mu
        o_p[j] = _exp(log_p)
        o_logp[j] = log_p
        o_score[j] = score1(log_p)
        o_p1[j] = _exp(lw[0])
        o_short[j] = _exp(lw[1]) if nw > 1 else o_p1[j]
        o_mid[j] = _exp(lw[2]) if nw > 2 else o_short[j]
        o_cusum[j] = cs
        o_recent[j] = xj + recent
        o_phi[j] = phi1(phi_d[j], phi_q[j], c)
        o_shape[j] = shp
        o_closed[j] = closed
        o_rising[j] = partial > 0


@compiled
def learn_rows(
    x: Any,
    mu_a: Any,
    phi_a: Any,
    shape_a: Any,
    closed_a: Any,
    learn: Any,
    s: int,
    pos: int,
    state: Any,
    more: Any,
    win: Any,
    log1p_prior_w: Any,
    c: Consts,
) -> None:
    """Learn the scored bucket: the ring and its sums, the rate swings, and where
    `learn` is set (and the series is born) the level, shapes and dispersion."""
    (age, level, lvl_x, day_x, day_e, shape_x, shape_e, phi_d, phi_q, rv_d, rv_q,
     ring_x, ring_xc, ring_mu, win_x, win_xc, win_mu, cusum, hour_x, hour_mu) = state  # fmt: skip
    lvl_e, base, dmean, alive = more
    nw = len(win)
    h = s % 24
    keep_rv, keep_shape, keep_day = 1 - c.a_rv, np.float32(c.d_shape), np.float32(c.d_day)
    keep_phi = 1 - c.a_phi
    leaving_at = np.empty(nw, dtype=np.int64)  # the same slots for every series
    for w in range(nw):
        leaving_at[w] = (pos - win[w]) % RING
    for j in range(len(x)):
        xj, mu = x[j], mu_a[j]
        agej, alive_j = age[j], alive[j]
        # The ring's sums with this bucket in: the bucket enters only now, so scoring
        # alone changes nothing (river may score the same observation twice).
        mu32 = np.float64(np.float32(mu))
        x_in = min(xj, c.clip * mu + c.clip_reports)
        filled = min(agej + 1, RING)
        grown_rv = alive_j and agej >= c.day_buckets
        for w in range(nw):
            leaving = leaving_at[w]
            win_x[j, w] = win_x[j, w] + xj - ring_x[j, leaving]
            wxc = win_xc[j, w] + x_in - ring_xc[j, leaving]
            wm = win_mu[j, w] + mu32 - ring_mu[j, leaving]
            win_xc[j, w], win_mu[j, w] = wxc, wm
            # Rate swings learn from every bucket, bursts included; each window as its
            # test sees it, a log multiple counting at most log(100).
            if grown_rv and filled >= win[w]:
                xw = xj if w == 0 else wxc
                mw = max(wm, 0.0)
                y = min(max(math.log((xw + 0.5) / (mw + 0.5)), -4.6), 4.6)
                noise = 1.0 / (mw + 0.5)  # what counting alone puts into y^2
                rv_d[j, w] = keep_rv * rv_d[j, w] + (y * y - noise)
                rv_q[j, w] = keep_rv * rv_q[j, w] + 1.0
        ring_x[j, pos] = xj
        ring_mu[j, pos] = mu
        ring_xc[j, pos] = x_in
        cusum[j] = closed_a[j]  # evidence, not learning: it advances for frozen series too
        hour_x[j] += xj
        if alive_j:
            hour_mu[j] += mu
        lm = learn[j] and alive_j
        if not lm:
            age[j] += alive_j
            continue
        shp = shape_a[j]
        # Robust: a spike teaches at most mu + clip_sd sd, and at most what the series'
        # own one-bucket swing makes plausible (two of its log sds, as just learned):
        # a burst is not learned while it happens, only a lasting shift. Robust once
        # there is a baseline to be robust about (an hour of history). The +2 lets a
        # sparse series learn its odd single report (a clip at mu + 4 sd alone would
        # teach it a tenth of each report, and its normal would collapse).
        sd = math.sqrt(mu + phi_a[j] * mu * mu)
        rv0 = rate_var1(rv_d[j, 0], rv_q[j, 0], log1p_prior_w[0], c)
        swing = mu * math.exp(c.clip_swing_sd * math.sqrt(math.log1p(rv0)))
        cap = min(mu + c.clip_sd * sd, swing) + 2.0
        xc = min(xj, cap) if agej >= 60 else xj
        # Level: a gamma-Poisson posterior of recent counts over recent exposure,
        # shrunk toward the two-week level (running means while young).
        if agej == 0:
            base[j] = xj / shp
            dmean[j] = xj
        else:
            ab = max(c.a_base, 1.0 / (agej + 1.0))
            base[j] = base[j] + ab * (xc / shp - base[j])
            ad = max(c.a_dmean, 1.0 / (agej + 1.0))
            dmean[j] = dmean[j] + ad * (xc - dmean[j])
        lvl_x[j] = c.d_level * lvl_x[j] + xc
        lvl_e[j] = c.d_level * lvl_e[j] + shp
        level[j] = (lvl_x[j] + c.kl * base[j]) / (lvl_e[j] + c.kl)
        dm = max(dmean[j], 1e-9)
        # Shapes learn every bucket, so a normal they had wrong (a weekday peak seen
        # once) is corrected within minutes; a slow rise is kept from being learned by
        # the CUSUM's hold on learning instead (the tracker's learn mask).
        day_x[j, h] = np.float64(keep_day * day_x[j, h]) + xc
        day_e[j, h] = np.float64(keep_day * day_e[j, h]) + dm
        # The week and the dispersion learn once a series has a day behind it: before
        # that the daily mean is a running mean of that day, and residuals measure a
        # model that does not know the series yet, not the series.
        if agej >= c.day_buckets:
            shape_x[j, s] = np.float64(keep_shape * shape_x[j, s]) + xc
            shape_e[j, s] = np.float64(keep_shape * shape_e[j, s]) + dm
            resid = (xc - mu) * (xc - mu) - mu
            phi_d[j] = keep_phi * phi_d[j] + resid
            phi_q[j] = keep_phi * phi_q[j] + mu * mu
        age[j] += alive_j


# The tests as numpy ufuncs, for model.py's array functions: one implementation.


@ufunc("float64(float64, float64, float64)")
def nb_sf_ufunc(x: float, mu: float, phi: float) -> float:
    return nb_sf1(x, mu, phi)


@ufunc("float64(float64, float64, float64)")
def nb_logsf_ufunc(x: float, mu: float, phi: float) -> float:
    return nb_logsf1(x, mu, phi)


@ufunc("float64(float64, float64, float64)")
def rate_logsf_ufunc(x: float, mu: float, var: float) -> float:
    return rate_logsf1(x, mu, var)


@ufunc("boolean(float64, float64)")
def may_be_evidence_ufunc(x: float, mu: float) -> bool:
    return may_be_evidence1(x, mu)


@ufunc("float64(float64, float64, float64, float64)")
def evidence_logsf_ufunc(x: float, mu: float, count_phi: float, rate_var: float) -> float:
    return evidence_logsf1(x, mu, count_phi, rate_var)


@ufunc("boolean(float64, float64, float64, float64, float64, float64, float64, float64)")
def cold_alarm_ufunc(
    recent: float,
    seen: float,
    before: float,
    window: float,
    prior: float,
    cold_phi: float,
    cold_min_reporters: float,
    p_outage: float,
) -> bool:
    return cold_alarm1(recent, seen, before, window, prior, cold_phi, cold_min_reporters, p_outage)


@ufunc("float64(float64, float64)")
def screen_bar_ufunc(peak: float, min_reporters: float) -> float:
    return screen_bar1(peak, min_reporters)


@ufunc("float64(float64)")
def score_ufunc(log_p: float) -> float:
    return score1(log_p)
