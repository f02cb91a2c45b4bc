"""The incident state machine: evidence per bucket in, incidents out.

Per series, each closed bucket gives evidence (from `SeriesBank.step`):
- `outage` evidence: p <= p_outage with at least `min_reporters_outage` counted
  (distinct, thanks to dedup) reports in the last 15 minutes: opens at once;
- `possible` evidence: p <= p_possible and `min_reporters_possible` reports: opens
  after `sustain_possible` buckets in a row, so one odd bucket is not an incident.
An open incident escalates to `outage` on outage evidence (that is `confirmed_at`),
and stays open while its series is still active (counts unusual at the lower bar
`active_p` over 1 or 5 buckets, a 15-minute window still at `alive_p`, or the CUSUM
still rising): hysteresis. It resolves only after `quiet_s` of inactive buckets in a
row, so a brief dip does not split it. Its end is the last bucket with clearly excess
counts (`end_p`), not the moment it was resolved.
While open, its series does not learn, for at most `max_freeze_s`, after which a
lasting level shift is accepted as the new normal.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from detector.model import Step

SeriesKey = tuple[str, str | None]


@dataclass(frozen=True)
class IncidentParams:
    p_possible: float = 1e-6  # ~0.01 false alarms per series-week per test at 1-min buckets
    p_outage: float = 1e-8
    min_reporters_possible: int = 5
    min_reporters_outage: int = 10
    sustain_possible: int = 2
    active_p: float = 1e-3
    active_cusum: float = 6.0
    alive_p: float = 0.01
    hold_cusum: float = 6.0  # a CUSUM this high stops learning (rare under the null)
    onset_p: float = 0.05
    end_p: float = 0.01
    quiet_s: int = 600
    max_freeze_s: int = 6 * 3600
    related_window_s: int = 600


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    max_score: float = 0.0

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
            "started_at": _iso(self.started_at),
            "opened_at": _iso(self.opened_at),
            "confirmed_at": _iso(self.confirmed_at),
            "ended_at": _iso(self.ended_at),
            "peak": {
                "at": _iso(self.peak_at),
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
            "resolved_at": _iso(self.resolved_at),
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
            max_score=float(d.get("max_score", 0.0)),
        )


class IncidentTracker:
    """Turns per-bucket evidence into incidents. Pure: time comes in as arguments."""

    def __init__(self, params: IncidentParams | None = None, bucket_seconds: int = 60) -> None:
        self.params = params or IncidentParams()
        self.width = bucket_seconds
        self.quiet_buckets = max(1, math.ceil(self.params.quiet_s / bucket_seconds))
        self.open: dict[int, Incident] = {}
        self._run = np.zeros(0, dtype=np.int64)
        self._onset = np.zeros(0)
        self._recent: deque[Incident] = deque()
        self._regional: dict[str, list[int]] = {}
        self._n_keys = 0
        self.just_opened: list[int] = []  # series ids opened by the last observe()
        self.just_resolved: list[int] = []

    def _ensure(self, n: int) -> None:
        if n > len(self._run):
            grow = n - len(self._run)
            self._run = np.concatenate([self._run, np.zeros(grow, dtype=np.int64)])
            self._onset = np.concatenate([self._onset, np.full(grow, np.nan)])

    def restore(self, incidents: list[Incident], ids: dict[SeriesKey, int]) -> None:
        for inc in incidents:
            sid = ids.get((inc.service, inc.region))
            if sid is not None and inc.state == "open":
                self.open[sid] = inc

    def levels(self, n: int, step: Step) -> npt.NDArray[np.int8]:
        """0 none, 1 possible, 2 outage evidence, per series, for this bucket."""
        p = self.params
        e = np.zeros(n, dtype=np.int8)
        e[(step.p <= p.p_possible) & (step.recent >= p.min_reporters_possible)] = 1
        e[(step.p <= p.p_outage) & (step.recent >= p.min_reporters_outage)] = 2
        return e

    def observe(
        self,
        t: float,
        now: float,
        step: Step,
        counts: npt.NDArray[np.float64],
        keys: list[SeriesKey],
        problems: Callable[[list[int]], dict[int, dict[str, int]]] | None = None,
        allowed: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[list[Incident], npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
        """One closed bucket [t, t + width), decided at stream time `now`.

        `problems(sids)` gives this bucket's problem counts for those series; it is
        called only when incidents are open (the breakdown is costly to build).
        Returns the incidents that changed, the learn mask for the model, and the
        per-series level of this bucket (what `--scores` shows).
        """
        n = len(step.p)
        self._ensure(n)
        p = self.params
        e = self.levels(n, step)
        if allowed is not None:
            e = np.where(allowed[:n], e, 0).astype(np.int8)
        self._run[:n] = np.where(e >= 1, self._run[:n] + 1, 0)
        onset_hit = step.p1 <= p.onset_p
        self._onset[:n] = np.where(
            onset_hit, np.where(np.isnan(self._onset[:n]), t, self._onset[:n]), np.nan
        )
        end = t + self.width
        active = (step.p1 <= p.active_p) | (step.p_short <= p.active_p)
        active |= (step.cusum >= p.active_cusum) & step.rising
        active |= step.p_mid <= p.alive_p
        changed: dict[int, Incident] = {}
        self.just_opened, self.just_resolved = [], []

        # Open new incidents.
        opening = (e == 2) | ((e == 1) & (self._run[:n] >= p.sustain_possible))
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
            self.open[sid] = inc
            self.just_opened.append(sid)
            self._link_related(inc, now)
            changed[sid] = inc

        # Update open incidents.
        by_problem = problems(list(self.open)) if problems is not None and self.open else {}
        for sid, inc in list(self.open.items()):
            if sid >= n:
                continue
            c = int(counts[sid]) if sid < len(counts) else 0
            inc.total_reports += c
            inc.max_score = max(inc.max_score, float(step.score[sid]))
            for prob, k in by_problem.get(sid, {}).items():
                inc.problems[prob] = inc.problems.get(prob, 0) + k
            if c > inc.peak_reports:
                inc.peak_at, inc.peak_reports = t, c
                inc.peak_expected = float(step.expected[sid])
                changed[sid] = inc
            if inc.region is None:
                self._add_regions(inc, sid, counts, keys)
            if e[sid] == 2 and inc.level != "outage":
                inc.level, inc.confirmed_at = "outage", now
                changed[sid] = inc
            if step.p1[sid] <= p.end_p:
                inc.last_active_end = end
            if active[sid]:
                inc.quiet = 0
            else:
                inc.quiet += 1
                if inc.quiet >= self.quiet_buckets:
                    inc.state, inc.ended_at, inc.resolved_at = "resolved", inc.last_active_end, now
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
        learn = (e[:n] == 0) & (step.cusum < p.hold_cusum)
        # Outages freeze their series (bounded); a `possible` keeps learning, clipped
        # by the model, so a normal the model had wrong cannot freeze into a daily loop.
        for sid, inc in self.open.items():
            if sid < n and inc.level == "outage":
                learn[sid] = now - inc.opened_at >= p.max_freeze_s
        return list(changed.values()), learn, e

    def open_early(
        self, sid: int, key: SeriesKey, bucket: float, now: float, count: float, expected: float
    ) -> Incident | None:
        """Open an outage from a partial bucket that already proves it (see app/early.py)."""
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
        )
        self.open[sid] = inc
        self._link_related(inc, now)
        return inc

    def _link_related(self, inc: Incident, now: float) -> None:
        window = self.params.related_window_s
        while self._recent and now - self._recent[0].opened_at > window:
            self._recent.popleft()
        for other in self._recent:
            if other.service != inc.service:
                inc.related.add(other.service)
                other.related.add(inc.service)
        self._recent.append(inc)

    def _add_regions(
        self, inc: Incident, sid: int, counts: npt.NDArray[np.float64], keys: list[SeriesKey]
    ) -> None:
        if self._n_keys != len(keys):
            self._regional = {}
            for i, (service, region) in enumerate(keys):
                if region is not None:
                    self._regional.setdefault(service, []).append(i)
            self._n_keys = len(keys)
        for rid in self._regional.get(inc.service, []):
            c = int(counts[rid]) if rid < len(counts) else 0
            region = keys[rid][1]
            if c and region is not None:
                inc.regions[region] = inc.regions.get(region, 0) + c
            regional = self.open.get(rid)
            if regional is not None and region is not None:
                inc.region_levels[region] = regional.level
