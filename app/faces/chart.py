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
from html import escape
from typing import Any

from outagewatch.app.i18n import ENGLISH, Text

W, H, PAD_L, PAD_B, PAD_T = 720, 220, 34, 22, 10
MAX_POINTS = 288


def _bins(series: list[dict[str, Any]], points: int = MAX_POINTS) -> list[dict[str, Any]]:
    step = max(1, -(-len(series) // points))
    out = []
    for i in range(0, len(series), step):
        chunk = series[i : i + step]
        out.append(
            {
                "ts": chunk[0]["ts"],
                "count": max(p["count"] for p in chunk),
                "expected": sum(p["expected"] for p in chunk) / len(chunk),
                "upper": max(p["upper"] for p in chunk),
                "level": max((p["level"] for p in chunk), key=["", "possible", "outage"].index),
            }
        )
    return out


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
    if not pts:
        return f'<p class="muted">{escape(t._("No data yet"))}</p>'
    top = _nice(max(1.0, *(max(p["count"], p["upper"]) for p in pts)))
    iw, ih = W - PAD_L - 4, H - PAD_T - PAD_B
    dx = iw / max(1, len(pts) - 1)

    def x(i: int) -> float:
        return round(PAD_L + i * dx, 1)

    def y(v: float) -> float:
        return round(PAD_T + ih - ih * math.sqrt(max(0.0, min(v, top)) / top), 1)

    band = " ".join(f"{x(i)},{y(p['upper'])}" for i, p in enumerate(pts))
    band += " " + " ".join(f"{x(i)},{y(p['expected'])}" for i, p in reversed(list(enumerate(pts))))
    expected = " ".join(f"{x(i)},{y(p['expected'])}" for i, p in enumerate(pts))
    counts = " ".join(f"{x(i)},{y(p['count'])}" for i, p in enumerate(pts))
    area = f"{x(0)},{y(0)} {counts} {x(len(pts) - 1)},{y(0)}"
    grid = []
    for tick in sorted({0.0, _round1(top / 25), _round1(top / 4), top}):
        gy = y(tick)
        grid.append(f'<line class="gridline" x1="{PAD_L}" x2="{W - 4}" y1="{gy}" y2="{gy}"/>')
        grid.append(
            f'<text class="axis" x="{PAD_L - 6}" y="{gy + 4}" text-anchor="end">'
            f"{t.num(tick)}</text>"
        )
    ticks = []
    for i in range(0, len(pts), max(1, len(pts) // 6)):
        ticks.append(
            f'<text class="axis" x="{x(i)}" y="{H - 6}" text-anchor="middle" '
            f'data-utc="{escape(pts[i]["ts"])}">{escape(pts[i]["ts"][11:16])}</text>'
        )
    ticks.append(
        f'<text class="axis" x="{W - 4}" y="{H - 6}" text-anchor="end" data-zone="">UTC</text>'
    )
    hot = []
    for i, p in enumerate(pts):
        if p["level"]:
            hot.append(
                f'<rect class="hot-{p["level"]}" x="{x(i) - dx / 2:.1f}" y="{PAD_T}" '
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
    if not pts:
        return ""
    top = max(1.0, *(p["count"] for p in pts))
    dx = w / max(1, len(pts) - 1)
    line = " ".join(
        f"{i * dx:.1f},{h - 2 - (h - 4) * math.sqrt(p['count'] / top):.1f}"
        for i, p in enumerate(pts)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {w} {h}" preserveAspectRatio="none" '
        f'aria-hidden="true"><polyline points="{line}"/></svg>'
    )
