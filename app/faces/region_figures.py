"""Per-region figures of a service for the region map: reports, level, and how far the
last hour is above what the model expected, read from the published view.

The last hour's count and its expected count both come from the day chart (closed
buckets, as the page's chart shows them), so the two always cover the same minutes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outagewatch.app.engine.read_view import ReadView

# Below one expected report an hour, a single report would read as "far above normal".
MIN_EXPECTED = 1.0


@dataclass(frozen=True, slots=True)
class RegionFigure:
    region: str
    reports: int  # counted in the last 24 hours
    reports_1h: int  # in the last hour of closed buckets
    level: str | None  # of the region's open incident, if any
    ratio: float | None  # last hour against its expected count; None if not known
    learning: bool = False  # no baseline for this region yet


def region_figures(view: ReadView, detail: dict[str, Any]) -> list[RegionFigure]:
    """The figures of the regions `service_detail` lists, in its order (most reports
    first)."""
    service = detail["service"]
    hour_buckets = max(1, 3600 // int(detail["bucket_seconds"]))
    out = []
    for r in detail["regions"]:
        sid = view.sid((service, r["region"]))
        hour, ratio, learning = 0, None, True
        if sid is not None:
            _, counts, expected, _ = view.points(sid)
            hour = int(counts[-hour_buckets:].sum())
            learning = view.is_learning(sid)
            normal = float(expected[-hour_buckets:].sum())
            # No expected count at all: the chart recorded no bucket of this hour.
            if not learning and normal > 0:
                ratio = hour / max(normal, MIN_EXPECTED)
        figure = RegionFigure(r["region"], int(r["reports"]), hour, r["level"], ratio, learning)
        out.append(figure)
    return out
