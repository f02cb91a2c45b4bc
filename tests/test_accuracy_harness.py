"""The accuracy harness itself: generator, labels, metrics and the baseline."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.accuracy import downdetector, metrics, scenarios


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acc_small")
    scenarios.generate(out, seed=3, small=True)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _meta(d: Path) -> dict[str, Any]:
    return json.loads((d / "meta.json").read_text())


def _labels(d: Path) -> list[dict[str, Any]]:
    return json.loads((d / "labels.json").read_text())


def _kw(d: Path) -> dict[str, Any]:
    meta = _meta(d)
    return {"series": 30, "data_start": meta["start"], "data_end": meta["end"]}


def test_generator_is_deterministic(small: Path, tmp_path: Path) -> None:
    scenarios.generate(tmp_path, seed=3, small=True)
    assert _digest(tmp_path / "reports.csv") == _digest(small / "reports.csv")
    assert (tmp_path / "labels.json").read_text() == (small / "labels.json").read_text()
    other = tmp_path / "other"
    scenarios.generate(other, seed=4, small=True)
    assert _digest(other / "reports.csv") != _digest(small / "reports.csv")


def test_small_scenario_shape(small: Path) -> None:
    df = pl.read_csv(small / "reports.csv", schema_overrides={"region": pl.Utf8})
    assert df.columns == ["ts", "service", "region", "problem", "reporter"]
    meta = _meta(small)
    assert meta["days"] == 9
    assert 1000 < len(df) / meta["days"] < 20000
    assert df["ts"].str.ends_with("Z").all()
    assert df["ts"].is_sorted()
    labels = _labels(small)
    warm_end = metrics.ts(meta["start"]) + 7 * 86400  # type: ignore[operator]
    assert all(metrics.ts(lab["start"]) >= warm_end for lab in labels)  # type: ignore
    assert any(lab["shape"] == "flash" for lab in labels)


def test_labels_line_up_with_surges(small: Path) -> None:
    df = pl.read_csv(small / "reports.csv", schema_overrides={"region": pl.Utf8}).with_columns(
        pl.col("ts").str.to_datetime(time_zone="UTC", time_unit="ms").dt.epoch("s").alias("t")
    )
    for lab in _labels(small):
        if lab["kind"] != "incident" or (lab["multiplier"] or 0) < 10:
            continue
        a, b = metrics.ts(lab["start"]), metrics.ts(lab["end"])
        sel = df.filter(pl.col("service") == lab["service"])
        if lab["region"]:
            sel = sel.filter(pl.col("region") == lab["region"])
        during = sel.filter((pl.col("t") >= a) & (pl.col("t") < b)).height / (b - a)  # type: ignore
        # Same time of day, the day before: the normal rate.
        before = sel.filter(
            (pl.col("t") >= a - 86400) & (pl.col("t") < b - 86400)  # type: ignore[operator]
        ).height / (b - a)  # type: ignore[operator]
        assert during > 4 * before, lab
        assert during * (b - a) >= 10, lab  # type: ignore[operator]


def _feed_from_labels(labels: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    for k, lab in enumerate(labels):
        if lab["kind"] != "incident":
            continue
        out.append(
            {
                "id": f"L{k}",
                "service": lab["service"],
                "region": lab["region"],
                "level": lab["expected_level"],
                "state": "resolved",
                "started_at": lab["start"],
                "opened_at": lab["start"],
                "confirmed_at": lab["start"] if lab["expected_level"] == "outage" else None,
                "ended_at": lab["end"],
            }
        )
    return {"outages": out}


def test_metrics_perfect_on_labels(small: Path) -> None:
    labels = _labels(small)
    m = metrics.compute(labels, _feed_from_labels(labels), **_kw(small))
    assert m["recall_outage"] == 1.0
    assert m["recall_possible"] == 1.0
    assert m["false_any"] == 0
    assert m["false_outage_per_series_week"] == 0.0
    assert m["confirm_delay_median"] == 0
    assert m["fragmentation"] == 1.0
    assert m["end_error_median_min"] == 0


def test_metrics_count_fabricated_incident(small: Path) -> None:
    labels = _labels(small)
    feed = _feed_from_labels(labels)
    # Day 8 03:00-03:30 on a service with no label then.
    fake_service = next(s for s in _meta(small)["services"] if s == "officesuite")
    assert not any(lab["service"] == fake_service and lab["kind"] == "incident" for lab in labels)
    feed["outages"].append(
        {
            "id": "fake",
            "service": fake_service,
            "region": None,
            "level": "outage",
            "state": "resolved",
            "started_at": "2026-01-13T03:00:00Z",
            "opened_at": "2026-01-13T03:01:00Z",
            "confirmed_at": "2026-01-13T03:01:00Z",
            "ended_at": "2026-01-13T03:30:00Z",
        }
    )
    m = metrics.compute(labels, feed, **_kw(small))
    assert m["false_any"] == 1
    assert m["false_outage"] == 1
    assert m["false_outage_per_series_week"] == pytest.approx(1 / (30 * 2 / 7))
    assert m["recall_outage"] == 1.0
    # A missing label lowers recall.
    feed["outages"] = [o for o in feed["outages"] if o["id"] != "fake"][1:]
    assert metrics.compute(labels, feed, **_kw(small))["recall_possible"] < 1.0


def test_baseline_finds_big_flash_outage(small: Path) -> None:
    feed = downdetector.detect(small / "reports.csv")
    flash = [lab for lab in _labels(small) if lab["shape"] == "flash"]
    assert flash
    for lab in flash:
        hits = [
            o
            for o in feed["outages"]
            if o["service"] == lab["service"] and o["region"] is None and metrics._overlaps(o, lab)
        ]
        assert hits, lab
        opened = metrics.ts(hits[0]["opened_at"])
        assert 0 <= opened - metrics.ts(lab["start"]) <= 10 * 60  # type: ignore[operator]
    for o in feed["outages"]:
        assert o["level"] == "outage" and o["confirmed_at"] == o["opened_at"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cascades_come_with_the_catalog_that_declares_them(seed: int) -> None:
    """Most dependants of a cascade run on its provider by the scenario's catalog; now
    and then one does not (the generic path); the file reads as the bundled one does."""
    from outagewatch.app.catalog import parse_catalog, providers_of

    sc = scenarios.Scenario(weeks=3, seed=seed)
    declared = providers_of(parse_catalog(sc.catalog()))
    provider = None
    flags = []
    for lab in sc.labels:
        if lab["shape"] == "cascade_provider":
            provider = lab["service"]
        elif lab["shape"] == "cascade_dependant":
            runs_on = provider in declared.get(lab["service"], ())
            assert lab["declared"] is runs_on, lab
            flags.append(runs_on)
    assert len(flags) >= 6 and sum(flags) > len(flags) / 2  # most are declared
    assert not all(flags)  # these seeds measure the generic path too


def test_metrics_split_dependants_by_declaration(small: Path) -> None:
    labels = [
        {"kind": "incident", "shape": "cascade_dependant", "service": s, "region": None,
         "start": "2026-01-13T10:00:00.000Z", "end": "2026-01-13T10:30:00.000Z",
         "expected_level": "outage", "multiplier": 4.0, "declared": flag}
        for s, flag in (("chatapp", True), ("smallgame", False))
    ]  # fmt: skip
    feed = _feed_from_labels(labels)
    for inc in feed["outages"]:
        if inc["service"] == "smallgame" and inc["started_at"].startswith("2026-01-13T10"):
            inc["opened_at"] = inc["confirmed_at"] = "2026-01-13T10:07:00Z"
    m = metrics.compute(labels, feed, **_kw(small))
    assert m["declared_dependant_labels"] == 1
    assert m["declared_dependant_confirm_delay_p90"] == 0
    assert m["undeclared_dependant_confirm_delay_p90"] == 7


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10_000), st.sampled_from([1.5, 2.0, 3.0, 4.0]))
def test_every_seed_plans_a_scenario(seed: int, weeks: float) -> None:
    """Any seed gives a scenario (57 of the first 199 seeds raised before: a shape with
    no service to take it, a cascade whose dependants were all busy; and, found by this
    test, no consumer of the size the growth trap needs); its labels lie
    after the warm-up and inside the data, and each dependant says whether it is
    declared."""
    sc = scenarios.Scenario(weeks=weeks, seed=seed)
    assert any(lab["kind"] == "incident" for lab in sc.labels)
    for lab in sc.labels:
        start, end = lab["_span"]
        assert scenarios.WARMUP_DAYS * 1440 <= start < end <= sc.minutes, lab
        if lab["shape"] == "cascade_dependant":
            assert isinstance(lab["declared"], bool), lab


@pytest.mark.parametrize("seed", [6, 9, 16])  # one of each way it failed
def test_seeds_that_failed_plan_now(seed: int) -> None:
    assert scenarios.Scenario(weeks=3, seed=seed).labels


def test_a_scenario_needs_days_after_its_warm_up() -> None:
    with pytest.raises(ValueError, match="warm-up"):
        scenarios.Scenario(weeks=1)
    with pytest.raises(argparse.ArgumentTypeError, match="more than 1 week"):
        scenarios.weeks_arg("1")
    assert scenarios.weeks_arg("1.5") == 1.5
