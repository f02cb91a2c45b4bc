"""`outagewatch demo`: the server with simulated traffic, so a newcomer sees it work.

A day of ordinary history for a few dozen services is loaded first (the detector
learns what normal is), then live background traffic flows, and a minute in a
cloud provider fails and its dependants follow: pages, widget, feed, stream and
webhooks come alive without writing a line.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import polars as pl

from outagewatch.app.fastpath import ASGIApp, Message, Receive, Scope, Send
from outagewatch.app.imports import import_batch
from outagewatch.app.intake import Outcome

if TYPE_CHECKING:
    from outagewatch.app.main import OutageWatch

log = logging.getLogger("outagewatch.demo")
T = TypeVar("T")
AGENT = "outagewatch-demo"

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
    """Simulated people, reporting through the server's own intake: history as a trusted
    bulk import (app/imports.py), live reports as POST /v1/reports takes them
    (app/intake.py), so every one is logged before it counts, as a real report is."""

    def __init__(self, app: OutageWatch, seed: int = 7) -> None:
        self.rt = app.runtime
        self.intake = app.intake
        self.traffic = Traffic(np.random.default_rng(seed))
        self.rng = np.random.default_rng(seed + 1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The log is awaited as a request awaits it: on an event loop of the demo's own.
        self._io = asyncio.new_event_loop()
        threading.Thread(target=self._io.run_forever, name="demo-io", daemon=True).start()
        self.started_at = self.last = 0.0
        self.refused: dict[int, int] = {}  # status -> reports the intake refused

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._io).result()

    def preload(self, hours: int = 26) -> int:
        """Ordinary history up to now, brought in as a trusted bulk import is."""
        now = self.rt.clock.now()
        self.rt.catalog.add_trusted(list(SERVICES), now, "demo")  # report buttons work too
        start = now - hours * 3600
        total = 0
        for h in range(hours):
            df = self.traffic.rows(start + h * 3600, 3600)
            answer, _ = self._wait(import_batch(self.rt, df))
            total += answer["reports"]
        self.rt.tick()
        return total

    def step(self) -> int:
        """The reports since the last step, each posted through the intake with the
        server's time, as a crowd of distinct people on distinct networks; returns how
        many were accepted."""
        now = self.rt.clock.now()
        elapsed = now - self.started_at
        surge = {
            name: mult for name, (at, mult) in CASCADE.items() if at <= elapsed < at + OUTAGE_S
        }
        rows = self.traffic.rows(self.last, max(1, int(now - self.last)), surge)
        self.last = now
        people = self.rng.integers(0, 1 << 32, len(rows)).tolist()
        bodies = (
            rows.select(pl.struct("service", "region", "problem").struct.json_encode())
            .to_series()
            .to_list()
        )
        outcomes = self._wait(self._post(bodies, people))
        accepted = 0
        for out in outcomes:
            if out.status == 202:
                accepted += 1
            else:
                self.refused[out.status] = self.refused.get(out.status, 0) + 1
        return accepted

    async def _post(self, bodies: list[str], people: list[int]) -> list[Outcome]:
        # Documentation addresses (2001:db8::/32) over 65,536 networks (/48): a crowd on
        # many networks, as the rate limits and the per-network cap expect of people.
        handled = [
            self.intake.handle(body.encode(), b"application/json", _address(who), AGENT)
            for body, who in zip(bodies, people, strict=True)
        ]
        return list(await asyncio.gather(*(self.intake.durable(out) for out in handled)))

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.step()
            except Exception:  # the server goes on; the demo says why it stopped
                log.exception("demo traffic stopped")
                return

    def start(self) -> None:
        self.started_at = self.last = self.rt.clock.now()
        self._thread = threading.Thread(target=self._loop, name="demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._io.call_soon_threadsafe(self._io.stop)

    def around(self, app: ASGIApp) -> ASGIApp:
        """`app`, with the demo stopped as the server begins to shut down: before the log
        closes, so no simulated report waits on a log that no longer writes."""

        async def served(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "lifespan":
                await app(scope, receive, send)
                return

            async def stop_first() -> Message:
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    await asyncio.to_thread(self.stop)
                return message

            await app(scope, stop_first, send)

        return served


def _address(who: int) -> str:
    return f"2001:db8:{who >> 16:x}:{who & 0xFFFF:x}::1"
