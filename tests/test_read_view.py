"""Readers see the engine only through the view the writer publishes after each
advance: an immutable snapshot that later buckets cannot change under a reader."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.ingest.batch import normalize
from tests.conftest import T0

ROOT = Path(__file__).resolve().parent.parent
# The engine (app/engine/) reads its own state; everything else reads the published view.
LIVE_STATE = re.compile(
    r"pipeline\.(agg|bank|tracker|chart|partial|hourly|dedup|totals|learning)\b"
)


def test_no_reader_reaches_into_the_engine() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "app").rglob("*.py"))
        if "engine" not in path.relative_to(ROOT).parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if LIVE_STATE.search(line)
    ]
    assert offenders == []


def reports(t0: float, minutes: int, per_minute: int, service: str = "aws") -> pl.DataFrame:
    ts = [t0 + m * 60 + k * (60 / per_minute) for m in range(minutes) for k in range(per_minute)]
    return normalize(
        pl.DataFrame(
            {
                "ts": [str(t) for t in ts],
                "service": [service] * len(ts),
                "region": ["DE"] * len(ts),
                "problem": ["login"] * len(ts),
            }
        )
    )


def test_a_published_view_never_changes_after_later_buckets() -> None:
    pipe = Pipeline(PipelineConfig(early_check_s=0))
    t0 = 1_793_577_600.0
    pipe.ingest(reports(t0, 10, 3))
    pipe.advance(t0 + 10 * 60 + 20)
    view = pipe.view
    sid = view.sid(("aws", None))
    assert sid is not None and view.sid(("aws", "DE")) is not None
    assert view.day[sid] == 30 and view.hour[sid] == 30
    chart_before = [a.copy() for a in view.points(sid)]
    assert chart_before[1].sum() == 30

    with pytest.raises(ValueError):
        view.hour[sid] = 0.0  # read-only: a reader cannot change what others see

    pipe.ingest(reports(t0 + 10 * 60, 5, 7, service="netflix"))
    pipe.ingest(reports(t0 + 10 * 60, 5, 2))
    pipe.advance(t0 + 15 * 60 + 20)
    # The old view is as it was; the new one has the new buckets and series.
    assert view.day[sid] == 30 and view.n == 2 and view.sid(("netflix", None)) is None
    for a, b in zip(chart_before, view.points(sid), strict=True):
        np.testing.assert_array_equal(a, b)
    new = pipe.view
    assert new.version > view.version and new.day[sid] == 40
    assert new.sid(("netflix", None)) is not None
    assert new.points(sid)[1].sum() == 40


reports_in_open_buckets = st.lists(
    st.tuples(
        st.floats(0, 299, allow_nan=False),
        st.sampled_from(["aws", "amazon"]),
        st.sampled_from([None, "IT", "PL"]),
        st.integers(1, 3),
    ),
    max_size=40,
)


@given(reports_in_open_buckets)
def test_open_buckets_hold_each_report_once_in_its_minute(
    rows: list[tuple[float, str, str | None, int]],
) -> None:
    from outagewatch.app.engine.early import PartialBuckets
    from outagewatch.ingest.series import SeriesIndex

    index = SeriesIndex()
    held = PartialBuckets(60, 15.0, index)
    held.add(
        pl.DataFrame(
            {"ts": [r[0] for r in rows], "service": [r[1] for r in rows],
             "region": [r[2] for r in rows], "weight": [float(r[3]) for r in rows]},
            schema={"ts": pl.Float64, "service": pl.String, "region": pl.String,
                    "weight": pl.Float64},
        )
    )  # fmt: skip
    starts, counts = held.open_buckets(len(index))
    assert starts.tolist() == sorted({(r[0] // 60) * 60 for r in rows})
    for (service, region), sid in ((k, index.get(k)) for k in index.keys(len(index))):
        for b, start in enumerate(starts.tolist()):
            mine = [r for r in rows if (r[0] // 60) * 60 == start and r[1] == service]
            want = sum(r[3] for r in mine if region is None or r[2] == region)
            assert counts[b, sid] == want


def test_a_read_waits_only_for_its_own_services_reports() -> None:
    """A page of a service nobody reported answers at once, however many reports of
    others wait for the writer; one whose first report waits is held for it."""
    pipe = Pipeline(PipelineConfig())
    assert not pipe.waiting() and not pipe.waiting("aws")
    pipe.buffer(T0, "aws", "DE", "login", "r1", True)
    assert pipe.waiting() and pipe.waiting("aws") and not pipe.waiting("gcp")
    pipe.ingest(pl.DataFrame({"ts": [T0 + 1.0], "service": ["gcp"], "region": [None],
                              "problem": [None], "reporter": ["r2"], "count": [1]}))  # fmt: skip
    assert pipe.waiting("gcp") and not pipe.waiting("azure")
    pipe.advance(T0 + 2.0)  # the writer takes them: the view has them now
    assert not pipe.waiting() and not pipe.waiting("aws") and not pipe.waiting("gcp")
