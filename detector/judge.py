"""The incident tracker's judgement of one bucket for every series, compiled.

What `IncidentTracker.observe` decides per series before it touches an incident: the
level of evidence (none, possible, outage) with every prior that lowers its bar (a
recurrence, a common cause, a declared provider), the run of buckets with evidence,
the rise's onset and bursts, which series open an incident, which may learn. Only
comparisons and counters: the values are exactly those of the numpy it replaces.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from outagewatch.detector.kernels import compiled

B = npt.NDArray[np.bool_]


class Bars(NamedTuple):
    """The tracker's parameters the judgement reads, named as in IncidentParams."""

    p_possible: float
    p_outage: float
    min_reporters_possible: float
    min_reporters_outage: float
    sustain_possible: int
    onset_p: float
    end_p: float
    active_p: float
    alive_p: float
    hold_cusum: float
    recur_p_outage: float
    priors: npt.NDArray[np.float64]  # by common cause (CAUSES): p possible, p outage, reporters

    @classmethod
    def of(cls, params: Any) -> Bars:
        """The bars of an IncidentParams (or anything with its fields)."""
        scalars = [getattr(params, name) for name in cls._fields[:-1]]
        return cls._make([*scalars, prior_bars(params)])


# The common causes a series' rise may have this bucket (IncidentTracker.common_cause),
# weakest first: none, another service down hard, a provider (a service anyone
# declares) down hard, a provider this series declares down hard.
CAUSES = ("none", "generic", "provider", "declared")


def prior_bars(params: Any) -> npt.NDArray[np.float64]:
    """Per cause in CAUSES: the p that makes its rise `possible`, the p that makes it an
    `outage`, and the distinct reporters either needs. No cause lowers no bar."""
    p = params
    return np.array(
        [
            (-1.0, -1.0, math.inf),
            (p.related_p_possible, p.related_p_outage, p.related_min_reporters),
            (p.related_p_possible, p.provider_p_outage, p.related_min_reporters),
            (p.declared_p_possible, p.declared_p_outage, p.declared_min_reporters),
        ]
    )


class Judged(NamedTuple):
    """One bucket's judgement, per series."""

    level: npt.NDArray[np.int8]  # 0 none, 1 possible, 2 outage evidence
    excess: B  # the bucket is clearly above normal (an incident's end is after it)
    opening: B  # an incident opens here (if none is open)
    faded: B  # nothing is unusual at 1, 5 or 15 minutes
    learn: B  # no evidence and the CUSUM does not hold learning


@compiled
def onset_rows(t: float, p1: Any, onset: Any, onset_p: float) -> None:
    """Each series' rise began at its first bucket with p1 <= onset_p, and is over at
    the first without (NaN). Before the judgement: a common cause reads it."""
    for j in range(len(p1)):
        if not p1[j] <= onset_p:
            onset[j] = math.nan
        elif math.isnan(onset[j]):
            onset[j] = t


@compiled
def judge_rows(
    step: Any,
    counts: Any,
    again: Any,
    cause: Any,
    allowed: Any,
    forced: Any,
    state: Any,
    bars: Bars,
    out: Any,
) -> None:
    """`step`: p, p1, p_short, p_mid, recent, cusum; `again`: series whose outage ended
    lately; `cause`: each series' common cause (an index into CAUSES); `state`: the
    tracker's run and bursts per series (updated); `out`: a `Judged`."""
    p, p1, p_short, p_mid, recent, cusum = step
    priors = bars.priors
    run, bursts = state
    level, excess, opening, faded, learn = out
    n, m = len(p), min(len(p), len(counts))
    for j in range(n):
        lv = 0
        if p[j] <= bars.p_possible and recent[j] >= bars.min_reporters_possible:
            lv = 1
        if p[j] <= bars.p_outage and recent[j] >= bars.min_reporters_outage:
            lv = 2
        level[j] = lv
    # A series whose outage ended lately: a new rise is likely the same.
    for sid in again:
        if sid < n and p[sid] <= bars.recur_p_outage and recent[sid] >= bars.min_reporters_outage:
            level[sid] = 2
    for j in range(n):
        lv = level[j]
        k = cause[j]
        if k and recent[j] >= priors[k, 2]:
            if p[j] <= priors[k, 0]:
                lv = max(lv, 1)
            if p[j] <= priors[k, 1]:
                lv = 2
        if not allowed[j]:
            lv = 0
        if forced[j]:
            lv = 2
        level[j] = lv
        hit = p1[j] <= bars.onset_p  # the rise goes on (onset_rows)
        ex = p1[j] <= bars.end_p
        excess[j] = ex
        run[j] = run[j] + 1 if lv >= 1 else 0
        # Buckets with excess since the rise began, kept while its evidence lasts.
        bursts[j] = bursts[j] + ex if (hit or lv >= 1) else 0
        # A `possible` opens only while its latest bucket is still above normal or its
        # rise had more than one bucket with excess; an incident opens in a bucket with
        # reports (window evidence can peak in an empty minute after the rise).
        lasting = ex or bursts[j] >= 2
        opens = lv == 2 or (lv == 1 and run[j] >= bars.sustain_possible and lasting)
        opening[j] = opens and j < m and counts[j] > 0
        faded[j] = p1[j] > bars.active_p and p_short[j] > bars.active_p and p_mid[j] > bars.alive_p
        learn[j] = lv == 0 and cusum[j] < bars.hold_cusum


def judgement_for(n: int) -> Judged:
    """Room for one bucket's judgement of n series."""
    flags = np.empty((4, n), dtype=np.bool_)
    return Judged(np.empty(n, dtype=np.int8), flags[0], flags[1], flags[2], flags[3])
