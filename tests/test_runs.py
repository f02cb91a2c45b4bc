"""Runs (detector/runs.py) step buckets exactly as score, observe and learn do one
bucket at a time: the same model state, tracker state, incidents, feed objects and
outputs, wherever incidents open, stay open, resolve, the system is cold or the
traffic stops."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict
from functools import cache, partial
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.detector.incidents import IncidentTracker, NewSeries, cold_alarm
from outagewatch.detector.model import SeriesBank, recent_buckets
from outagewatch.detector.runs import Carried, run_limit, step_run

WIDTH, N = 60, 6
SILENT = 20.0  # expected reports over all series that make an empty bucket our silence
T0 = 1_700_006_400.0  # a Wednesday, 00:00 UTC
RATES = np.array([0.05, 0.4, 2.0, 8.0, 30.0, 0.0])  # the last series is born later
# Service-wide series count their regions' reports: the sparse 0 has region 1, the
# busiest (4) has regions 2 and 5 (born later).
KEYS = [("s0", None), ("s0", "PL"), ("s4", "PL"), ("s3", None), ("s4", None), ("s4", "FR")]


def problems_of(counts: Any) -> Any:
    """Problem counts of series in buckets lo .. hi-1 of `counts`, summed (as a closed
    batch gives them): a deterministic split of each count."""

    def problems(sids: list[int], lo: int, hi: int | None = None) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for b in range(lo, lo + 1 if hi is None else hi):
            for sid in sids:
                c = int(counts[b, sid])
                if c:
                    mine = out.setdefault(sid, {})
                    for name, k in (("login", c // 2), ("app", c - c // 2)):
                        if k:
                            mine[name] = mine.get(name, 0) + k
        return out

    return problems


def traffic(rng: np.random.Generator, t: int, bursts: list[tuple[int, int, int, float]]) -> Any:
    counts = rng.poisson(RATES[None, :] * np.ones((t, 1))).astype(np.float64)
    for sid, at, length, size in bursts:
        counts[at : at + length, sid] += rng.poisson(size, size=len(counts[at : at + length]))
    return counts


@cache
def warmed() -> tuple[SeriesBank, IncidentTracker, float]:
    """A bank and tracker warm (every series may alarm), their daily recomputation of
    the window sums (`run_limit`) 180 buckets ahead."""
    bank, tracker = SeriesBank(), IncidentTracker(bucket_seconds=WIDTH)
    counts = traffic(np.random.default_rng(7), 2700, [(3, 1700, 20, 200.0)])
    t = T0
    for row in counts:
        one_at_a_time(bank, tracker, np.array([t]), row[None, :], {})
        t += WIDTH
    assert bank.warm and not tracker.open and tracker.last_out  # an outage came and went
    return bank, tracker, t


def one_bucket(
    bank: SeriesBank,
    tracker: IncidentTracker,
    t: float,
    row: Any,
    seen: dict[str, Any],
    hush: float = SILENT,
    cold: Any = None,
    problems: Any = None,
) -> tuple[Any, Any, Any]:
    """One bucket as app/engine/pipeline.py steps it when it is not in a run. On a cold
    system only the cold alarm may open an incident, given `cold` (the counts seen so
    far, as the pipeline's `_cold` keeps them); without it nothing may. A bucket
    without reports where the series expected `hush` reports or more is our own
    silence: not stepped."""
    if not row.any() and bank.expected(t, N).sum() >= hush:
        return bank.expected(t, N), np.zeros(N), np.zeros(N, dtype=np.int8)
    allowed = np.full(N, bank.warm)
    step = bank.score(t, row)
    young = NewSeries(bank.age, bank.day_buckets, bank.prior_per_bucket)
    forced = None
    if cold is not None and not bank.warm:
        cold += row
        forced = cold_alarm(
            step.recent, cold, bank.system_age + 1, recent_buckets(WIDTH),
            bank.prior_per_bucket, tracker.params,
        )  # fmt: skip
    changed, learn, lv = tracker.observe(
        t, t + WIDTH + 30, step, row, KEYS, problems, allowed=allowed, forced=forced, young=young
    )
    bank.learn(learn)
    restart = np.concatenate(
        (np.array(tracker.just_opened, dtype=np.int64), np.flatnonzero(~allowed))
    )
    if restart.size:
        bank.restart_cusum(restart)
    if tracker.just_resolved:
        bank.consume_evidence(tracker.just_resolved)
    for inc in changed:  # the feed object as listeners get it, and the incident
        seen[inc.id] = inc.to_dict()
        seen[("incident", inc.id)] = inc
    return step.expected, step.score, lv


def one_at_a_time(
    bank: SeriesBank,
    tracker: IncidentTracker,
    starts: Any,
    counts: Any,
    seen: dict[str, Any],
    hush: float = SILENT,
    cold: Any = None,
) -> Any:
    problems = problems_of(counts)
    outs = [
        one_bucket(bank, tracker, float(t), row, seen, hush, cold, partial(problems, lo=i))
        for i, (t, row) in enumerate(zip(starts, counts, strict=True))
    ]
    return tuple(np.array(o) for o in zip(*outs, strict=True))


def in_runs(
    bank: SeriesBank,
    tracker: IncidentTracker,
    starts: Any,
    counts: Any,
    seen: dict[str, Any],
    hush: float,
    cold: Any = None,
) -> tuple[Any, int]:
    nb = len(starts)
    out = (np.empty((nb, N)), np.empty((nb, N)), np.empty((nb, N), dtype=np.int8))
    wide = np.arange(N, dtype=np.int64)
    problems = problems_of(counts)
    bank.ensure(N)  # as the pipeline does before its buckets
    i, in_run = 0, 0
    while i < nb:
        limit = run_limit(bank, i, nb)
        carried = Carried(KEYS, problems)
        j = step_run(
            bank, tracker, starts, counts, i, limit, WIDTH + 30, out, None, (wide, hush), cold,
            carried,
        )  # fmt: skip
        for inc in carried.changed:
            seen[inc.id] = inc.to_dict()
        in_run += j - i
        if j < nb:
            e, s, lv = one_bucket(
                bank, tracker, float(starts[j]), counts[j], seen, hush, cold,
                partial(problems, lo=j),
            )  # fmt: skip
            out[0][j], out[1][j], out[2][j] = e, s, lv
            j += 1
        i = j
    return out, in_run


def same_incidents(got: dict[Any, Any], want: dict[Any, Any]) -> bool:
    """The same feed objects listed, and the same incidents (every field) in the end."""
    assert got.keys() == want.keys()
    for k, w in want.items():
        if isinstance(k, tuple):
            assert asdict(got[k]) == asdict(w), k
        else:
            assert got[k] == w, k
    return True


def both_ways(
    start: Callable[[], tuple[SeriesBank, IncidentTracker]],
    starts: Any,
    counts: Any,
    hush: float = SILENT,
    cold: bool = False,
) -> tuple[dict[Any, Any], int]:
    """Step the buckets one at a time and in runs, each from a fresh `start()`, and
    hold every output, the model's and tracker's state, every incident and every feed
    object listed (and on a `cold` system the counts seen) equal. Returns what was
    listed and how many buckets were stepped in runs."""
    bank, tracker = start()
    seen: dict[Any, Any] = {}
    seen_cold = np.zeros(N) if cold else None
    want = one_at_a_time(bank, tracker, starts, counts, seen, hush, seen_cold)
    fast_bank, fast_tracker = start()
    fast_seen: dict[Any, Any] = {}
    fast_cold = np.zeros(N) if cold else None
    got, in_run = in_runs(fast_bank, fast_tracker, starts, counts, fast_seen, hush, fast_cold)

    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(w, g)
    assert same_incidents(fast_seen, seen)
    if cold:
        np.testing.assert_array_equal(fast_cold, seen_cold)
    mine, theirs = model_state(fast_bank), model_state(bank)
    assert mine.keys() == theirs.keys()
    for k in mine:
        np.testing.assert_array_equal(mine[k], theirs[k], err_msg=k)
    assert fast_bank.hour_of == bank.hour_of
    for name in ("_onset", "_run", "_bursts"):
        np.testing.assert_array_equal(getattr(fast_tracker, name), getattr(tracker, name))
    assert fast_tracker.open.keys() == tracker.open.keys()
    assert fast_tracker.last_out == tracker.last_out
    return seen, in_run


def clone(bank: SeriesBank) -> SeriesBank:
    """A bank carrying on from the same state, as a restore does."""
    out = SeriesBank()
    out.load(model_state(bank))
    return out


def model_state(bank: SeriesBank) -> dict[str, Any]:
    return {k: np.array(v) for k, v in bank.state().items()}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    buckets=st.integers(1, 400),
    bursts=st.lists(
        st.tuples(
            st.integers(0, N - 1),
            st.integers(0, 399),
            st.integers(1, 90),
            st.sampled_from([3.0, 12.0, 60.0, 600.0]),
        ),
        max_size=4,
    ),
    silence=st.none() | st.tuples(st.integers(0, 399), st.integers(1, 40)),
    hush=st.sampled_from([SILENT, 1e9]),  # 1e9: an empty bucket is never our silence
)
def test_runs_step_as_one_bucket_at_a_time(
    seed: int,
    buckets: int,
    bursts: list[tuple[int, int, int, float]],
    silence: tuple[int, int] | None,
    hush: float,
) -> None:
    bank0, tracker0, t = warmed()
    counts = traffic(np.random.default_rng(seed), buckets, bursts)
    if silence is not None:
        counts[silence[0] : silence[0] + silence[1]] = 0.0
    starts = t + WIDTH * np.arange(buckets, dtype=np.float64)
    seen, in_run = both_ways(lambda: (clone(bank0), copy.deepcopy(tracker0)), starts, counts, hush)
    if not seen and (silence is None or hush > SILENT):  # only the recomputation is
        assert in_run >= buckets - 1  # stepped on its own (empty buckets too if not silent)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    buckets=st.integers(1, 1700),
    bursts=st.lists(
        st.tuples(
            st.integers(0, N - 1),
            st.integers(0, 1699),
            st.integers(1, 60),
            st.sampled_from([12.0, 60.0, 600.0]),
        ),
        max_size=3,
    ),
    silence=st.none() | st.tuples(st.integers(0, 1699), st.integers(1, 40)),
)
def test_cold_runs_step_as_one_bucket_at_a_time(
    seed: int,
    buckets: int,
    bursts: list[tuple[int, int, int, float]],
    silence: tuple[int, int] | None,
) -> None:
    """From a fresh start, through the first day (only the cold alarm may open an
    incident, every CUSUM restarts each bucket) and past the turn to warm."""
    counts = traffic(np.random.default_rng(seed), buckets, bursts)
    if silence is not None:
        counts[silence[0] : silence[0] + silence[1]] = 0.0
    starts = T0 + WIDTH * np.arange(buckets, dtype=np.float64)
    fresh = lambda: (SeriesBank(), IncidentTracker(bucket_seconds=WIDTH))  # noqa: E731
    seen, in_run = both_ways(fresh, starts, counts, cold=True)
    if not seen and silence is None:  # every bucket of a start without incidents in runs
        assert in_run >= buckets - 1


def test_an_open_outage_is_carried_through_runs() -> None:
    """Two hours of outage on one series: the buckets between its opening and its end
    are stepped in runs, and every incident, feed object and output is the same."""
    bank0, tracker0, t = warmed()
    counts = traffic(np.random.default_rng(5), 300, [(4, 50, 120, 600.0)])
    starts = t + WIDTH * np.arange(300, dtype=np.float64)
    seen, in_run = both_ways(lambda: (clone(bank0), copy.deepcopy(tracker0)), starts, counts)
    (inc,) = [v for k, v in seen.items() if isinstance(k, tuple)]
    assert inc.level == "outage" and inc.state == "resolved"
    assert inc.resolved_at - inc.opened_at > 100 * WIDTH
    assert in_run >= 300 - 5  # its opening and its end, not its two hours
