"""The model: seasonal expectations, calibrated tails, cold start, memory."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from river import base as river_base

from outagewatch.detector.model import (
    ModelParams,
    SeriesBank,
    evidence_logsf,
    hour_of_week,
    may_be_evidence,
    nb_logsf,
    nb_sf,
    score_of,
)
from outagewatch.detector.river_model import SeasonalNB
from tests.conftest import T0


def test_hour_of_week_starts_monday() -> None:
    assert hour_of_week(T0) == 0  # T0 is a Monday 00:00 UTC
    assert hour_of_week(T0 + 25 * 3600) == 25


def test_nb_tail_is_calibrated_against_simulation() -> None:
    rng = np.random.default_rng(0)
    mu, phi = 4.0, 0.3
    r = 1 / phi
    draws = rng.negative_binomial(r, r / (r + mu), size=200_000)
    for x in (5, 10, 15):
        empirical = float((draws >= x).mean())
        model = float(nb_sf(np.array([float(x)]), np.array([mu]), np.array([phi]))[0])
        assert abs(model - empirical) < 0.01 + 0.1 * empirical


def test_river_interface_and_score_before_learn() -> None:
    m = SeasonalNB()
    assert isinstance(m, river_base.AnomalyDetector)
    for i in range(3 * 1440):
        m.learn_one({"t": T0 + i * 60.0, "count": 3})
    t = T0 + 3 * 86400.0
    normal, surge = m.score_one({"t": t, "count": 3}), m.score_one({"t": t, "count": 80})
    assert normal < 0.1 and surge > 0.5  # 0.5 is the outage bar, p = 1e-8
    # Stronger evidence always scores higher: the score never saturates.
    bigger = m.score_one({"t": t, "count": 800})
    assert surge < bigger < m.score_one({"t": t, "count": 8000}) < 1.0
    # Scoring twice gives the same: scoring does not learn.
    assert m.score_one({"t": t, "count": 80}) == surge
    assert abs(m.expected_one(t) - 3) < 0.5


def test_daily_pattern_is_learned_not_alarmed() -> None:
    """Nights at 0.5/min, days at 5/min: after a few days the 08:00 ramp is normal."""
    rng = np.random.default_rng(1)
    bank = SeriesBank()
    worst = 1.0
    for i in range(6 * 1440):
        t = T0 + i * 60.0
        hour = int(t // 3600) % 24
        rate = 5.0 if 8 <= hour < 20 else 0.5
        step = bank.step(t, np.array([float(rng.poisson(rate))]))
        if i >= 4 * 1440:
            worst = min(worst, float(step.p[0]))
    assert worst > 1e-5  # never even `possible` evidence on days 5 and 6
    noon = T0 + 6 * 86400 + 12 * 3600.0
    assert 3.5 < bank.expected(noon)[0] < 6.5


def test_sparse_and_busy_series_share_one_scale() -> None:
    """4 reports a day hit by 12 at once, and 4,000 an hour hit by 5x: both far out.
    (A single minute at 3x is within the swings a crowd's rate shows: docs/detector.md.)"""
    rng = np.random.default_rng(2)
    bank = SeriesBank()
    rates = np.array([4 / 1440, 4000 / 60])
    for i in range(7 * 1440):  # a week: long enough to learn how little it swings
        bank.step(T0 + i * 60.0, rng.poisson(rates).astype(float))
    t = T0 + 7 * 86400.0
    quiet = bank.step(t, rng.poisson(rates).astype(float))
    assert (quiet.p > 1e-5).all()
    surge = bank.step(t + 60, np.array([12.0, 5 * rates[1]]))
    assert (surge.p < 1e-7).all()


def test_new_series_on_a_warm_system_stands_out_at_once() -> None:
    bank = SeriesBank()
    rng = np.random.default_rng(3)
    for i in range(1441):
        bank.step(T0 + i * 60.0, rng.poisson([20.0]).astype(float))
    assert bank.warm
    t = T0 + 1441 * 60.0
    step = bank.step(t, np.array([20.0, 15.0]))  # series 1 is brand new: 15 reports
    assert bank.born_warm[1]
    assert step.p[1] < 1e-7 and step.p[0] > 1e-3


def test_frozen_series_do_not_learn() -> None:
    """Series 0 has an open incident (frozen); series 1 surges and learns; 18 others
    carry on. The frozen series' own state and its expectation are untouched."""
    bank = SeriesBank()
    n, start = 20, 2 * 1440 + 5  # mid-hour: no finished hour folds in while frozen
    for i in range(start):
        bank.step(T0 + i * 60.0, np.full(n, 2.0))
    t = T0 + start * 60.0
    before = bank.expected(t).copy()
    own = {k: v[0].copy() for k, v in bank.state().items() if k != "scalars"}
    learn = np.ones(n, dtype=bool)
    learn[0] = False
    surge = np.full(n, 2.0)
    surge[:2] = 200.0
    for i in range(start, start + 50):
        bank.step(T0 + i * 60.0, surge, learn=learn)
    after = bank.expected(t)
    for k, v in bank.state().items():
        # Evidence, and how far the series swings (learned from every bucket, bursts
        # included: how often a crowd bursts is what it measures).
        if k in own and not k.startswith(("age", "ring_", "win_", "cusum", "hour_", "rv_")):
            np.testing.assert_array_equal(v[0], own[k])
    assert after[0] == before[0]
    assert after[1] > before[1] * 1.1  # the learning series did learn


def test_state_is_small_and_snapshots_round_trip() -> None:
    bank = SeriesBank(ModelParams(), capacity=1000)
    bank.ensure(1000)
    assert bank.nbytes_per_series() <= 16 * 1024
    for i in range(50):
        bank.step(T0 + i * 60.0, np.full(1000, 3.0))
    clone = SeriesBank()
    clone.load(bank.state())
    t = T0 + 50 * 60.0
    np.testing.assert_allclose(clone.expected(t), bank.expected(t))
    a = clone.step(t, np.full(1000, 9.0))
    b = bank.step(t, np.full(1000, 9.0))
    np.testing.assert_allclose(a.p, b.p)


def test_a_load_takes_owned_arrays_and_copies_views() -> None:
    """A restore hands over fresh arrays: the bank keeps them rather than holding a
    second copy; arrays it was not given (views of another bank) are copied. Either
    way the loaded bank steps exactly as the original."""
    bank = SeriesBank(ModelParams(), capacity=1000)
    bank.ensure(1000)
    for i in range(50):
        bank.step(T0 + i * 60.0, np.full(1000, 3.0))
    fresh = {k: v.copy(order="K") for k, v in bank.state().items()}  # as unpack lays them out
    owned, copied = SeriesBank(), SeriesBank()
    owned.load(fresh, owned=True)
    copied.load(bank.state())
    assert owned.shape_x is fresh["shape_x"] and owned.ring_mu is fresh["ring_mu"]
    assert not np.shares_memory(copied.shape_x, bank.shape_x)
    t = T0 + 50 * 60.0
    x = np.full(1000, 9.0)
    a, b, c = owned.step(t, x), copied.step(t, x), bank.step(t, x)
    np.testing.assert_array_equal(a.p, c.p)
    np.testing.assert_array_equal(b.p, c.p)


@settings(max_examples=200, deadline=None)
@given(
    mu=st.floats(0.01, 500.0),
    phi=st.floats(0.005, 4.0),
    x=st.integers(0, 100_000),
    extra=st.integers(1, 100_000),
)
def test_score_is_monotone_and_never_saturates(mu: float, phi: float, x: int, extra: int) -> None:
    """More reports against the same normal is never weaker evidence, and the score
    stays below 1 however extreme the count (a threshold sweep can rank buckets)."""
    a = np.array([float(x), float(x + extra)])
    lp = nb_logsf(a, np.full(2, mu), np.full(2, phi))
    s = score_of(lp)
    assert lp[1] <= lp[0] <= 0.0
    assert 0.0 <= s[0] <= s[1] < 1.0


@settings(max_examples=300, deadline=None)
@given(
    mu=st.floats(1e-6, 500.0),
    phi=st.floats(0.005, 4.0),
    var=st.floats(0.02, 3.0),
    x=st.integers(0, 2_000),
)
def test_screen_never_drops_evidence(mu: float, phi: float, var: float, x: int) -> None:
    """Where `may_be_evidence` says no, the exact test gives no evidence at all (log p
    >= 0): the partial-bucket checks may skip those points without changing a decision."""
    xs, m = np.array([float(x)]), np.array([mu])
    lp = evidence_logsf(xs, m, np.array([phi]), np.array([var]))
    if not may_be_evidence(xs, m)[0]:
        assert lp[0] >= 0.0


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    block=st.integers(1, 17),  # 1: blocks of two (see SeriesBank._blocks)
    n=st.integers(18, 60),
    buckets=st.integers(10, 90),
)
def test_a_bank_stepped_in_blocks_is_the_bank_stepped_at_once(
    seed: int, block: int, n: int, buckets: int
) -> None:
    """Blocks (what keeps a million series' step in memory) change no value: every
    output and every state array is bit for bit that of one pass, through births,
    frozen series, hour ends, bursts and an edited ring."""
    rng = np.random.default_rng(seed)
    whole, blocked = SeriesBank(capacity=8), SeriesBank(capacity=8, block=block)
    t = T0 + 3000.0  # the first hour ends ten buckets in
    for i in range(buckets):
        live = min(n, 5 + 4 * i)  # series are registered as they appear
        counts = rng.poisson(rng.uniform(0.0, 6.0, live)) * (rng.random(live) < 0.8)
        counts[rng.random(live) < 0.05] += 200  # bursts
        learn = rng.random(live) < 0.9
        a = whole.score(t, counts.astype(np.float64))
        b = blocked.score(t, counts.astype(np.float64))
        for name in ("expected", "p", "p1", "p_short", "p_mid", "cusum", "rising", "recent"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        np.testing.assert_array_equal(a.score, b.score)
        whole.learn(learn)
        blocked.learn(learn)
        if i % 20 == 19:  # an incident resolved: its evidence is consumed
            sids = sorted({int(s) for s in rng.integers(0, live, 3)})
            whole.consume_evidence(sids)
            blocked.consume_evidence(sids)
        t += 60.0
    assert blocked.n > block  # the blocks were many
    one, many = whole.state(), blocked.state()
    for name in one:
        np.testing.assert_array_equal(one[name], many[name], err_msg=name)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 40), st.integers(1, 90), st.integers(1, 200))
def test_a_growing_bank_steps_as_one_made_big(n: int, steps: int, more: int) -> None:
    """Growing copies only the slots ever written (the rest is zeros either way): a
    bank grown mid-stream holds and steps exactly as one with room from the start,
    and its arrays stay laid out slot by slot."""
    rng = np.random.default_rng(n * 1000 + steps)
    small, big = SeriesBank(ModelParams(), capacity=n), SeriesBank(ModelParams(), capacity=4096)
    for i in range(steps):
        x = rng.poisson(3.0, n).astype(np.float64)
        small.step(T0 + i * 60.0, x)
        big.step(T0 + i * 60.0, x)
    small.ensure(n + more)
    big.ensure(n + more)
    assert small.ring_x.flags.f_contiguous and small.shape_e.flags.f_contiguous
    for k, v in big.state().items():
        np.testing.assert_array_equal(small.state()[k], v)
    x = rng.poisson(3.0, n + more).astype(np.float64)
    t = T0 + steps * 60.0
    np.testing.assert_array_equal(small.step(t, x).p, big.step(t, x).p)
