"""Runs of buckets in which no incident opens, confirms or resolves, stepped in one
compiled pass.

Most buckets of a replay are such buckets (in a 3-week scenario, incidents open,
confirm or resolve in a few hundred of 30,000). For them a step is the model's
score, the tracker's judgement, the open incidents' bookkeeping (their reports,
peaks, sums and end test) and the model's learning: `SeriesBank.score`,
`IncidentTracker.observe` and `SeriesBank.learn` did that a bucket at a time, a few
dozen µs of calls around the compiled passes each, more with incidents open. Here
one call steps a run of them, with the same compiled passes in the same order and
the incidents' arithmetic written out as `observe` does it, so every value is the
one those three give. The pass stops at the first bucket where an incident would
open, confirm or resolve, or another service's outage is a common cause (its
judgement undone, for `observe` to make), where a partial-bucket check would do
more than pass, or where no series has a report and that may be a system-wide
silence (app/engine/pipeline.py decides). What the pass cannot hold (an open
incident's problems and regions, by name) the caller adds from the run's counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from outagewatch.detector.incidents import Incident, IncidentTracker
from outagewatch.detector.judge import judge_rows, judgement_for, onset_rows
from outagewatch.detector.kernels import (
    RING,
    cold_alarm1,
    compiled,
    daily_peak1,
    hour_of_week,
    learn_rows,
    nb_sf1,
    score_rows,
    screen_bar1,
)
from outagewatch.detector.model import SeriesBank, recent_buckets
from outagewatch.ingest.series import SeriesKey, as_keys

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# An open incident in the pass: its integer and float fields, by column.
_INTS = ("level", "wide", "peak_reports", "total_reports", "quiet", "faded")
_FLOATS = ("opened_at", "max_score", "peak_at", "peak_expected", "x_sum", "mu_sum", "x_out",
           "mu_out", "end_llr", "last_active_end")  # fmt: skip
# And the feed object's fields a run moves, at its last change in the run.
_SNAP_INTS = ("peak_reports", "total_reports")
_SNAP_FLOATS = ("max_score", "peak_at", "peak_expected")


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


# An open incident's problem counts over buckets [lo, hi) of the run's rows, for the
# given series (as `observe`'s `problems` for one bucket).
Problems = Callable[[list[int], int, int], dict[int, dict[str, int]]]


@dataclass
class Carried:
    """What the caller gives a run to carry open incidents through it: the series'
    keys, and their problem counts over a range of buckets. The run lists in
    `changed` the incidents it changed, in the order `observe` would have (each as
    its feed object stood at its last change in the run: the incident itself, or a
    copy when the change came before the run's last bucket)."""

    keys: Sequence[SeriesKey]
    problems: Problems | None = None
    changed: list[Incident] = field(default_factory=list)


def step_run(
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
    carried: Carried | None = None,
) -> int:
    """Step buckets `first` .. `limit - 1` (rows of `counts`, starting at `starts`) as
    long as no incident opens, confirms or resolves; returns the first bucket not
    stepped.

    Each bucket is decided at `start + delay` (the stream time a server closes it).
    `out` receives each stepped bucket's expected counts, scores and levels (rows as
    `counts`'). The caller holds what it must before a run: no outage credited with
    a partial bucket's reports, and no daily recomputation of the window sums
    (`SeriesBank.learn`) in the run: `run_limit` says how far that is. Open
    incidents are carried through the run when `carried` is given (`Carried`: it
    lists those the run changed); their problems and regions by name are added
    after it, summed over its buckets (`observe` adds them a bucket at a time). On a cold
    system (`SeriesBank.warm`) a run needs `seen`, the caller's counts per series
    since the start (app/engine/pipeline.py's `_cold`, updated here), and nothing
    open: no series may alarm but by the cold alarm (`cold_alarm`), every CUSUM
    restarts after each bucket, and the run ends where the system turns warm.
    `checks` due in the run are screened where they fall: one whose series (those
    without an open incident) all stay below their screening bar (`screen_bar1` of
    the series' `SeriesBank.daily_peak`) does nothing and is passed; the run stops
    before the bucket of one that does more, for the caller to run it. A bucket
    without a single report is the caller's too (a system-wide silence, its own
    outage: app/engine/pipeline.py), unless `silence` (the service-wide series ids,
    and the expected reports over them a silence needs) shows far less was expected.
    """
    n = counts.shape[1]
    warm = bank.warm
    if first >= limit or bank.n != n:
        return first
    if tracker.open and (carried is None or not warm or max(tracker.open) >= n):
        return first
    if not warm and seen is None:
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
    incs = list(tracker.open.items())
    m = len(incs)
    sids = np.array([sid for sid, _ in incs], dtype=np.int64)
    ints = np.array(
        [[2 if i.level == "outage" else 1, i.region is None, i.peak_reports, i.total_reports,
          i.quiet, i.faded] for _, i in incs], dtype=np.int64,
    ).reshape(m, len(_INTS))  # fmt: skip
    flts = np.array([[getattr(i, k) for k in _FLOATS] for _, i in incs], dtype=np.float64).reshape(
        m, len(_FLOATS)
    )
    is_open = np.zeros(n, dtype=np.bool_)
    is_open[sids] = True
    changed_at = np.full((2, m), -1, dtype=np.int64)  # each one's first and last change
    snap = (np.zeros((m, len(_SNAP_INTS)), dtype=np.int64), np.zeros((m, len(_SNAP_FLOATS))))
    bounds = (float(tracker.width), float(p.min_reporters_outage), float(p.incident_phi),
              float(p.p_outage), float(p.resolve_llr), tracker.quiet_buckets,
              float(p.related_window_s), float(p.related_cause_ratio), float(p.max_freeze_s),
              bank.prior_per_bucket, bank.day_buckets)  # fmt: skip
    opened = (sids, ints, flts, is_open, changed_at, snap, bounds, np.empty_like(ints),
              np.empty_like(flts))  # fmt: skip
    args = (model, clock, judging, screen, hush, cold, opened, scratch, out)
    done = int(run_rows(starts, counts, first, limit, delay, *args))
    if checks is not None:
        checks.next = int(cursor[0])
    bank.pos, bank.steps, bank.system_age, bank.hour_of = (int(v) for v in clock)
    if done > first:  # as observe leaves them after the last stepped bucket
        tracker.just_opened, tracker.just_resolved = [], []
        now = float(starts[done - 1]) + delay
        tracker.last_out = {
            sid: at for sid, at in tracker.last_out.items() if now - at <= p.recur_window_s
        }
        if incs and carried is not None:
            _carry(tracker, incs, (ints, flts, changed_at, snap), counts, first, done, carried)
    return done


def _carry(
    tracker: IncidentTracker,
    incs: list[tuple[int, Incident]],
    fields: tuple[I64, F64, I64, tuple[I64, F64]],
    counts: F64,
    first: int,
    done: int,
    carried: Carried,
) -> None:
    """The open incidents as run `first` .. `done - 1` left them: their fields, then
    their problems and regions over the run (`IncidentTracker.add_breakdown`), and
    those it changed, listed as `observe` would have (`Carried`)."""
    ints, flts, at, snap = fields
    keys, problems = carried.keys, carried.problems
    sids = [sid for sid, _ in incs]
    # Service-wide incidents count their regions' reports: those series' counts summed
    # up to each bucket of the run (only those columns: a run may be long and wide).
    services = {inc.service for _, inc in incs if inc.region is None}
    cols = np.array(
        sorted({r for s in services for r in as_keys(keys).regional(s)}), dtype=np.int64
    )
    upto_b = np.cumsum(counts[first:done][:, cols], axis=0)

    def regions_upto(last: int) -> F64:
        """Per series, the run's counts up to bucket `last` (its regional columns)."""
        out = np.zeros(counts.shape[1])
        out[cols] = upto_b[last - first]
        return out

    listed: list[tuple[int, int, Incident]] = []
    for k, (sid, inc) in enumerate(incs):
        first_at, last_at = int(at[0, k]), int(at[1, k])
        if 0 <= last_at < done - 1:  # the feed object as it stood at its last change
            was = replace(
                inc, problems=dict(inc.problems), regions=dict(inc.regions),
                region_levels=dict(inc.region_levels), peak_reports=int(snap[0][k, 0]),
                total_reports=int(snap[0][k, 1]), max_score=float(snap[1][k, 0]),
                peak_at=float(snap[1][k, 1]), peak_expected=float(snap[1][k, 2]),
            )  # fmt: skip
            by = problems([sid], first, last_at + 1) if problems is not None else {}
            tracker.add_breakdown(was, sid, by.get(sid, {}), regions_upto(last_at), keys)
            listed.append((first_at, k, was))
        elif last_at >= 0:
            listed.append((first_at, k, inc))
        for name, v in zip(_INTS[2:], ints[k, 2:].tolist(), strict=True):
            setattr(inc, name, int(v))
        for name, v in zip(_FLOATS[1:], flts[k, 1:].tolist(), strict=True):
            setattr(inc, name, float(v))
    by = problems(sids, first, done) if problems is not None else {}
    totals = regions_upto(done - 1)
    for sid, inc in incs:
        tracker.add_breakdown(inc, sid, by.get(sid, {}), totals, keys)
    carried.changed.extend(inc for _, _, inc in sorted(listed, key=lambda e: e[:2]))


def run_limit(bank: SeriesBank, first: int, limit: int) -> int:
    """The run may not reach the bucket after which `SeriesBank.learn` recomputes the
    window sums (once a day of steps): that one is stepped a bucket at a time."""
    return min(limit, first + bank.steps_to_resum())


@compiled
def run_rows(
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
    opened: Any,
    scratch: Any,
    out: Any,
) -> int:
    """`step_run`'s pass. `clock`: the bank's pos, steps, system age and hour (read
    and written back); `judging`: the tracker's onset, run and bursts (updated), the
    series whose outage ended (and when), the recurrence window, onset_p and bars;
    `screen`: the checks (`Screened`: due times, series, largest counts), the next
    one (read and written back) and the reporters an outage needs; `silence`: the
    service-wide series and the expected reports a silence needs; `cold`: on a cold
    system, the counts seen so far (updated), the window and prior of the cold alarm,
    its parameters and room for its result; `opened`: the open incidents (series,
    fields by column as _INTS and _FLOATS, updated), which series are open, the
    bucket of each one's last change and its feed fields then (written), the
    tracker's parameters the bookkeeping reads, and room for a bucket's next state."""
    state, more, born_warm, win, log1p_prior_w, before, c = model
    onset, run, bursts, again, again_at, recur_window, onset_p, bars = judging
    ready, ptr, sids, most, cursor, min_reporters = screen
    wide, silence_at = silence
    seen, is_cold, window, prior, cold_phi, cold_min, p_outage, forced = cold
    inc_sid, inc_i, inc_f, is_open, changed_at, snap, params, next_i, next_f = opened
    (width, min_outage, incident_phi, p_out, resolve_llr, quiet_buckets, related_window,
     cause_ratio, max_freeze, young_rate, day_buckets) = params  # fmt: skip
    snap_i, snap_f = snap
    floats, rising, judged, saved_f, saved_i = scratch
    expected, score, levels = out
    (mu, p, _log_p, sc, p1, p_short, p_mid, cusum, recent, phi, shape, closed) = floats
    alive = more[3]
    age, level, day_x, day_e = state[0], state[1], state[3], state[4]
    cusum_state, hour_x, hour_mu = state[17], state[18], state[19]
    n = counts.shape[1]
    m = len(inc_sid)
    pos, steps, system_age, hour_of = clock[0], clock[1], clock[2], clock[3]
    none = np.zeros(n, dtype=np.bool_)
    every = np.ones(n, dtype=np.bool_)
    no_cause = np.zeros(n, dtype=np.int8)
    forced[:] = False
    changes = np.zeros(m, dtype=np.bool_)
    for i in range(first, limit):
        x = counts[i]
        t = starts[i]
        now = t + delay
        # Checks due before this bucket (Pipeline._check_partial's screen: series with
        # an incident open are skipped, and on a cold system none is allowed): those
        # that would do more are the caller's.
        nxt = cursor[0]
        while nxt < len(ready) and ready[nxt] <= t:
            for q in range(ptr[nxt], ptr[nxt + 1] if not is_cold else ptr[nxt]):
                if is_open[sids[q]]:
                    continue
                peak = daily_peak1(day_x, day_e, level, age, sids[q], c)
                if most[q] >= screen_bar1(peak, min_reporters):
                    return i
            nxt += 1
            cursor[0] = nxt
        # Another service down hard (IncidentTracker.common_cause) lowers bars: the
        # caller's bucket.
        for k in range(m):
            if (inc_i[k, 0] == 2 and inc_i[k, 1] == 1 and now - inc_f[k, 0] <= related_window
                    and inc_f[k, 4] >= cause_ratio * inc_f[k, 5]):  # fmt: skip
                return i
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
        # The tracker's judgement (IncidentTracker.observe without a common cause;
        # warm: every series allowed, none forced; cold: none allowed, the cold
        # alarm's forced), undone if anything opens, confirms or resolves.
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
        judge_rows((p, p1, p_short, p_mid, recent, cusum), x, recur, no_cause,
                   none if is_cold else every, forced, (run, bursts), bars, judged)  # fmt: skip
        event = False
        for j in range(n):
            if judged.opening[j] and not is_open[j]:
                event = True
        # The open incidents' bookkeeping (observe's loop over them), into next_*.
        end = t + width
        for k in range(m):
            if event:
                break
            sid = inc_sid[k]
            next_i[k, :] = inc_i[k]
            next_f[k, :] = inc_f[k]
            got = int(x[sid])
            mu_k = mu[sid]
            next_i[k, 3] += got
            next_f[k, 1] = max(next_f[k, 1], sc[sid])
            changes[k] = got != 0
            if got > next_i[k, 2]:
                next_f[k, 2], next_i[k, 2], next_f[k, 3] = t, got, mu_k
                changes[k] = True
            next_f[k, 4] += got
            next_f[k, 5] += mu_k
            if next_i[k, 0] != 2 and (
                judged.level[sid] == 2
                or (next_f[k, 4] >= min_outage
                    and nb_sf1(next_f[k, 4], max(next_f[k, 5], 1e-9), incident_phi) <= p_out)
            ):  # fmt: skip
                event = True  # it confirms
            next_i[k, 5] = next_i[k, 5] + 1 if judged.faded[sid] else 0
            if judged.excess[sid]:
                next_f[k, 9] = end
                next_f[k, 6], next_f[k, 7] = next_f[k, 4], next_f[k, 5]
                next_i[k, 4], next_f[k, 8] = 0, 0.0
            else:  # IncidentTracker._ended
                rate = max(mu_k, young_rate if age[sid] < day_buckets else 0.0)
                ratio = max(2.0, next_f[k, 6] / next_f[k, 7]) if next_f[k, 7] > 0 else 2.0
                next_f[k, 8] = max(0.0, next_f[k, 8] + (ratio - 1.0) * rate - got * math.log(ratio))
                next_i[k, 4] += 1
                if next_i[k, 4] >= quiet_buckets and (
                    next_f[k, 8] >= resolve_llr
                    or (next_i[k, 0] == 1 and next_i[k, 5] >= quiet_buckets)
                ):
                    event = True  # it resolves
        if event:
            onset[:] = saved_f
            run[:] = saved_i[0]
            bursts[:] = saved_i[1]
            return i
        for k in range(m):
            inc_i[k, :] = next_i[k]
            inc_f[k, :] = next_f[k]
            if changes[k]:
                if changed_at[0, k] < 0:
                    changed_at[0, k] = i
                changed_at[1, k] = i
                snap_i[k, 0], snap_i[k, 1] = inc_i[k, 2], inc_i[k, 3]
                snap_f[k, 0], snap_f[k, 1], snap_f[k, 2] = inc_f[k, 1], inc_f[k, 2], inc_f[k, 3]
            if inc_i[k, 0] == 2:  # outages freeze their series, for at most max_freeze
                judged.learn[inc_sid[k]] = now - inc_f[k, 0] >= max_freeze
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
