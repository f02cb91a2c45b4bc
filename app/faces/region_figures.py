"""Per-region figures of a service for the region map: reports, level, and how far the
last hour is above what the model expected, read from the published view."""

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
    reports_1h: int  # and in the last hour
    level: str | None  # of the region's open incident, if any
    ratio: float | None  # the last hour against its expected count; None if not known
    learning: bool = False  # no baseline for this region yet


def region_figures(view: ReadView, detail: dict[str, Any]) -> list[RegionFigure]:
    """The figures of the regions `service_detail` lists, in its order (most reports
    first). The ratio compares the view's last hour (the open bucket included) with the
    model's expected count for the hour's closed buckets: at most one bucket apart."""
    service = detail["service"]
    out = []
    for r in detail["regions"]:
        sid = view.sid((service, r["region"]))
        hour, ratio, learning = 0, None, True
        if sid is not None:
            hour = int(view.hour[sid])
            learning = view.is_learning(sid)
            if not learning:
                ratio = hour / max(view.normal_hour(sid), MIN_EXPECTED)
        figure = RegionFigure(r["region"], int(r["reports"]), hour, r["level"], ratio, learning)
        out.append(figure)
    return out
