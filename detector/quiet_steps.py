"""Buckets in which no incident is open and none opens, stepped in one compiled pass.

Most buckets of a replay are such buckets (in a 3-week scenario, incidents are open
an eighth of the time). For them a step is the model's score, the tracker's
judgement and the model's learning, with nothing for the incidents' Python to do:
`SeriesBank.score`, `IncidentTracker.observe` and `SeriesBank.learn` did that a
bucket at a time, a few dozen µs of calls around the compiled passes each. Here one
call steps a run of them, with the same compiled passes in the same order, so every
value is the one those three give; the pass stops at the first bucket where an
incident would open (its judgement undone, for `observe` to make), where a
partial-bucket check would do more than pass, or where no series has a report and
that may be a system-wide silence (app/engine/pipeline.py decides).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from outagewatch.detector.incidents import IncidentTracker
from outagewatch.detector.judge import judge_rows, judgement_for, onset_rows
from outagewatch.detector.kernels import (
    RING,
    cold_alarm1,
    compiled,
    daily_peak1,
    hour_of_week,
    learn_rows,
    score_rows,
    screen_bar1,
)
from outagewatch.detector.model import SeriesBank, recent_buckets

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class Screened(Protocol):
    """Partial-bucket checks due between buckets (app/engine/early.py's PendingChecks):
    check i is due before the first bucket starting at or after ready[i]; its series
    are sids[ptr[i]:ptr[i+1]], with their largest partial counts in `most`. `next` is
    the first not yet run or screened out."""

    ready: F64
    ptr: I64
    sids: I64
    most: F64
    next: int


def step_quiet(
    bank: SeriesBank,
    tracker: IncidentTracker,
    starts: npt.NDArray[np.float64],
    counts: npt.NDArray[np.float64],
    first: int,
    limit: int,
    delay: float,
    out: tuple[F64, F64, npt.NDArray[np.int8]],
    checks: Screened | None = None,
    silence: tuple[I64, float] | None = None,
    seen: F64 | None = None,
) -> int:
    """Step buckets `first` .. `limit - 1` (rows of `counts`, starting at `starts`) as
    long as nothing opens; returns the first bucket not stepped.

    Each bucket is decided at `start + delay` (the stream time a server closes it).
    `out` receives each stepped bucket's expected counts, scores and levels (rows as
    `counts`'). The caller holds what makes a bucket quiet before it may open: no
    incident is open, and no daily recomputation of the window sums
    (`SeriesBank.learn`) falls in the run: `quiet_limit` says how far that is. On a
    cold system (`SeriesBank.warm`) a run needs `seen`, the caller's counts per
    series since the start (app/engine/pipeline.py's `_cold`, updated here): no
    series may alarm but by the cold alarm (`cold_alarm`), every CUSUM restarts
    after each bucket, and the run ends where the system turns warm. `checks` due in the run are
    screened where they fall: one whose series' partial counts all stay below their
    screening bar (`screen_bar1` of the series' `SeriesBank.daily_peak`) does
    nothing and is passed; the run stops
    before the bucket of one that does more, for the caller to run it. A bucket
    without a single report is the caller's too (a system-wide silence, its own
    outage: app/engine/pipeline.py), unless `silence` (the service-wide series ids,
    and the expected reports over them a silence needs) shows far less was expected.
    """
    n = counts.shape[1]
    warm = bank.warm
    if first >= limit or tracker.open or (not warm and seen is None) or bank.n != n:
        return first
    if not warm:
        limit = min(limit, first + bank.steps_to_warm())
    tracker._ensure(n)
    p = tracker.params
    again = np.array(list(tracker.last_out), dtype=np.int64)
    again_at = np.array(list(tracker.last_out.values()), dtype=np.float64)
    state, more = bank._state(n)
    floats = tuple(np.empty((12, n)))
    scratch = (floats, np.empty(n, dtype=np.bool_), judgement_for(n), np.empty(n),
               np.empty((2, n), dtype=np.int64))  # fmt: skip
    clock = np.array([bank.pos, bank.steps, bank.system_age, bank.hour_of], dtype=np.int64)
    model = (state, more, bank.born_warm[:n], bank._win, bank._log1p_prior_w, bank._before,
             bank._c)  # fmt: skip
    judging = (tracker._onset[:n], tracker._run[:n], tracker._bursts[:n], again, again_at,
               float(p.recur_window_s), p.onset_p, tracker._bars)  # fmt: skip
    none = np.empty(0, dtype=np.int64)
    screened = (
        (np.empty(0), np.zeros(1, dtype=np.int64), none, np.empty(0), 0)
        if checks is None
        else (checks.ready, checks.ptr, checks.sids, checks.most, checks.next)
    )
    cursor = np.array([screened[4]], dtype=np.int64)
    screen = (*screened[:4], cursor, float(p.min_reporters_outage))
    hush = silence or (none, 0.0)
    cold = (
        np.empty(0) if seen is None else seen, not warm, recent_buckets(bank.params.bucket_seconds),
        bank.prior_per_bucket, float(p.cold_phi), float(p.cold_min_reporters), float(p.p_outage),
        np.empty(n, dtype=np.bool_),
    )  # fmt: skip
    args = (model, clock, judging, screen, hush, cold, scratch, out)
    done = int(quiet_rows(starts, counts, first, limit, delay, *args))
    if checks is not None:
        checks.next = int(cursor[0])
    bank.pos, bank.steps, bank.system_age, bank.hour_of = (int(v) for v in clock)
    if done > first:  # as observe leaves them after the last stepped bucket
        tracker.just_opened, tracker.just_resolved = [], []
        now = float(starts[done - 1]) + delay
        tracker.last_out = {
            sid: at for sid, at in tracker.last_out.items() if now - at <= p.recur_window_s
        }
    return done


def quiet_limit(bank: SeriesBank, first: int, limit: int) -> int:
    """The run may not reach the bucket after which `SeriesBank.learn` recomputes the
    window sums (once a day of steps): that one is stepped a bucket at a time."""
    return min(limit, first + bank.steps_to_resum())


@compiled
def quiet_rows(
    starts: Any,
    counts: Any,
    first: int,
    limit: int,
    delay: float,
    model: Any,
    clock: Any,
    judging: Any,
    screen: Any,
    silence: Any,
    cold: Any,
    scratch: Any,
    out: Any,
) -> int:
    """`step_quiet`'s pass. `clock`: the bank's pos, steps, system age and hour (read
    and written back); `judging`: the tracker's onset, run and bursts (updated), the
    series whose outage ended (and when), the recurrence window, onset_p and bars;
    `screen`: the checks (`Screened`: due times, series, largest counts), the next
    one (read and written back) and the reporters an outage needs; `silence`: the
    service-wide series and the expected reports a silence needs; `cold`: on a cold
    system, the counts seen so far (updated), the window and prior of the cold alarm,
    its parameters and room for its result."""
    state, more, born_warm, win, log1p_prior_w, before, c = model
    onset, run, bursts, again, again_at, recur_window, onset_p, bars = judging
    ready, ptr, sids, most, cursor, min_reporters = screen
    wide, silence_at = silence
    seen, is_cold, window, prior, cold_phi, cold_min, p_outage, forced = cold
    floats, rising, judged, saved_f, saved_i = scratch
    expected, score, levels = out
    (mu, p, _log_p, sc, p1, p_short, p_mid, cusum, recent, phi, shape, closed) = floats
    alive = more[3]
    age, level, day_x, day_e = state[0], state[1], state[3], state[4]
    cusum_state, hour_x, hour_mu = state[17], state[18], state[19]
    n = counts.shape[1]
    pos, steps, system_age, hour_of = clock[0], clock[1], clock[2], clock[3]
    none = np.zeros(n, dtype=np.bool_)
    every = np.ones(n, dtype=np.bool_)
    forced[:] = False
    for i in range(first, limit):
        x = counts[i]
        t = starts[i]
        # Checks due before this bucket (Pipeline._check_partial's screen, with nothing
        # open and every series allowed): those that would do more are the caller's.
        # (On a cold system no series is allowed: they all pass.)
        nxt = cursor[0]
        while nxt < len(ready) and ready[nxt] <= t:
            for q in range(ptr[nxt], ptr[nxt + 1] if not is_cold else ptr[nxt]):
                peak = daily_peak1(day_x, day_e, level, age, sids[q], c)
                if most[q] >= screen_bar1(peak, min_reporters):
                    return i
            nxt += 1
            cursor[0] = nxt
        for j in range(n):  # born at the first report (SeriesBank.score)
            if x[j] > 0 and not alive[j]:
                alive[j] = True
                if not is_cold:
                    born_warm[j] = True
        hour = math.floor(t / 3600)
        s = hour_of_week(t)
        score_rows(x, s, pos, hour_of >= 0 and hour != hour_of, state, win, log1p_prior_w,
                   before, c, (floats, rising))  # fmt: skip
        if not x.any():  # a system-wide silence, unless far less was expected
            expected_sum = 0.0
            for w in wide:
                expected_sum += mu[w]
            # Summed in another order than the caller's test: near its bar, it decides.
            if not expected_sum < silence_at * (1 - 1e-6):
                return i
        # The tracker's judgement (IncidentTracker.observe with nothing open: no
        # common cause; warm: every series allowed, none forced; cold: none allowed,
        # the cold alarm's forced), undone if anything opens.
        now = t + delay
        if is_cold:
            ahead = system_age + 1 - window  # the buckets seen before the window
            for j in range(n):  # Pipeline._cold: its counts with this bucket's
                forced[j] = ahead >= window and cold_alarm1(
                    recent[j], seen[j] + x[j], ahead, window, prior, cold_phi, cold_min,
                    p_outage,
                )  # fmt: skip
        saved_f[:] = onset
        saved_i[0, :] = run
        saved_i[1, :] = bursts
        onset_rows(t, p1, onset, onset_p)
        recur = again[now - again_at <= recur_window]
        judge_rows((p, p1, p_short, p_mid, recent, cusum), x, recur, (none, none),
                   none if is_cold else every, forced, (run, bursts), bars, judged)  # fmt: skip
        if judged.opening.any():
            onset[:] = saved_f
            run[:] = saved_i[0]
            bursts[:] = saved_i[1]
            return i
        if hour != hour_of:  # SeriesBank.learn: the hour sums start again
            hour_x[:] = 0.0
            hour_mu[:] = 0.0
            hour_of = hour
        learn_rows(x, mu, phi, shape, closed, judged.learn, s, pos, state, more, win,
                   log1p_prior_w, c)  # fmt: skip
        if is_cold:  # seen, and every CUSUM restarted (SeriesBank.restart_cusum)
            for j in range(n):
                seen[j] += x[j]
            cusum_state[:] = 0.0
            hour_x[:] = 0.0
            hour_mu[:] = 0.0
        pos = (pos + 1) % RING
        steps += 1
        system_age += 1
        expected[i, :] = mu
        score[i, :] = sc
        levels[i, :] = judged.level
        clock[0], clock[1], clock[2], clock[3] = pos, steps, system_age, hour_of
    return limit
