"""Small deterministic traffic for end-to-end tests (real reports, no mocks)."""

from __future__ import annotations

from typing import Any

import numpy as np

RATES = {"tinyapp": 0.03, "busy": 3.0}  # reports per minute


def background(
    start: float, minutes: int, seed: int = 7, rates: dict[str, float] = RATES
) -> list[dict[str, Any]]:
    """Quiet traffic of `rates` (reports per minute by service), more by day than by night."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for m in range(minutes):
        hour = int((start + m * 60) // 3600) % 24
        daily = 0.4 + 1.2 * (8 <= hour < 23)
        for service, rate in rates.items():
            for _ in range(rng.poisson(rate * daily)):
                rows.append(
                    {
                        "ts": round(start + m * 60 + float(rng.uniform(0, 60)), 3),
                        "service": service,
                        "region": str(rng.choice(["IT", "FR", "US"])),
                        "problem": str(rng.choice(["login", "app"])),
                        "reporter": f"bg-{len(rows)}",
                    }
                )
    rows.sort(key=lambda r: r["ts"])
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    cols = ["ts", "service", "region", "problem", "reporter"]
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join("" if r.get(c) is None else str(r[c]) for c in cols))
    return "\n".join(lines) + "\n"


def decisions(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a feed decided, in opening order: which incidents, when, how big."""
    keys = ("id", "service", "region", "level", "state", "started_at", "opened_at",
            "confirmed_at", "ended_at", "total_reports")  # fmt: skip
    ordered = sorted(items, key=lambda o: (o["opened_at"], o["id"]))
    return [tuple(o[k] for k in keys) for o in ordered]
