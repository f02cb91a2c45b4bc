"""`outagewatch demo`: the server with simulated traffic, so a newcomer sees it work.

A day of ordinary history for a few dozen services is loaded first (the detector
learns what normal is), then live background traffic flows, and a minute in a
cloud provider fails and its dependants follow: pages, widget, feed, stream and
webhooks come alive without writing a line.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import polars as pl

from outagewatch.app.runtime import Runtime

log = logging.getLogger("outagewatch.demo")

# Reports per minute at the daily peak: a spread from big consumer apps to tiny tools.
SERVICES: dict[str, float] = {
    "aws": 6.0, "cloudflare": 4.0, "netflix": 5.0, "slack": 3.0, "discord": 4.0,
    "github": 2.0, "gmail": 5.0, "outlook": 4.0, "zoom": 3.0, "spotify": 3.0,
    "steam": 2.5, "playstation": 2.0, "xbox": 1.5, "instagram": 6.0, "whatsapp": 6.0,
    "facebook": 5.0, "tiktok": 4.0, "youtube": 6.0, "reddit": 2.0, "twitch": 2.0,
    "paypal": 2.0, "stripe": 0.5, "coinbase": 1.0, "amazon": 4.0, "dropbox": 0.8,
    "notion": 0.6, "figma": 0.4, "teams": 2.0, "vodafone": 2.0, "verizon": 2.5,
    "comcast": 3.0, "orange": 1.5, "telekom": 1.5, "tinytool": 0.01,
}  # fmt: skip
REGIONS = ["US", "GB", "DE", "FR", "IT", "ES", "BR", "IN", "JP"]
PROBLEMS = ["login", "app", "website", "payments", "connection", "other"]
CASCADE = {"aws": (60, 40.0), "netflix": (95, 12.0), "coinbase": (110, 15.0),
           "slack": (125, 10.0), "amazon": (140, 8.0)}  # fmt: skip
OUTAGE_S = 12 * 60


@dataclass
class Traffic:
    """Poisson reports per service per second, with a daily rhythm."""

    rng: np.random.Generator

    def rates(self, t: float) -> np.ndarray:
        hour = (t / 3600) % 24
        daily = 0.35 + 0.65 * np.clip(np.sin((hour - 6) / 24 * 2 * np.pi) + 0.4, 0, 1.4)
        return np.asarray(np.array(list(SERVICES.values())) * daily / 60.0)

    def rows(
        self, start: float, seconds: int, surge: dict[str, float] | None = None
    ) -> pl.DataFrame:
        """Reports over [start, start + seconds), drawn for every second at once."""
        names = list(SERVICES)
        t = start + np.arange(seconds, dtype=np.float64)
        lam = np.stack([self.rates(x) for x in t[:: max(1, seconds // 48)]])
        lam = np.repeat(lam, max(1, seconds // 48), axis=0)[:seconds]
        if len(lam) < seconds:
            lam = np.vstack([lam, np.repeat(lam[-1:], seconds - len(lam), axis=0)])
        for name, mult in (surge or {}).items():
            lam[:, names.index(name)] *= mult
        k = self.rng.poisson(lam)
        sec, svc = np.nonzero(k)
        reps = k[sec, svc]
        sec, svc = np.repeat(sec, reps), np.repeat(svc, reps)
        n = len(sec)
        return pl.DataFrame(
            {
                "ts": t[sec] + self.rng.uniform(0, 1, n),
                "service": np.array(names)[svc],
                "region": np.array(REGIONS)[self.rng.integers(0, len(REGIONS), n)],
                "problem": np.array(PROBLEMS)[self.rng.integers(0, len(PROBLEMS), n)],
            },
            schema={"ts": pl.Float64, "service": pl.String, "region": pl.String,
                    "problem": pl.String},
        ).sort("ts")  # fmt: skip


class Demo:
    def __init__(self, runtime: Runtime, seed: int = 7) -> None:
        self.rt = runtime
        self.traffic = Traffic(np.random.default_rng(seed))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at = 0.0

    def preload(self, hours: int = 26) -> int:
        """Ordinary history up to now, fed as a trusted bulk import would be."""
        now = self.rt.clock.now()
        self.rt.catalog.add_trusted(list(SERVICES), now, "demo")  # report buttons work too
        start = now - hours * 3600
        total = 0
        for h in range(hours):
            df = self.traffic.rows(start + h * 3600, 3600)
            batch = df.with_columns(
                pl.lit(None, dtype=pl.String).alias("reporter"), pl.lit(1).alias("count")
            ).select("ts", "service", "region", "problem", "reporter", "count")
            self.rt.pipeline.ingest(batch)
            total += len(batch)
        self.rt.tick()
        return total

    def _loop(self) -> None:
        last = self.rt.clock.now()
        while not self._stop.wait(1.0):
            now = self.rt.clock.now()
            elapsed = now - self.started_at
            surge = {
                name: mult for name, (at, mult) in CASCADE.items() if at <= elapsed < at + OUTAGE_S
            }
            rows = self.traffic.rows(last, max(1, int(now - last)), surge)
            for i, (_, service, region, problem) in enumerate(rows.iter_rows()):
                self.rt.pipeline.submit(now, service, region, problem, f"demo-{now}-{i}")
            last = now

    def start(self) -> None:
        self.started_at = self.rt.clock.now()
        self._thread = threading.Thread(target=self._loop, name="demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
