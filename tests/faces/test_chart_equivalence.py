"""The day chart drawn with numpy is the chart drawn point by point: the same SVG,
byte for byte (the reference below is the point-by-point drawing it replaced)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.faces.chart import (
    MAX_POINTS,
    PAD_B,
    PAD_L,
    PAD_T,
    H,
    W,
    _nice,
    chart,
    sparkline,
)

LEVELS = ["", "possible", "outage"]


def reference_bins(series: list[dict[str, Any]], points: int) -> list[dict[str, Any]]:
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
                "level": max((p["level"] for p in chunk), key=LEVELS.index),
            }
        )
    return out


def reference_paths(series: list[dict[str, Any]]) -> str:
    """The point-by-point polygons and polylines of the chart."""
    pts = reference_bins(series, MAX_POINTS)
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
    hot = "".join(
        f'<rect class="hot-{p["level"]}" x="{x(i) - dx / 2:.1f}"'
        for i, p in enumerate(pts)
        if p["level"]
    )
    return f"{hot}|{band}|{area}|{expected}|{counts}"


def reference_spark(series: list[dict[str, Any]], w: int = 160, h: int = 32) -> str:
    pts = reference_bins(series, 96)
    top = max(1.0, *(p["count"] for p in pts))
    dx = w / max(1, len(pts) - 1)
    return " ".join(
        f"{i * dx:.1f},{h - 2 - (h - 4) * math.sqrt(p['count'] / top):.1f}"
        for i, p in enumerate(pts)
    )


def paths_of(svg: str) -> str:
    """The same parts, cut out of the chart's SVG."""
    hot = "".join("<rect " + part.split(' y="')[0] for part in svg.split("<rect ")[1:])
    band, area, expected, counts = (
        svg.split(f'class="{name}" points="')[1].split('"')[0]
        for name in ("band", "area", "expected", "count")
    )
    return f"{hot}|{band}|{area}|{expected}|{counts}"


point = st.fixed_dictionaries(
    {
        "count": st.integers(0, 50_000),
        # 3 decimals as the detail rounds them; some on a drawn rounding's edge
        "expected": st.one_of(
            st.floats(0, 5000).map(lambda v: round(v, 3)),
            st.integers(0, 400).map(lambda k: k * 0.05),
        ),
        "upper": st.one_of(st.integers(0, 60_000).map(float), st.floats(0, 1e5)),
        "level": st.sampled_from(LEVELS),
    }
)


# A day at 1-minute buckets is 1,440 points, binned 5 to a column; short days are not.
days = st.one_of(
    st.lists(point, min_size=1, max_size=300), st.lists(point, min_size=289, max_size=1500)
)


@settings(max_examples=80, deadline=None)
@given(days)
def test_the_chart_is_drawn_as_point_by_point(series: list[dict[str, Any]]) -> None:
    for i, p in enumerate(series):
        p["ts"] = f"2026-11-30T{(i // 60) % 24:02d}:{i % 60:02d}:00Z"
    assert paths_of(chart(series, "label")) == reference_paths(series)
    line = sparkline(series).split('points="')[1].split('"')[0]
    assert line == reference_spark(series)


def test_an_empty_day_has_no_chart() -> None:
    assert "No data yet" in chart([], "label")
    assert sparkline([]) == ""
