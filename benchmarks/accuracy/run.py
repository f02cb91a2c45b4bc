"""Accuracy benchmark: outagewatch vs a Downdetector-style baseline on labelled data.

python -m benchmarks.accuracy.run [--data DIR] [--weeks 3] [--seed 1]
                                  [--out benchmarks/out/accuracy] [--no-dependencies]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.accuracy import downdetector, metrics, scenarios

ROOT = Path(__file__).resolve().parents[2]


def find_cli() -> str:
    local = ROOT / ".venv" / "bin" / "outagewatch"
    if local.exists():
        return str(local)
    here = Path(sys.executable).parent / "outagewatch"
    if here.exists():
        return str(here)
    found = shutil.which("outagewatch")
    if not found:
        raise SystemExit("outagewatch CLI not found (run `make .venv/.installed`)")
    return found


def count_series(path: Path) -> int:
    df = (
        pl.scan_csv(path, schema_overrides={"region": pl.Utf8})
        .select("service", "region")
        .unique()
        .collect()
    )
    regional = df.filter(pl.col("region").is_not_null() & (pl.col("region") != "")).height
    return regional + df["service"].n_unique()


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.2f}".rstrip("0").rstrip(".")
    return str(v)


ROWS = [
    ("recall, outage labels (level outage)", "recall_outage", "1.0", "max"),
    ("recall, all incident labels (possible+)", "recall_possible", "-", "max"),
    ("median delay to opened_at (buckets, surges)", "open_delay_median", "-", "min"),
    ("p90 delay to opened_at (buckets, surges)", "open_delay_p90", "-", "min"),
    ("median delay to confirmed_at (buckets, surges)", "confirm_delay_median", "<= 2", "min"),
    ("p90 delay to confirmed_at (buckets, surges)", "confirm_delay_p90", "<= 5", "min"),
    (
        "median delay to confirmed_at, cascade dependants (buckets)",
        "dependant_confirm_delay_median",
        "<= 2",
        "min",
    ),
    (
        "p90 delay to confirmed_at, cascade dependants (buckets)",
        "dependant_confirm_delay_p90",
        "<= 5",
        "min",
    ),
    (
        "median delay to confirmed_at, declared dependants (buckets)",
        "declared_dependant_confirm_delay_median",
        "-",
        "min",
    ),
    (
        "p90 delay to confirmed_at, declared dependants (buckets)",
        "declared_dependant_confirm_delay_p90",
        "<= 5",
        "min",
    ),
    (
        "median delay to confirmed_at, undeclared dependants (buckets)",
        "undeclared_dependant_confirm_delay_median",
        "-",
        "min",
    ),
    (
        "p90 delay to confirmed_at, undeclared dependants (buckets)",
        "undeclared_dependant_confirm_delay_p90",
        "-",
        "min",
    ),
    ("surges never confirmed", "surges_never_confirmed", "0", "min"),
    ("false outage per series-week", "false_outage_per_series_week", "<= 0.005", "min"),
    ("false possible+ per series-week", "false_possible_per_series_week", "<= 0.05", "min"),
    ("false outage incidents (count)", "false_outage", "-", "min"),
    ("false incidents, any level (count)", "false_any", "-", "min"),
    ("fragmentation (incidents per matched label)", "fragmentation", "1.0", "min"),
    ("end-time error, median (min)", "end_error_median_min", "-", "min"),
    ("resolve lag, median (resolved_at - labelled end, min)", "resolve_lag_median_min", "-", "min"),
    ("resolve lag, p90 (min)", "resolve_lag_p90_min", "-", "min"),
]


def table(ow: dict[str, Any], dd: dict[str, Any], speed: str) -> str:
    lines = ["| metric | outagewatch | downdetector-style | target |", "|---|---|---|---|"]
    for name, key, target, _ in ROWS:
        lines.append(f"| {name} | {fmt(ow[key])} | {fmt(dd[key])} | {target} |")
    for kind in sorted(set(ow["false_on_traps"]) | set(dd["false_on_traps"])):
        lines.append(
            f"| false incidents on trap `{kind}` | {ow['false_on_traps'].get(kind, 0)} "
            f"| {dd['false_on_traps'].get(kind, 0)} | 0 |"
        )
    for sb in ow["slow_burn"]:
        other = next((x for x in dd["slow_burn"] if x["service"] == sb["service"]), None)

        def show(x: dict[str, Any] | None) -> str:
            if x is None:
                return "n/a"
            verdict = "pass" if x["pass"] else "FAIL"
            return (
                f"{verdict}: {x['found_level'] or 'missed'}, {x['incidents']} incident(s), "
                f"outage on {x['days_in_outage']}/{x['working_days']} days"
            )

        lines.append(
            f"| trap `slow_burn` ({sb['service']}, {sb['working_days']} working days) "
            f"| {show(sb)} | {show(other)} | outage every day, <= 1 incident a day |"
        )
    lines.append(f"| replay throughput | {speed} | - | - |")
    return "\n".join(lines)


def beats(ow: dict[str, Any], dd: dict[str, Any]) -> list[str]:
    out = []
    for name, key, _, better in ROWS:
        a, b = ow[key], dd[key]
        if a is None or b is None:
            continue
        ok = a >= b if better == "max" else a <= b
        out.append(f"- {'beats/equals' if ok else 'LOSES to'} baseline on {name}")
    return out


def label_table(m: dict[str, Any]) -> str:
    lines = [
        "| shape | service | region | start | x | expected | found | open | confirm "
        "| incidents | resolve lag (min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in m["per_label"]:
        lines.append(
            f"| {r['shape']} | {r['service']} | {r['region'] or '-'} | {r['start'][:16]} | "
            f"{fmt(r['multiplier'])} | {r['expected_level']} | {r['found_level'] or 'MISSED'} | "
            f"{fmt(r['open_delay_buckets'])} | {fmt(r['confirm_delay_buckets'])} | "
            f"{r['incidents']} | {fmt(r['resolve_lag_min'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--weeks", type=scenarios.weeks_arg, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/accuracy"))
    ap.add_argument(
        "--no-dependencies",
        action="store_true",
        help="replay without the scenario's catalog (who runs on whom): the generic prior only",
    )
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    data = a.data or a.out / "data"
    if not (data / "reports.csv").exists() or not (data / "meta.json").exists():
        print(f"generating scenario ({a.weeks} weeks, seed {a.seed}) in {data}")
        scenarios.generate(data, a.weeks, a.seed)
    meta = json.loads((data / "meta.json").read_text())
    labels = json.loads((data / "labels.json").read_text())
    csv = data / "reports.csv"
    feed_p, scores_p = a.out / "feed.json", a.out / "scores.csv"

    # The scenario's catalog tells the replay who runs on whom, as the server's would.
    catalog = data / "catalog.txt"
    declared = [] if a.no_dependencies or not catalog.exists() else ["--catalog", str(catalog)]
    t0 = time.perf_counter()
    replay = [find_cli(), "replay", str(csv), "--feed", str(feed_p), "--scores", str(scores_p)]
    subprocess.run([*replay, *declared], check=True)
    took = time.perf_counter() - t0
    speed = f"{meta['rows'] / took:,.0f} reports/s ({meta['rows']:,} in {took:.1f} s)"

    t0 = time.perf_counter()
    dd_feed = downdetector.detect(csv)
    dd_took = time.perf_counter() - t0
    (a.out / "downdetector_feed.json").write_text(json.dumps(dd_feed, indent=1))

    series = count_series(csv)
    kw = {
        "series": series,
        "data_start": meta["start"],
        "data_end": meta["end"],
        "warmup_days": meta["warmup_days"],
    }
    ow = metrics.compute(labels, json.loads(feed_p.read_text()), **kw)
    dd = metrics.compute(labels, dd_feed, **kw)
    for name, m in (("outagewatch", ow), ("downdetector", dd)):
        (a.out / f"metrics_{name}.json").write_text(json.dumps(m, indent=1, default=str))

    md = [
        "# Accuracy: outagewatch vs a Downdetector-style baseline",
        "",
        f"Scenario: {meta['days']} days, seed {meta['seed']}, {meta['rows']:,} reports, "
        f"{series} series, {len(labels)} labels; warm-up {meta['warmup_days']} days. "
        f"Baseline took {dd_took:.1f} s. Dependencies: "
        f"{'the scenario catalog (' + str(catalog.name) + ')' if declared else 'none declared'}.",
        "",
        table(ow, dd, speed),
        "",
        *beats(ow, dd),
        "",
        "## outagewatch per label",
        "",
        label_table(ow),
        "",
        "## downdetector-style per label",
        "",
        label_table(dd),
        "",
    ]
    text = "\n".join(md)
    (a.out / "accuracy.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
