"""The 24-hour chart as inline SVG: reports per bucket against the expected band.

Server-rendered so the page reads without JavaScript; presentation attributes and
classes only (the CSP forbids inline styles). Buckets are binned to at most
MAX_POINTS columns: the busiest bucket of a bin is drawn, so a spike survives.
The y axis is square-root: an outage is 100x normal, and on a linear axis the
normal band it is judged against would be a flat line at zero. The x axis reads UTC,
labelled; app/static/times.js rewrites its times (`data-utc`) and the label
(`data-zone`) in the reader's zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt

from outagewatch.app.i18n import ENGLISH, Text

W, H, PAD_L, PAD_B, PAD_T = 720, 220, 34, 22, 10
MAX_POINTS = 288


LEVELS = ("", "possible", "outage")


@dataclass(frozen=True)
class _Binned:
    """The series in at most `points` columns: a column's first time, its busiest
    count, its mean expected count, its highest band and its worst level."""

    ts: list[str]
    count: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    level: list[str]


def _bins(series: list[dict[str, Any]], points: int = MAX_POINTS) -> _Binned:
    n = len(series)
    step = max(1, -(-n // points))
    cols = -(-n // step)
    pad = cols * step - n

    def grid(name: str, fill: float) -> npt.NDArray[np.float64]:
        values = np.fromiter((p[name] for p in series), np.float64, n)
        return np.concatenate([values, np.full(pad, fill)]).reshape(cols, step)

    expected = grid("expected", 0.0)
    # Added column by column, as a running sum adds a bin's values one at a time (a
    # missing value in the last bin adds 0.0, which changes no sum of counts >= 0).
    total = expected[:, 0].copy()
    for j in range(1, step):
        total += expected[:, j]
    sizes = np.full(cols, float(step))
    if cols:
        sizes[-1] = step - pad
    ranks = np.fromiter((LEVELS.index(p["level"]) for p in series), np.int64, n)
    worst = np.concatenate([ranks, np.zeros(pad, np.int64)]).reshape(cols, step).max(axis=1)
    return _Binned(
        ts=[series[i]["ts"] for i in range(0, n, step)],
        count=grid("count", -math.inf).max(axis=1),
        expected=total / sizes,
        upper=grid("upper", -math.inf).max(axis=1),
        level=[LEVELS[r] for r in worst.tolist()],
    )


def _nice(top: float) -> float:
    """The smallest 1, 2, 3, 4, 5 or 8 x 10^k at or above top."""
    scale = 10.0 ** math.floor(math.log10(max(top, 1)))
    return next(m * scale for m in (1, 2, 3, 4, 5, 8, 10) if m * scale >= top)


def _round1(v: float) -> float:
    """One significant digit, for tick labels."""
    if v < 1:
        return 0.0
    scale = 10.0 ** math.floor(math.log10(v))
    return round(v / scale) * scale


def chart(series: list[dict[str, Any]], label: str, t: Text = ENGLISH) -> str:
    pts, label = _bins(series), escape(label)
    if not pts.ts:
        return f'<p class="muted">{escape(t._("No data yet"))}</p>'
    top = _nice(max(1.0, float(np.maximum(pts.count, pts.upper).max())))
    iw, ih = W - PAD_L - 4, H - PAD_T - PAD_B
    n = len(pts.ts)
    dx = iw / max(1, n - 1)

    def x(i: int) -> float:
        return round(PAD_L + i * dx, 1)

    def y(v: float) -> float:
        return round(PAD_T + ih - ih * math.sqrt(max(0.0, min(v, top)) / top), 1)

    def ys(v: npt.NDArray[np.float64]) -> list[float]:
        """`y` of every value: the same arithmetic, in numpy, and Python's rounding."""
        return [
            round(u, 1) for u in (PAD_T + ih - ih * np.sqrt(np.clip(v, 0.0, top) / top)).tolist()
        ]

    xs = [round(u, 1) for u in (PAD_L + np.arange(n) * dx).tolist()]
    up, mean, busy = ys(pts.upper), ys(pts.expected), ys(pts.count)
    band = " ".join(f"{a},{b}" for a, b in zip(xs, up, strict=True))
    band += " " + " ".join(f"{a},{b}" for a, b in zip(reversed(xs), reversed(mean), strict=True))
    expected = " ".join(f"{a},{b}" for a, b in zip(xs, mean, strict=True))
    counts = " ".join(f"{a},{b}" for a, b in zip(xs, busy, strict=True))
    area = f"{x(0)},{y(0)} {counts} {x(n - 1)},{y(0)}"
    grid = []
    for tick in sorted({0.0, _round1(top / 25), _round1(top / 4), top}):
        gy = y(tick)
        grid.append(f'<line class="gridline" x1="{PAD_L}" x2="{W - 4}" y1="{gy}" y2="{gy}"/>')
        grid.append(
            f'<text class="axis" x="{PAD_L - 6}" y="{gy + 4}" text-anchor="end">'
            f"{t.num(tick)}</text>"
        )
    ticks = []
    for i in range(0, n, max(1, n // 6)):
        ticks.append(
            f'<text class="axis" x="{x(i)}" y="{H - 6}" text-anchor="middle" '
            f'data-utc="{escape(pts.ts[i])}">{escape(pts.ts[i][11:16])}</text>'
        )
    ticks.append(
        f'<text class="axis" x="{W - 4}" y="{H - 6}" text-anchor="end" data-zone="">UTC</text>'
    )
    hot = []
    for i, level in enumerate(pts.level):
        if level:
            hot.append(
                f'<rect class="hot-{level}" x="{x(i) - dx / 2:.1f}" y="{PAD_T}" '
                f'width="{dx:.1f}" height="{ih}"/>'
            )
    return (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{label}" '
        f'id="chart">'
        f"<title>{label}</title>{''.join(hot)}{''.join(grid)}"
        f'<polygon class="band" points="{band}"/>'
        f'<polygon class="area" points="{area}"/>'
        f'<polyline class="expected" points="{expected}"/>'
        f'<polyline class="count" points="{counts}"/>'
        f"{''.join(ticks)}</svg>"
    )


def sparkline(series: list[dict[str, Any]], w: int = 160, h: int = 32) -> str:
    pts = _bins(series, 96)
    if not pts.ts:
        return ""
    top = max(1.0, float(pts.count.max()))
    dx = w / max(1, len(pts.ts) - 1)
    ys = (h - 2 - (h - 4) * np.sqrt(pts.count / top)).tolist()
    line = " ".join(f"{i * dx:.1f},{v:.1f}" for i, v in enumerate(ys))
    return (
        f'<svg class="spark" viewBox="0 0 {w} {h}" preserveAspectRatio="none" '
        f'aria-hidden="true"><polyline points="{line}"/></svg>'
    )
