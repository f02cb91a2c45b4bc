"""Labelled synthetic report streams for the accuracy benchmark.

Deterministic for a seed and vectorised: counts are drawn per minute per series
(gamma-Poisson) and expanded to rows with np.repeat; the CSV is streamed out one day
at a time with polars. The first WARMUP_DAYS days carry no labelled incident.

    python -m benchmarks.accuracy.scenarios --out DIR [--weeks 3] [--seed 1] [--small]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

WARMUP_DAYS = 7
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
REGIONS = ["US", "GB", "DE", "IT", "FR"]
PROBLEMS = ["login", "app", "website", "payments", "connection", "other"]
NO_REGION_SHARE = 0.1
DISPERSION = 8.0  # gamma shape of the per-minute rate noise (smaller = more overdispersed)


@dataclass
class Service:
    name: str
    kind: str  # consumer | business | provider
    per_day: float  # mean reports per day at the start
    shares: np.ndarray = field(repr=False)  # per region, then the no-region slot
    growth: float = 0.05  # relative growth over the whole span


@dataclass
class Event:
    """A multiplicative (or additive) change of one service's rate."""

    service: int
    regions: list[int] | None  # None = every region
    start: int  # minute index
    end: int  # minute index, exclusive
    mult: float = 1.0
    extra_per_min: float = 0.0  # additive reports per minute (tiny-service bursts)
    at_least: int = 0  # reports the label promises in [start, end) (tiny-service bursts)
    work_hours_only: bool = False


def _profiles() -> dict[str, np.ndarray]:
    """Hour-of-week shape (168 values, mean 1) per service kind; Monday 00:00 first."""
    h = np.arange(168)
    hod, dow = h % 24, h // 24
    consumer = 0.25 + 0.75 * np.clip(np.sin((hod - 6) / 18 * np.pi), 0, None)
    consumer = consumer + 0.9 * np.exp(-0.5 * ((hod - 20.5) / 1.8) ** 2)  # evening peak
    consumer = consumer * np.where(dow >= 5, 1.15, 1.0)
    work = (dow < 5) & (hod >= 9) & (hod < 17)
    business = np.where(work, 2.2, np.where((dow < 5) & (hod >= 7) & (hod < 20), 0.7, 0.12))
    business = business * np.where((dow == 0) & (hod >= 8) & (hod < 11), 1.35, 1.0)  # Monday
    provider = 0.6 + 0.4 * consumer + 0.3 * np.where(work, 1.0, 0.0)
    return {
        k: v / v.mean()
        for k, v in {"consumer": consumer, "business": business, "provider": provider}.items()
    }


def _services(rng: np.random.Generator, small: bool) -> list[Service]:
    if small:
        spec = [
            ("streamflix", "consumer", 3000.0),
            ("chatapp", "consumer", 600.0),
            ("officesuite", "business", 400.0),
            ("cloudco", "provider", 300.0),
            ("tinybank", "consumer", 4.0),
            ("smallgame", "consumer", 40.0),
        ]
    else:
        consumer = [
            "streamflix",
            "chatapp",
            "photogram",
            "vidtube",
            "shopzone",
            "mailbox",
            "musicly",
            "gamenet",
            "bankone",
            "banktwo",
            "telco-a",
            "telco-b",
            "rideshare",
            "fooddash",
            "socialx",
            "newsfeed",
            "smallgame",
            "tinybank",
            "localisp",
            "podcastr",
            "fitapp",
            "weatherly",
            "tickets",
            "dating",
        ]
        business = [
            "officesuite",
            "teamchat",
            "videomeet",
            "crmcloud",
            "devhub",
            "payroll",
            "docsign",
            "ticketdesk",
            "vpnpro",
            "erpone",
        ]
        provider = ["cloudco", "cdnfast", "dnsone", "authhub", "paygate", "smsgw"]
        names = [(n, "consumer") for n in consumer] + [(n, "business") for n in business]
        names += [(n, "provider") for n in provider]
        u = np.linspace(1.0, 0.0, len(names))
        sizes = 4.0 * (10000.0 / 4.0) ** (u**2.7)  # reports per day: few big, many small
        rng.shuffle(sizes[1:-1])
        # The biggest is streamflix (first), the smallest tinybank (4/day).
        t = next(i for i, (n, _) in enumerate(names) if n == "tinybank")
        sizes[t], sizes[-1] = sizes[-1], sizes[t]
        spec = [(n, k, float(s)) for (n, k), s in zip(names, sizes, strict=True)]
    out = []
    for name, kind, per_day in spec:
        regional = rng.dirichlet(np.full(len(REGIONS), 2.0)) * (1 - NO_REGION_SHARE)
        shares = np.append(regional, NO_REGION_SHARE)
        out.append(Service(name, kind, per_day, shares, growth=float(rng.uniform(0.0, 0.08))))
    return out


