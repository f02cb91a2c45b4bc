"""The incident state machine: evidence per bucket in, incidents out.

Per series, each closed bucket gives evidence (from `SeriesBank.step`):
- `outage` evidence: p <= p_outage with at least `min_reporters_outage` counted
  (distinct, thanks to dedup) reports in the last 15 minutes: opens at once;
- `possible` evidence: p <= p_possible and `min_reporters_possible` reports: opens
  after `sustain_possible` buckets in a row, so one odd bucket is not an incident, and
  only while the latest bucket itself is still above normal (a burst already over
  when it is noticed is not worth a person's attention).
- A common cause: while another service is in a service-wide outage opened within
  `related_window_s`, a series whose rise began with it needs less evidence
  (`related_p_outage`, `related_p_possible`, `related_min_reporters`): a dependant's
  rise beside a provider's outage is likelier to be real. A service that declares the
  failing service among its providers (`set_providers`, from the catalog) gets a
  stronger prior (`declared_p_outage`, `declared_p_possible`,
  `declared_min_reporters`), and its incident names the provider's (`because_of`).
  A failing provider (a service anyone declares) is infrastructure, whose outage
  reaches services no catalog lists: a stranger's rise beside it confirms at
  `provider_p_outage` (with `related_min_reporters`); beside any other service it is
  judged at the generic bars. A series whose own outage
  ended less than `recur_window_s` ago confirms at `recur_p_outage` (a tool broken
  again the next working day is likely the same failure).
An open incident escalates to `outage` on outage evidence (that is `confirmed_at`), or
when the reports of its whole life so far are beyond any plausible normal (the tail
of their sum against the sum expected, at a generous dispersion `incident_phi`): a
sparse series broken for hours never has a striking 15 minutes.
It resolves when the series is back to normal: `quiet_s` of buckets without clear
excess in a row *and* a CUSUM for the end (counts at the normal rate against the
rate seen during the incident) past `resolve_llr`, so a brief dip does not split it,
a big outage resolves minutes after it ends, and a sparse one is not resolved by a
few empty minutes. A `possible` also ends once nothing is unusual for `quiet_s`
(1 and 5 minutes above `active_p`, 15 minutes above `alive_p`): its evidence faded.
Its end is the last bucket with clearly excess counts (`end_p`), not the moment it
was resolved.
While an outage is open, its series does not learn, for at most `max_freeze_s` (a
working day), after which a lasting level shift is accepted as the new normal.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from outagewatch.detector.judge import CAUSES, Bars, judge_rows, judgement_for, onset_rows
from outagewatch.detector.kernels import cold_alarm_ufunc
from outagewatch.detector.model import Step, nb_sf, recent_buckets
from outagewatch.detector.related import RelatedWindow
from outagewatch.ingest.series import SeriesKey, as_keys
from outagewatch.ingest.windows import iso


@dataclass(frozen=True)
class IncidentParams:
    p_possible: float = 1e-6  # ~0.01 false alarms per series-week per test at 1-min buckets
    p_outage: float = 1e-8
    min_reporters_possible: int = 5
    min_reporters_outage: int = 10
    sustain_possible: int = 2
    active_p: float = 1e-3  # a `possible` stays while its 1 or 5 minutes are this unusual
    alive_p: float = 0.01  # ... or its 15 minutes are this unusual
    hold_cusum: float = 6.0  # a CUSUM (hourly, with the hour in progress) this high stops learning
    onset_p: float = 0.05
    end_p: float = 0.01
    quiet_s: int = 300  # at least this long without excess before resolving
    resolve_llr: float = 9.2  # log-likelihood ratio (normal vs still out) that ends it
    max_freeze_s: int = 12 * 3600
    related_window_s: int = 600
    related_p_outage: float = 1e-4  # with a common cause (another service in outage)
    related_p_possible: float = 1e-3
    related_min_reporters: int = 5
    related_cause_ratio: float = 10.0  # a cause is down hard: its reports / expected so far
    # A cause the catalog names as anyone's provider is infrastructure: its failure
    # reaches services that did not declare it too (no catalog is complete).
    provider_p_outage: float = 1e-3
    # A declared dependant of a cause (the catalog says it runs on it): likelier still.
    declared_p_outage: float = 1e-3
    declared_p_possible: float = 1e-2
    declared_min_reporters: int = 3  # distinct reporters (dedup): never one client alone
    recur_window_s: int = 20 * 3600  # a series out within this long: a rise is likely the same
    recur_p_outage: float = 1e-6  # ... and confirms at this p (with min_reporters_outage)
    incident_phi: float = 1.0  # dispersion for an incident's whole-life evidence
    cold_min_reporters: int = 50  # cold system: reports in 15 min no new series explains
    cold_phi: float = 1.0  # cold system: dispersion around the rate seen so far


def _parse(text: str | None) -> float | None:
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def incident_id(service: str, region: str | None, opened_at: float) -> str:
    """Deterministic, so a replay names incidents exactly as the live server did.

    >>> incident_id("amazon", None, 0.0)
    'amazon--all--19700101T000000Z'
    """
    stamp = dt.datetime.fromtimestamp(opened_at, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{service}--{region or 'all'}--{stamp}"


@dataclass
class Incident:
    id: str
    service: str
    region: str | None
    level: str
    started_at: float
    opened_at: float
    confirmed_at: float | None = None
    ended_at: float | None = None
    resolved_at: float | None = None
    state: str = "open"
    peak_at: float = 0.0
    peak_reports: int = 0
    peak_expected: float = 0.0
    total_reports: int = 0
    last_active_end: float = 0.0
    quiet: int = 0
    problems: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)
    region_levels: dict[str, str] = field(default_factory=dict)
    related: set[str] = field(default_factory=set)
    because_of: dict[str, str] = field(default_factory=dict)  # provider -> its incident id
    max_score: float = 0.0
    # Internal (not in the feed object): sums since opening, up to the last bucket
    # with excess (the rate while it was out), and the CUSUM for its end.
    x_sum: float = 0.0
    mu_sum: float = 0.0
    x_out: float = 0.0
    mu_out: float = 0.0
    end_llr: float = 0.0
    faded: int = 0  # buckets in a row with nothing unusual (a `possible` then ends)

    def to_dict(self) -> dict[str, Any]:
        """The contract's feed object (plus a few added fields)."""
        problems_total = sum(self.problems.values())
        top = sorted(self.problems.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        regions = sorted(self.regions.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "id": self.id,
            "service": self.service,
            "region": self.region,
            "level": self.level,
            "state": self.state,
            "started_at": iso(self.started_at),
            "opened_at": iso(self.opened_at),
            "confirmed_at": iso(self.confirmed_at),
            "ended_at": iso(self.ended_at),
            "peak": {
                "at": iso(self.peak_at),
                "reports": self.peak_reports,
                "expected": round(self.peak_expected, 3),
            },
            "total_reports": self.total_reports,
            "top_problems": [{"problem": k, "share": round(v / problems_total, 3)} for k, v in top]
            if problems_total
            else [],
            "regions": [
                {"region": r, "reports": n, "level": self.region_levels.get(r)} for r, n in regions
            ],
            "related": sorted(self.related),
            "because_of": [
                {"service": s, "incident": i} for s, i in sorted(self.because_of.items())
            ],
            "resolved_at": iso(self.resolved_at),
            "max_score": self.max_score,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Incident:
        """Rebuild from the feed object (restart: open incidents carry on)."""
        peak = d.get("peak") or {}
        return cls(
            id=d["id"],
            service=d["service"],
            region=d.get("region"),
            level=d["level"],
            state=d["state"],
            started_at=_parse(d["started_at"]) or 0.0,
            opened_at=_parse(d["opened_at"]) or 0.0,
            confirmed_at=_parse(d.get("confirmed_at")),
            ended_at=_parse(d.get("ended_at")),
            resolved_at=_parse(d.get("resolved_at")),
            peak_at=_parse(peak.get("at")) or 0.0,
            peak_reports=int(peak.get("reports", 0)),
            peak_expected=float(peak.get("expected", 0.0)),
            total_reports=int(d.get("total_reports", 0)),
            last_active_end=_parse(d.get("opened_at")) or 0.0,
            problems={p["problem"]: round(p["share"] * 1000) for p in d.get("top_problems", [])},
            regions={r["region"]: int(r["reports"]) for r in d.get("regions", [])},
            related=set(d.get("related", [])),
            because_of={c["service"]: c["incident"] for c in d.get("because_of", [])},
            max_score=float(d.get("max_score", 0.0)),
            # After a restart only its peak tells the rate it ran at (for its end).
            x_out=float(peak.get("reports", 0)),
            mu_out=float(peak.get("expected", 0.0)),
        )

    def to_record(self) -> dict[str, Any]:
        """Every field, the internal ones too, for a restart that carries on unchanged.

        >>> inc = Incident("a--all--1", "a", None, "outage", 60.0, 70.0, quiet=2,
        ...                problems={"login": 7}, related={"b"}, x_sum=30.0, end_llr=1.5)
        >>> Incident.from_record(inc.to_record()) == inc
        True
        """
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["related"] = sorted(self.related)
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> Incident:
        """The inverse of `to_record` (unknown keys from a newer version are ignored)."""
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in d.items() if k in known}
        kept["related"] = set(kept.get("related", ()))
        for name in ("problems", "regions", "region_levels", "because_of"):
            kept[name] = dict(kept.get(name, {}))
        return cls(**kept)


@dataclass(frozen=True)
class NewSeries:
    """Series without a baseline yet (fewer than a day of buckets seen): the model's
    expected count for them is a guess, so the end of their incidents is judged
    against at least the rate assumed for a new series, as a cold alarm is.

    >>> young = NewSeries(age=np.array([5, 2000]), day=1440, rate=0.02)
    >>> young.floor(0), young.floor(1), young.floor(7)
    (0.02, 0.0, 0.02)
    """

    age: npt.NDArray[np.int64]  # buckets each series has seen (the model's)
    day: int  # buckets in a day
    rate: float  # reports a bucket assumed for a new series

    def floor(self, sid: int) -> float:
        return self.rate if sid >= len(self.age) or self.age[sid] < self.day else 0.0


@dataclass
class Cause:
    """This bucket's common-cause priors, per series."""

    kind: npt.NDArray[np.int8]  # per series, the strongest cause (an index into CAUSES)
    of: dict[int, dict[str, str]]  # declared: series -> {provider: its incident id}


class IncidentTracker:
    """Turns per-bucket evidence into incidents. Pure: time comes in as arguments."""

    def __init__(self, params: IncidentParams | None = None, bucket_seconds: int = 60) -> None:
        self.params = params or IncidentParams()
        self.width = bucket_seconds
        self.quiet_buckets = max(1, math.ceil(self.params.quiet_s / bucket_seconds))
        self.open: dict[int, Incident] = {}
        self._run = np.zeros(0, dtype=np.int64)
        self._onset = np.zeros(0)
        self._bursts = np.zeros(0, dtype=np.int64)  # buckets with excess in the rise
        self._bars = Bars.of(self.params)
        self._related = RelatedWindow(self.params.related_window_s)
        self.providers: dict[str, tuple[str, ...]] = {}  # as told (set_providers)
        self._dependants: dict[str, frozenset[str]] = {}  # provider -> declared dependants
        self.last_out: dict[int, float] = {}  # series -> when its last outage resolved
        self.just_opened: list[int] = []  # series ids opened by the last observe()
        self.just_resolved: list[int] = []

    def _ensure(self, n: int) -> None:
        if n > len(self._run):
            grow = n - len(self._run)
            self._run = np.concatenate([self._run, np.zeros(grow, dtype=np.int64)])
            self._onset = np.concatenate([self._onset, np.full(grow, np.nan)])
            self._bursts = np.concatenate([self._bursts, np.zeros(grow, dtype=np.int64)])

    def restore(
        self,
        incidents: list[Incident],
        sid_of: Callable[[SeriesKey], int | None],
        now: float | None = None,
        resolved: Iterable[Incident] = (),
    ) -> None:
        """Carry on at stream time `now` with these open incidents. Equal `related` sets
        become one set, as they were before the restart (detector/related.py). Those
        opened within the related window (`resolved` adds the ones that ended since)
        are back in it, so an incident opening after the restart names their services
        and they name it, as without the restart."""
        shared: dict[frozenset[str], set[str]] = {}
        for inc in incidents:
            inc.related = shared.setdefault(frozenset(inc.related), inc.related)
            sid = sid_of((inc.service, inc.region))
            if sid is not None and inc.state == "open":
                self.open[sid] = inc
        if now is None:
            return
        since = now - self.params.related_window_s
        back = {inc.id: inc for inc in resolved if inc.opened_at >= since}
        back |= {inc.id: inc for inc in self.open.values() if inc.opened_at >= since}
        recent = list(back.values())
        self._related.restore(recent, [i for i in self.open.values() if i.id not in back])

    def state(self, n: int) -> dict[str, npt.NDArray[Any]]:
        """Each series' rise as judged so far (its onset, its run of buckets with
        evidence, its bursts), for a snapshot: a rise that spans a restart goes on.
        Views, not copies: a snapshot packs them before the next bucket is judged."""
        self._ensure(n)
        return {
            "rise_onset": self._onset[:n],
            "rise_run": self._run[:n],
            "rise_bursts": self._bursts[:n],
        }

    def load(self, state: Mapping[str, npt.NDArray[Any]]) -> None:
        """The rises of `state` (a snapshot without them starts every rise afresh)."""
        if "rise_onset" not in state:
            return
        n = len(state["rise_onset"])
        self._ensure(n)
        self._onset[:n] = state["rise_onset"]
        self._run[:n] = state["rise_run"]
        self._bursts[:n] = state["rise_bursts"]

    def set_providers(self, providers: Mapping[str, Iterable[str]]) -> None:
        """Who runs on whom: service -> the providers it declares (the catalog's).

        Replaced whole, so a reader in `observe` sees the old mapping or the new one.
        """
        self.providers = {k: tuple(v) for k, v in providers.items()}
        dependants: dict[str, set[str]] = {}
        for service, names in self.providers.items():
            for provider in names:
                if provider != service:
                    dependants.setdefault(provider, set()).add(service)
        self._dependants = {k: frozenset(v) for k, v in dependants.items()}

    def common_cause(self, t: float, now: float, keys: Sequence[SeriesKey]) -> Cause:
        """Service-wide series with a common-cause prior this bucket: another service
        is down hard (a service-wide outage opened within `related_window_s`, its
        reports so far at least `related_cause_ratio` times what was expected), and
        this series' rise (its onset) began no earlier than that outage's own start.
        Each series gets its strongest cause (CAUSES): a provider's rise beside a
        cause anyone declares as a provider is `provider`, a declared dependant's
        `declared`, with the cause's incident per series."""
        n = len(keys)
        self._ensure(n)  # a partial bucket's check may come before the series' first step
        p = self.params
        cause = Cause(np.zeros(n, dtype=np.int8), {})
        causes = [
            inc
            for inc in self.open.values()
            if inc.level == "outage"
            and inc.region is None
            and now - inc.opened_at <= p.related_window_s
            and inc.x_sum >= p.related_cause_ratio * inc.mu_sum
        ]
        if not causes:
            return cause
        # Compared as integer codes: a million series take a millisecond per cause,
        # where their names as objects took ten.
        coded = as_keys(keys)
        services, wide = coded.service_codes(), coded.wide_mask()
        onset = np.where(np.isnan(self._onset[:n]), t, self._onset[:n])
        for inc in causes:
            own = coded.service_code(inc.service)
            began = wide & (services != (-1 if own is None else own))
            began &= onset >= inc.started_at - self.width
            dependants = self._dependants.get(inc.service)
            kind = CAUSES.index("provider" if dependants else "generic")
            cause.kind[began] = np.maximum(cause.kind[began], kind)
            if dependants:
                named = [c for d in dependants if (c := coded.service_code(d)) is not None]
                hit = began & np.isin(services, named)
                cause.kind[hit] = CAUSES.index("declared")
                for sid in np.flatnonzero(hit).tolist():
                    cause.of.setdefault(sid, {})[inc.service] = inc.id
        return cause

    def observe(
        self,
        t: float,
        now: float,
        step: Step,
        counts: npt.NDArray[np.float64],
        keys: Sequence[SeriesKey],
        problems: Callable[[list[int]], dict[int, dict[str, int]]] | None = None,
        allowed: npt.NDArray[np.bool_] | None = None,
        forced: npt.NDArray[np.bool_] | None = None,
        young: NewSeries | None = None,
    ) -> tuple[list[Incident], npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
        """One closed bucket [t, t + width), decided at stream time `now`.

        `problems(sids)` gives this bucket's problem counts for those series; it is
        called only when incidents are open (the breakdown is costly to build).
        `allowed` masks series that may raise incidents; `forced` marks series with
        evidence no baseline could explain (a cold system, see `cold_alarm`); `young`
        tells which series have no baseline yet (their incidents' end, `_ended`).
        Returns the incidents that changed, the learn mask for the model, and the
        per-series level of this bucket (what `--scores` shows).
        """
        n = len(step.p)
        self._ensure(n)
        p = self.params
        onset_rows(t, step.p1, self._onset[:n], p.onset_p)
        cause = self.common_cause(t, now, keys[:n]) if self.open else None
        recur = [sid for sid, at in self.last_out.items() if now - at <= p.recur_window_s]
        if len(recur) < len(self.last_out):
            self.last_out = {sid: self.last_out[sid] for sid in recur}
        judged = judgement_for(n)
        none = np.zeros(n, dtype=np.bool_)
        judge_rows(
            (step.p, step.p1, step.p_short, step.p_mid, step.recent, step.cusum),
            counts,
            np.array(recur, dtype=np.int64),
            np.zeros(n, dtype=np.int8) if cause is None else cause.kind,
            np.ones(n, dtype=np.bool_) if allowed is None else allowed[:n],
            none if forced is None else forced[:n],
            (self._run[:n], self._bursts[:n]),
            self._bars,
            judged,
        )  # fmt: skip
        e, excess, opening, faded = judged.level, judged.excess, judged.opening, judged.faded
        end = t + self.width
        changed: dict[int, Incident] = {}
        self.just_opened, self.just_resolved = [], []

        # Open new incidents (see judge_rows for which series open).
        window = recent_buckets(self.width)
        for found in np.flatnonzero(opening):
            sid = int(found)
            if sid in self.open:
                continue
            service, region = keys[sid]
            onset = self._onset[sid]
            started = float(onset) if not np.isnan(onset) else t
            if e[sid] == 1:  # sustained: the run began sustain_possible - 1 buckets ago
                started = min(started, t - (p.sustain_possible - 1) * self.width)
            inc = Incident(
                id=incident_id(service, region, now),
                service=service,
                region=region,
                level="outage" if e[sid] == 2 else "possible",
                started_at=started,
                opened_at=now,
                confirmed_at=now if e[sid] == 2 else None,
                last_active_end=end,
                peak_at=t,
                peak_expected=float(step.expected[sid]),
            )
            # The rise before it opened tells the rate it runs at (this bucket is
            # added below, with every open incident's).
            inc.x_sum = inc.x_out = max(0.0, float(step.recent[sid] - counts[sid]))
            inc.mu_sum = inc.mu_out = float(step.expected[sid]) * (window - 1)
            if cause is not None and sid in cause.of:
                inc.because_of = dict(cause.of[sid])
            self.open[sid] = inc
            self.just_opened.append(sid)
            self._related.link(inc, now)
            changed[sid] = inc

        # Update open incidents.
        by_problem = problems(list(self.open)) if problems is not None and self.open else {}
        for sid, inc in list(self.open.items()):
            if sid >= n:
                continue
            c = int(counts[sid]) if sid < len(counts) else 0
            mu = float(step.expected[sid])
            inc.total_reports += c
            inc.max_score = max(inc.max_score, float(step.score[sid]))
            self.add_breakdown(inc, sid, by_problem.get(sid, {}), counts, keys)
            if c > inc.peak_reports:
                inc.peak_at, inc.peak_reports = t, c
                inc.peak_expected = mu
                changed[sid] = inc
            inc.x_sum += c
            inc.mu_sum += mu
            if inc.level != "outage" and (e[sid] == 2 or self._proven(inc)):
                inc.level, inc.confirmed_at = "outage", now
                if cause is not None and sid in cause.of:
                    inc.because_of |= cause.of[sid]
                changed[sid] = inc
            inc.faded = inc.faded + 1 if faded[sid] else 0
            if excess[sid]:
                inc.last_active_end = end
                inc.x_out, inc.mu_out = inc.x_sum, inc.mu_sum
                inc.quiet, inc.end_llr = 0, 0.0
            elif self._ended(inc, c, max(mu, young.floor(sid)) if young is not None else mu):
                inc.state, inc.ended_at, inc.resolved_at = "resolved", inc.last_active_end, now
                if inc.level == "outage":
                    self.last_out[sid] = now
                del self.open[sid]
                self.just_resolved.append(sid)
                changed[sid] = inc
            if inc.state == "open" and sid not in changed and c:
                changed[sid] = inc

        # Learn everywhere except series with an incident (bounded) or a candidate run.
        # A series whose evidence is building (a candidate) holds its learning too:
        # else a slow rise is learned as normal before the CUSUM can prove it.
        # (The CUSUM only: it is held at zero while a series warms up, so a model that
        # has not learned yet cannot stop itself from learning.)
        learn = judged.learn
        # Outages freeze their series (bounded); a `possible` keeps learning, clipped
        # by the model, so a normal the model had wrong cannot freeze into a daily loop.
        for sid, inc in self.open.items():
            if sid < n and inc.level == "outage":
                learn[sid] = now - inc.opened_at >= p.max_freeze_s
        return list(changed.values()), learn, e

    def _proven(self, inc: Incident) -> bool:
        """The incident's whole life so far is beyond any plausible normal."""
        p = self.params
        if inc.x_sum < p.min_reporters_outage:
            return False
        tail = nb_sf(np.array([inc.x_sum]), np.array([max(inc.mu_sum, 1e-9)]),
                     np.array([p.incident_phi]))  # fmt: skip
        return bool(tail[0] <= p.p_outage)

    def _ended(self, inc: Incident, c: float, mu: float) -> bool:
        """One more bucket without clear excess: is the series back to normal?

        A CUSUM of the log-likelihood ratio of the normal rate against the rate the
        incident ran at (its reports over what was expected, up to its last excess
        bucket; at least the doubling the model watches for). Counts near normal
        raise it by about (m - 1) mu - c log m a bucket, so a big outage ends within
        minutes, a sparse series needs many empty minutes, and counts still at the
        incident's rate keep it at zero.
        """
        p = self.params
        m = max(2.0, inc.x_out / inc.mu_out) if inc.mu_out > 0 else 2.0
        inc.end_llr = max(0.0, inc.end_llr + (m - 1.0) * mu - c * math.log(m))
        inc.quiet += 1
        if inc.quiet < self.quiet_buckets:
            return False
        # A `possible` is weak evidence: once nothing is unusual any more, it is over.
        return inc.end_llr >= p.resolve_llr or (
            inc.level == "possible" and inc.faded >= self.quiet_buckets
        )

    def open_early(
        self,
        sid: int,
        key: SeriesKey,
        bucket: float,
        now: float,
        expected: float,
        because_of: Mapping[str, str] | None = None,
    ) -> Incident | None:
        """Open an outage from a partial bucket that already proves it (see app/engine/early.py).

        `because_of` is the series' declared cause from `common_cause` at that moment
        (taken before anything opens there, as for a closed bucket)."""
        if sid in self.open:
            return None
        self._ensure(sid + 1)
        onset = self._onset[sid]
        inc = Incident(
            id=incident_id(key[0], key[1], now),
            service=key[0],
            region=key[1],
            level="outage",
            started_at=float(onset) if not np.isnan(onset) else bucket,
            opened_at=now,
            confirmed_at=now,
            last_active_end=bucket + self.width,
            peak_at=bucket,
            peak_expected=expected,
            because_of=dict(because_of or {}),
        )
        self.open[sid] = inc
        self._related.link(inc, now)
        return inc

    def add_breakdown(
        self,
        inc: Incident,
        sid: int,
        problems: Mapping[str, int],
        counts: npt.NDArray[np.float64],
        keys: Sequence[SeriesKey],
    ) -> None:
        """Add a bucket's problem counts (or a run's, summed) to an open incident, and
        for a service-wide one the counts of its regions (`counts`, per series) with
        the level of each one's open incident."""
        for prob, k in problems.items():
            inc.problems[prob] = inc.problems.get(prob, 0) + k
        if inc.region is None:
            self._add_regions(inc, sid, counts, keys)

    def _add_regions(
        self, inc: Incident, sid: int, counts: npt.NDArray[np.float64], keys: Sequence[SeriesKey]
    ) -> None:
        for rid in as_keys(keys).regional(inc.service):
            c = int(counts[rid]) if rid < len(counts) else 0
            region = keys[rid][1]
            if c and region is not None:
                inc.regions[region] = inc.regions.get(region, 0) + c
            regional = self.open.get(rid)
            if regional is not None and region is not None:
                inc.region_levels[region] = regional.level


def cold_alarm(
    recent: npt.NDArray[np.float64],
    seen: npt.NDArray[np.float64],
    steps: int,
    window: int,
    prior: float,
    params: IncidentParams,
) -> npt.NDArray[np.bool_]:
    """Series whose counts no baseline could explain, on a system too young to have one.

    Until the system has seen a day, nothing has a normal to compare with, so only the
    overwhelming may alarm: at least `cold_min_reporters` counted reports over the last
    `window` buckets (`recent`), far in the tail (p <= p_outage, at the generous
    dispersion `cold_phi`) of the rate the series showed over everything the system
    has seen before that window (`seen`: its counts over all `steps` buckets so far),
    or of the new-series rate `prior` (reports a bucket) if that is higher. A big
    service at its usual rate from the first minute is its own baseline and stays
    quiet; 150 reports in minutes for one that was silent are not.
    """
    n = len(recent)
    before = steps - window
    if before < window:  # not even one window of history: nothing to compare with
        return np.zeros(n, dtype=np.bool_)
    out: npt.NDArray[np.bool_] = cold_alarm_ufunc(
        recent, seen[:n], float(before), float(window), prior, params.cold_phi,
        float(params.cold_min_reporters), params.p_outage,
    )  # fmt: skip
    return out