def _iso(minute: int | float) -> str:
    return (START + timedelta(minutes=float(minute))).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def scenario_days(weeks: float) -> int:
    """The days `weeks` give: enough for something to happen after the warm-up."""
    days = round(weeks * 7)
    if not days > WARMUP_DAYS:
        raise ValueError(
            f"weeks={weeks:g} leaves no day after the {WARMUP_DAYS}-day warm-up: "
            "give more than 1 week"
        )
    return days


def weeks_arg(text: str) -> float:
    """`--weeks`, checked as `scenario_days` does (argparse shows the reason)."""
    try:
        scenario_days(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return float(text)


class Scenario:
    def __init__(self, weeks: float = 3, seed: int = 1, small: bool = False) -> None:
        self.seed = seed
        self.small = small
        self.days = 9 if small else scenario_days(weeks)
        self.minutes = self.days * 1440
        rng = np.random.default_rng(seed)
        self.rng_plan = rng
        self.services = _services(rng, small)
        self.index = {s.name: i for i, s in enumerate(self.services)}
        self.providers = self._declared()
        self.profiles = _profiles()
        self.events: list[Event] = []
        self.labels: list[dict[str, Any]] = []
        self.floods: list[tuple[int, int, int, int]] = []  # service, start, end, reports
        self.gaps: list[tuple[int, int]] = []  # [start, end) minutes with no reports at all
        self.holiday: int | None = None  # day index
        self.growth_trap: int | None = None
        self._plan(rng)

    # ---- planning -----------------------------------------------------------------
    def _declared(self) -> dict[int, set[int]]:
        """Who runs on whom, as a catalog would declare it, before the cascades: each
        consumer and business service names one provider (a third of them two; a few
        none). From a generator of its own, so every other draw stays as it was."""
        rng = np.random.default_rng([self.seed, 4])
        providers = [i for i, s in enumerate(self.services) if s.kind == "provider"]
        out: dict[int, set[int]] = {}
        for i, s in enumerate(self.services):
            if s.kind == "provider" or rng.random() < 0.1:
                continue
            k = min(2 if rng.random() < 1 / 3 else 1, len(providers))
            out[i] = {int(p) for p in rng.choice(providers, k, replace=False)}
        return out

    def _declare_cascade(self, p: int, dependants: list[int], cascade: int) -> list[bool]:
        """A cascade's dependants run on its provider by the catalog, as an operator
        would know them, except (in half the cascades) one that does not, so the generic
        common-cause path is measured too. Returns, per dependant, whether it is
        declared. Its own generator: the reports are those of the scenario without a
        catalog."""
        rng = np.random.default_rng([self.seed, 5, cascade])
        stranger = int(rng.integers(len(dependants))) if rng.random() < 0.5 else -1
        out = []
        for j, d in enumerate(dependants):
            if j == stranger and p not in self.providers.get(d, set()):
                out.append(False)
            elif j == stranger:  # the background draw declared it: this cascade says not
                self.providers[d].discard(p)
                out.append(False)
            else:
                self.providers.setdefault(d, set()).add(p)
                out.append(True)
        return out

    def catalog(self) -> str:
        """The scenario's catalog in the bundled file's format (app/data/catalog.txt):
        one service a line, `on:` naming the providers it runs on."""
        lines = ["# The scenario's services and who runs on whom (benchmarks/accuracy)."]
        for i, s in enumerate(self.services):
            on = ",".join(self.services[p].name for p in sorted(self.providers.get(i, ())))
            lines.append(f"{s.name}  on:{on}" if on else s.name)
        return "\n".join(lines) + "\n"

    def base_per_min(self, s: int) -> float:
        return self.services[s].per_day / 1440.0

    def _busy(self, s: int, start: int, end: int) -> bool:
        for lab in self.labels:
            if lab["service"] in (self.services[s].name, "*"):
                a, b = lab["_span"]
                if start < b + 360 and end > a - 360:
                    return True
        return False

    def _label(
        self,
        kind: str,
        shape: str,
        s: int | None,
        region: str | None,
        start: int,
        end: int,
        level: str | None,
        mult: float | None,
    ) -> None:
        self.labels.append(
            {
                "kind": kind,
                "shape": shape,
                "service": self.services[s].name if s is not None else "*",
                "region": region,
                "start": _iso(start),
                "end": _iso(end),
                "expected_level": level,
                "multiplier": None if mult is None else round(float(mult), 2),
                "_span": (start, end),
            }
        )

    def _place(
        self,
        rng: np.random.Generator,
        candidates: list[int],
        dur: int,
        hours: tuple[int, int] | None = None,
    ) -> tuple[int, int] | None:
        if not candidates:  # no service of this seed fits the shape: it is left out
            return None
        lo, hi = WARMUP_DAYS * 1440 + 60, self.minutes - dur - 120
        for _ in range(200):
            s = int(rng.choice(candidates))
            if hours is not None:
                day = int(rng.integers(WARMUP_DAYS, self.days))
                start = day * 1440 + int(rng.integers(hours[0] * 60, hours[1] * 60))
            else:
                start = int(rng.integers(lo, hi))
            if start < lo or start > hi:
                continue
            if any(start < b + 120 and start + dur > a - 120 for a, b in self.gaps):
                continue
            if self.holiday is not None and start // 1440 in (self.holiday, self.holiday + 1):
                continue
            if not self._busy(s, start, start + dur):
                return s, start
        return None

    def _plan(self, rng: np.random.Generator) -> None:
        n = len(self.services)
        inc_days = self.days - WARMUP_DAYS
        scale = inc_days / 14
        by_kind = {
            k: [i for i, s in enumerate(self.services) if s.kind == k]
            for k in ("consumer", "business", "provider")
        }
        rate = np.array([self.base_per_min(i) for i in range(n)])

        # Traps that shape the whole system first.
        if self.days >= 12:
            day = WARMUP_DAYS + 2  # a Wednesday
            self.holiday = day
            self._label(
                "trap", "holiday", None, None, day * 1440, (day + 1) * 1440 + 720, None, None
            )
            # Ingest gaps: nothing at all arrives for 30 minutes (our outage, not the
            # users' quiet), once on a Friday afternoon and once at an evening peak.
            for g0 in (
                (WARMUP_DAYS + 4) * 1440 + 14 * 60,
                (WARMUP_DAYS + 8) * 1440 + 19 * 60 + 30,
            ):
                if g0 + 90 <= self.minutes:
                    self.gaps.append((g0, g0 + 30))
                    self._label("trap", "ingest_gap", None, None, g0, g0 + 90, None, None)
            for d in range(WARMUP_DAYS, self.days, 7):
                for s in by_kind["business"]:
                    self._label(
                        "trap",
                        "monday_peak",
                        s,
                        None,
                        d * 1440 + 7 * 60,
                        d * 1440 + 12 * 60,
                        None,
                        None,
                    )
            cands = [i for i in by_kind["consumer"] if 0.3 < rate[i] < 5]
            if cands:  # else no consumer of this seed is of the size the trap needs
                g = int(rng.choice(cands))
                self.services[g].growth = 0.0
                self.growth_trap = g
                self._label(
                    "trap", "gradual_growth", g, None, WARMUP_DAYS * 1440, self.minutes, None,
                    1.5,
                )  # fmt: skip

        def count(c: float) -> int:
            return max(1, round(c * scale))

        # Slow burn (the fireTMS story): a provider failure leaves a sparse business tool
        # broken for five working days; its users report at ~30x the normal rate during
        # office hours (09-17), and nobody reports at night. One label, Monday 09:00 to
        # Friday 17:00: it should be confirmed as an outage, not seen as fragments.
        burn_cands = [i for i in by_kind["business"] if 5 <= self.services[i].per_day <= 20]
        mondays = [d for d in range(WARMUP_DAYS, self.days - 4) if d % 7 == 0]
        if burn_cands and mondays and not self.small:
            s = int(rng.choice(burn_cands))
            d0 = mondays[-1]
            start = d0 * 1440
            self.events.append(Event(s, None, start, start + 5 * 1440, 30.0, work_hours_only=True))
            self._label(
                "incident",
                "slow_burn",
                s,
                None,
                start + 9 * 60,
                start + 4 * 1440 + 17 * 60,
                "outage",
                30.0,
            )

        # Flash global outages.
        flash_cands = [i for i in range(n) if rate[i] >= 0.3]
        for _ in range(count(8)):
            dur = int(rng.integers(10, 91))
            got = self._place(rng, flash_cands, dur, hours=(7, 22))
            if got is None:
                continue
            s, start = got
            mult = float(np.exp(rng.uniform(np.log(10), np.log(1000))))
            mult = min(mult, max(10.0, 150.0 / rate[s]))
            mult = max(mult, 1 + 5 / rate[s])
            self.events.append(Event(s, None, start, start + dur, mult))
            self._label("incident", "flash", s, None, start, start + dur, "outage", mult)

        # Regional outages: two countries at 20x.
        reg_cands = [i for i in range(n) if rate[i] >= 1.0]
        for _ in range(count(4)):
            dur = int(rng.integers(30, 120))
            got = self._place(rng, reg_cands, dur, hours=(8, 22))
            if got is None:
                continue
            s, start = got
            order = np.argsort(-self.services[s].shares[: len(REGIONS)])
            regs = sorted(int(r) for r in rng.choice(order[:3], 2, replace=False))
            self.events.append(Event(s, regs, start, start + dur, 20.0))
            for r in regs:
                self._label(
                    "incident", "regional", s, REGIONS[r], start, start + dur, "outage", 20.0
                )

        # Tiny services: 12-30 reports within a few minutes.
        tiny = [i for i in range(n) if rate[i] < 0.01]  # under ~15 reports/day
        for k in range(count(3)):
            dur = int(rng.integers(3, 8))
            # The first burst always hits the 4/day service.
            cands = [self.index["tinybank"]] if k == 0 else tiny
            got = self._place(rng, cands, dur, hours=(8, 22))
            if got is None:
                continue
            s, start = got
            total = int(rng.integers(12, 31))
            extra = total / dur
            event = Event(s, None, start, start + dur, extra_per_min=extra, at_least=total)
            self.events.append(event)
            self._label(
                "incident", "tiny", s, None, start, start + dur, "outage", 1 + extra / rate[s]
            )

        # Slow multi-day degradations during working hours.
        slow_cands = [i for i in by_kind["business"] if rate[i] >= 0.5]
        if inc_days >= 5:
            for _ in range(count(2)):
                days = int(rng.integers(2, 4))
                got = self._place(rng, slow_cands, days * 1440, hours=(0, 1))
                if got is None:
                    continue
                s, start = got
                start = start - start % 1440
                mult = float(rng.uniform(2, 3))
                self.events.append(
                    Event(s, None, start, start + days * 1440, mult, work_hours_only=True)
                )
                self._label(
                    "incident",
                    "slow_degradation",
                    s,
                    None,
                    start + 9 * 60,
                    start + (days - 1) * 1440 + 17 * 60,
                    "possible",
                    mult,
                )

        # Cascades: a provider at 50x, then 3-4 dependants 1-5 minutes later. Dependants
        # rise less than the provider (3-10x, at least 2 extra reports a minute at that
        # hour): alone such a rise takes many minutes to prove; beside a provider in
        # outage it is likely real, the more so when the catalog says it runs on it
        # (label field `declared`).
        for cascade in range(count(3)):
            dur = int(rng.integers(20, 60))
            got = self._place(rng, by_kind["provider"], dur + 10, hours=(9, 21))
            if got is None:
                continue
            p, start = got
            mult = max(50.0, 1 + 10 / rate[p])
            self.events.append(Event(p, None, start, start + dur, mult))
            self._label("incident", "cascade_provider", p, None, start, start + dur, "outage", mult)
            deps = [
                i
                for i in flash_cands
                if i != p
                and self.services[i].kind != "provider"
                and not self._busy(i, start, start + dur + 10)
            ]
            k = int(rng.integers(3, 5))
            picked = []
            for d in rng.permutation(deps)[:k]:
                d = int(d)
                lag = int(rng.integers(1, 6))
                now = rate[d] * self.profiles[self.services[d].kind][((start + lag) // 60) % 168]
                dm = float(np.exp(rng.uniform(np.log(3), np.log(10))))
                dm = max(dm, 1 + 2 / now)  # enough reports to see at this hour
                self.events.append(Event(d, None, start + lag, start + dur, dm))
                self._label(
                    "incident", "cascade_dependant", d, None, start + lag, start + dur, "outage", dm
                )
                picked.append(d)
            if not picked:  # every candidate was busy: a provider's outage alone
                continue
            declared = self._declare_cascade(p, picked, cascade)
            for lab, flag in zip(self.labels[-len(picked) :], declared, strict=True):
                lab["declared"] = flag

        # Outages during quiet nights.
        night_cands = [i for i in by_kind["consumer"] if rate[i] >= 2.0]
        for _ in range(count(3)):
            dur = int(rng.integers(30, 61))
            got = self._place(rng, night_cands, dur, hours=(1, 4))
            if got is None:
                continue
            s, start = got
            hw = (start // 60) % 168
            night_rate = rate[s] * self.profiles[self.services[s].kind][hw]
            mult = max(30.0, 1 + 8 / night_rate)
            self.events.append(Event(s, None, start, start + dur, mult))
            self._label("incident", "night", s, None, start, start + dur, "outage", mult)

        # Floods from three reporter tokens.
        for _ in range(count(2)):
            dur = int(rng.integers(20, 60))
            got = self._place(rng, flash_cands, dur, hours=(8, 22))
            if got is None:
                continue
            s, start = got
            reports = int(rng.integers(1500, 5000))
            self.floods.append((s, start, start + dur, reports))
            self._label("trap", "flood", s, None, start, start + dur, None, None)

    # ---- generation ---------------------------------------------------------------
    def rates(self, day: int) -> np.ndarray:
        """Expected reports per minute, shape (services, regions + 1, 1440)."""
        m = np.arange(day * 1440, (day + 1) * 1440)
        how = (m // 60) % 168
        if self.holiday == day:
            how = 6 * 24 + (m // 60) % 24  # shaped like a Sunday
        frac = m / self.minutes
        out = np.empty((len(self.services), len(REGIONS) + 1, 1440))
        for i, s in enumerate(self.services):
            level = s.per_day / 1440 * (1 + s.growth * frac) * self.profiles[s.kind][how]
            if i == self.growth_trap:
                w = np.clip((m - WARMUP_DAYS * 1440) / (14 * 1440), 0, 1)
                level = level * (1 + 0.5 * w)
            out[i] = s.shares[:, None] * level[None, :]
        for e in self.events:
            lo, hi = max(e.start, m[0]), min(e.end, m[-1] + 1)
            if lo >= hi:
                continue
            sl = slice(lo - m[0], hi - m[0])
            regs = slice(None) if e.regions is None else e.regions
            if e.work_hours_only:
                mask = ((m[sl] % 1440) >= 9 * 60) & ((m[sl] % 1440) < 17 * 60)
                mult = np.where(mask, e.mult, 1.0)
            else:
                mult = e.mult
            if e.extra_per_min:
                out[e.service, :, sl] += self.services[e.service].shares[:, None] * (
                    e.extra_per_min
                )
            else:
                out[e.service, regs, sl] *= mult
        return out

    def _kept_promises(self, day: int, counts: np.ndarray) -> pl.DataFrame | None:
        """Reports that top a burst up to what its label promises ("12-30 reports within
        a few minutes"): a Poisson draw can fall short (8 of a promised 12 once), and a
        label the data does not carry measures the generator, not the detector. They
        come from a generator of their own, so every other draw stays as it was."""
        frames = []
        for k, e in enumerate(self.events):
            lo, hi = e.start - day * 1440, e.end - day * 1440
            if not e.at_least or hi <= 0 or lo >= 1440:
                continue
            assert lo >= 0 and hi <= 1440, "a promised burst never crosses midnight"
            short = e.at_least - int(counts[e.service, :, lo:hi].sum())
            if short <= 0:
                continue
            rng = np.random.default_rng([self.seed, 3, k])
            shares = self.services[e.service].shares
            frames.append(
                pl.DataFrame(
                    {
                        "ms": (day * 1440 + rng.integers(lo, hi, short)) * 60_000
                        + rng.integers(0, 60_000, short),
                        "svc": np.full(short, e.service, np.int32),
                        "reg": rng.choice(len(shares), short, p=shares / shares.sum()).astype(
                            np.int32
                        ),
                        "reporter": [f"promise-{k}-{j}" for j in range(short)],
                        "prob": rng.integers(0, len(PROBLEMS), short).astype(np.int32),
                    }
                )
            )
        return pl.concat(frames) if frames else None

    def day_frame(self, day: int, rng: np.random.Generator, token0: int) -> pl.DataFrame:
        lam = self.rates(day)
        noise = rng.gamma(DISPERSION, 1 / DISPERSION, size=lam.shape)
        counts = rng.poisson(lam * noise)
        for a, b in self.gaps:
            if a // 1440 <= day <= (b - 1) // 1440:
                lo, hi = max(a - day * 1440, 0), min(b - day * 1440, 1440)
                counts[:, :, lo:hi] = 0
        flat = counts.reshape(-1)
        nz = np.flatnonzero(flat)
        reps = flat[nz]
        svc, reg, minute = np.unravel_index(nz, counts.shape)
        svc, reg, minute = (np.repeat(a, reps) for a in (svc, reg, minute))
        total = len(svc)
        ms = (day * 1440 + minute) * 60_000 + rng.integers(0, 60_000, total)
        reporter = np.char.add("u", np.arange(token0, token0 + total).astype(str))
        frames = [
            pl.DataFrame(
                {
                    "ms": ms,
                    "svc": svc.astype(np.int32),
                    "reg": reg.astype(np.int32),
                    "reporter": reporter,
                }
            )
        ]
        for s, a, b, n in self.floods:
            lo, hi = max(a, day * 1440), min(b, (day + 1) * 1440)
            if lo >= hi:
                continue
            k = int(n * (hi - lo) / (b - a))
            fms = rng.integers(lo * 60_000, hi * 60_000, k)
            tok = np.array([f"flood-{s}-{j}" for j in range(3)])[rng.integers(0, 3, k)]
            frames.append(
                pl.DataFrame(
                    {
                        "ms": fms,
                        "svc": np.full(k, s, np.int32),
                        "reg": np.full(k, 0, np.int32),
                        "reporter": tok,
                    }
                )
            )
        df = pl.concat(frames)
        problem = rng.choice(len(PROBLEMS), len(df), p=[0.3, 0.25, 0.15, 0.1, 0.15, 0.05])
        df = df.with_columns(pl.Series("prob", problem.astype(np.int32)))
        promised = self._kept_promises(day, counts)
        if promised is not None:
            df = pl.concat([df, promised])
        names = pl.Series([s.name for s in self.services])
        regions = pl.Series([*REGIONS, ""])
        base = int(START.timestamp() * 1000)
        return df.sort("ms", maintain_order=True).select(
            pl.from_epoch(pl.col("ms") + base, time_unit="ms")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .alias("ts"),
            pl.lit(names).gather(pl.col("svc")).alias("service"),
            pl.lit(regions).gather(pl.col("reg")).alias("region"),
            pl.lit(pl.Series(PROBLEMS)).gather(pl.col("prob")).alias("problem"),
            "reporter",
        )

    def write(self, out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([self.seed, 2])
        rows = 0
        with (out / "reports.csv").open("wb") as fh:
            for day in range(self.days):
                df = self.day_frame(day, rng, rows)
                df.write_csv(fh, include_header=day == 0)
                rows += len(df)
        labels = [{k: v for k, v in lab.items() if not k.startswith("_")} for lab in self.labels]
        (out / "labels.json").write_text(json.dumps(labels, indent=1))
        (out / "catalog.txt").write_text(self.catalog())
        meta = {
            "seed": self.seed,
            "days": self.days,
            "warmup_days": WARMUP_DAYS,
            "start": _iso(0),
            "end": _iso(self.minutes),
            "rows": rows,
            "services": [s.name for s in self.services],
            "small": self.small,
            "catalog": "catalog.txt",
        }
        (out / "meta.json").write_text(json.dumps(meta, indent=1))
        return meta


def generate(out: Path, weeks: float = 3, seed: int = 1, small: bool = False) -> dict[str, Any]:
    return Scenario(weeks=weeks, seed=seed, small=small).write(Path(out))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--weeks", type=weeks_arg, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--small", action="store_true")
    a = ap.parse_args(argv)
    meta = generate(a.out, a.weeks, a.seed, a.small)
    print(f"wrote {meta['rows']} reports over {meta['days']} days to {a.out}")


if __name__ == "__main__":
    main()
