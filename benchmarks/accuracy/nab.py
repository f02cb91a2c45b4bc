"""NAB realTweets: score outagewatch with the Numenta Anomaly Benchmark's own scorer.

python -m benchmarks.accuracy.nab [--data DIR] [--out benchmarks/out/nab]
                                  [--nab /path/to/NAB --nab-python /path/to/python]

Each file of the data folder (NAB's `Twitter_volume_*.csv` with `windows.json`; default
`../shared/data/nab-realtweets-dev` beside the repo) is replayed as ONE service through
the real CLI, `outagewatch replay FILE --bucket 5m --scores S.csv --feed F.json`, and
turned into NAB result files for three detectors (NAB splits names on "_", so none here):

- `outagewatch`: the service-wide per-bucket `score` of the bucket each data row falls in;
- `outagewatchIncidents`: 1 on the data row where an incident opened (the latest row with
  timestamp <= `opened_at`), else 0.
- `outagewatchOpenings`: on that same row, the per-bucket `score` of the last bucket closed
  when the incident opened (what the detector knew then), else 0: incidents ranked by
  their evidence, so NAB's threshold sweep can keep only the stronger ones.

Without `--nab` it stops there (result files in `<out>/work/results/`). With it, it builds
a NAB work folder holding only these files (data, windows, profiles, empty thresholds and
the published detectors' results for the same files), runs NAB's
`run.py --optimize --score --normalize`, and writes the board to `<out>/nab.md` and NAB's
`final_results.json` to `<out>/`.

Getting NAB (nothing of NAB is kept in this repo): clone https://github.com/numenta/NAB
anywhere (ea702d7 was used), then make a Python for it:
`python3 -m venv nabenv && nabenv/bin/pip install 'pandas<2.3' simplejson scipy`,
and pass `--nab path/to/NAB --nab-python nabenv/bin/python`.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.accuracy.run import ROOT, find_cli

DATA = ROOT.parent / "shared" / "data" / "nab-realtweets-dev"
BUCKET = 300  # seconds, `--bucket 5m`
OURS = ("outagewatch", "outagewatchIncidents", "outagewatchOpenings")
PUBLISHED = (
    "numenta",
    "contextOSE",
    "ARTime",
    "skyline",
    "knncad",
    "relativeEntropy",
    "randomCutForest",
    "windowedGaussian",
)
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def service_of(name: str) -> str:
    """`Twitter_volume_AAPL.csv` -> `aapl`."""
    return Path(name).stem.rsplit("_", 1)[-1].lower()


def read_data(path: Path) -> pl.DataFrame:
    """A NAB data file, timestamps kept as the original strings, plus `epoch` (UTC s)."""
    df = pl.read_csv(path, schema_overrides={"timestamp": pl.Utf8})
    return df.with_columns(
        pl.col("timestamp")
        .str.strptime(pl.Datetime("ms", "UTC"), TS_FORMAT)
        .dt.epoch("s")
        .alias("epoch")
    )


def to_replay(data: pl.DataFrame, service: str) -> pl.DataFrame:
    """Rows a user would replay: ts (ISO-8601 Z), service, count."""
    return data.select(
        pl.from_epoch("epoch", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"),
        pl.lit(service).alias("service"),
        pl.col("value").cast(pl.Int64).alias("count"),
    )


def _epoch(ts: str) -> int:
    """Seconds since the epoch of an ISO-8601 or NAB timestamp, read as UTC."""
    ts = ts.strip().replace("T", " ").removesuffix("Z").split(".")[0]
    return int(datetime.strptime(ts, TS_FORMAT).replace(tzinfo=UTC).timestamp())


def labels_for(epochs: pl.Series, windows: list[list[str]]) -> pl.Series:
    """1 where a row is inside a window (both ends inclusive), else 0."""
    inside = pl.Series([False] * len(epochs))
    for start, end in windows:
        inside = inside | ((epochs >= _epoch(start)) & (epochs <= _epoch(end)))
    return inside.cast(pl.Int64).alias("label")


def service_scores(scores: pl.DataFrame) -> pl.DataFrame:
    """Service-wide rows of a `--scores` CSV as (bucket epoch, score)."""
    region = pl.col("region").cast(pl.Utf8)
    return scores.filter(region.is_null() | (region == "")).select(
        pl.col("ts").cast(pl.Utf8).map_elements(_epoch, return_dtype=pl.Int64).alias("bucket"),
        pl.col("score").cast(pl.Float64),
    )


def opened_rows(epochs: pl.Series, incidents: list[dict[str, Any]]) -> list[int]:
    """Row index per service-wide incident: the latest row with timestamp <= opened_at."""
    rows = []
    for inc in incidents:
        if inc.get("region") is not None:
            continue
        i = int(epochs.search_sorted(_epoch(inc["opened_at"]), side="right")) - 1
        if i >= 0:
            rows.append(i)
    return rows


def results(
    data: pl.DataFrame,
    scores: pl.DataFrame,
    incidents: list[dict[str, Any]],
    windows: list[list[str]],
) -> dict[str, pl.DataFrame]:
    """NAB result frames (timestamp,value,anomaly_score,label) for both our detectors."""
    label = labels_for(data["epoch"], windows)
    base = data.with_columns(((pl.col("epoch") // BUCKET) * BUCKET).alias("bucket"), label)
    per_bucket = (
        base.join(service_scores(scores), on="bucket", how="left", maintain_order="left")
        .with_columns(pl.col("score").fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0))
        .select("timestamp", "value", pl.col("score").alias("anomaly_score"), "label")
    )
    flags = [0] * data.height
    for i in opened_rows(data["epoch"], incidents):
        flags[i] = 1
    opened = base.select(
        "timestamp", "value", pl.Series("anomaly_score", flags, dtype=pl.Float64), "label"
    )
    strength = [0.0] * data.height
    known = dict(service_scores(scores).iter_rows())
    wide = [inc for inc in incidents if inc.get("region") is None]
    for i, inc in zip(opened_rows(data["epoch"], wide), wide, strict=True):
        closed = _epoch(inc["opened_at"]) // BUCKET * BUCKET - BUCKET  # last closed bucket
        score = float(known.get(closed) or 0.0)
        strength[i] = max(strength[i], 0.0 if math.isnan(score) else min(1.0, score))
    ranked = base.select(
        "timestamp", "value", pl.Series("anomaly_score", strength, dtype=pl.Float64), "label"
    )
    return {
        "outagewatch": per_bucket,
        "outagewatchIncidents": opened,
        "outagewatchOpenings": ranked,
    }


def replay(cli: str, data: pl.DataFrame, service: str, work: Path) -> tuple[Path, Path, float]:
    work.mkdir(parents=True, exist_ok=True)
    src, scores_p, feed_p = work / "replay.csv", work / "scores.csv", work / "feed.json"
    to_replay(data, service).write_csv(src)
    scores_p.unlink(missing_ok=True)
    cmd = [cli, "replay", str(src), "--bucket", "5m", "--scores", str(scores_p)]
    t0 = time.perf_counter()
    subprocess.run([*cmd, "--feed", str(feed_p)], check=True)
    return scores_p, feed_p, time.perf_counter() - t0


def window_hits(epochs: pl.Series, rows: list[int], windows: list[list[str]]) -> int:
    """How many windows got an incident opened inside them."""
    at = [int(epochs[i]) for i in rows]
    return sum(any(_epoch(s) <= t <= _epoch(e) for t in at) for s, e in windows)


def build_work(nab: Path, data_dir: Path, files: list[str], windows: dict, work: Path) -> None:
    """NAB's folder layout with only our files and the published results for them."""
    (work / "data" / "realTweets").mkdir(parents=True, exist_ok=True)
    (work / "labels").mkdir(exist_ok=True)
    (work / "config").mkdir(exist_ok=True)
    for f in files:
        shutil.copy(data_dir / f, work / "data" / "realTweets" / f)
    nab_windows = {f"realTweets/{f}": windows[f] for f in files}
    (work / "labels" / "windows.json").write_text(json.dumps(nab_windows, indent=1))
    shutil.copy(nab / "config" / "profiles.json", work / "config" / "profiles.json")
    (work / "config" / "thresholds.json").write_text("{}")
    for det in ("null", *PUBLISHED):
        dst = work / "results" / det / "realTweets"
        dst.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy(nab / "results" / det / "realTweets" / f"{det}_{f}", dst / f"{det}_{f}")


def run_nab(nab: Path, python: str, work: Path) -> dict[str, dict[str, float]]:
    final = work / "results" / "final_results.json"
    final.unlink(missing_ok=True)
    detectors = ",".join(("null", *OURS, *PUBLISHED))
    cmd = [python, str(nab / "run.py"), "--optimize", "--score", "--normalize"]
    cmd += ["--skipConfirmation", "-d", detectors]
    cmd += ["--dataDir", str(work / "data"), "--resultsDir", str(work / "results")]
    cmd += ["--windowsFile", str(work / "labels" / "windows.json")]
    cmd += ["-p", str(work / "config" / "profiles.json")]
    cmd += ["-t", str(work / "config" / "thresholds.json")]
    subprocess.run(cmd, check=True, cwd=nab)
    return json.loads(final.read_text())


def board(final: dict[str, dict[str, float]]) -> str:
    lines = ["| detector | " + " | ".join(PROFILES) + " |", "|---" * (len(PROFILES) + 1) + "|"]
    rows = [d for d in final if d != "null"]
    for det in sorted(rows, key=lambda d: -final[d]["standard"]):
        name = f"**{det}** (ours)" if det in OURS else det
        lines.append(f"| {name} | " + " | ".join(f"{final[det][p]:.2f}" for p in PROFILES) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/nab"))
    ap.add_argument("--nab", type=Path, default=None, help="a numenta/NAB checkout")
    ap.add_argument("--nab-python", default="python3", help="a python that can run NAB")
    a = ap.parse_args(argv)
    windows = json.loads((a.data / "windows.json").read_text())
    files = sorted(p.name for p in a.data.glob("Twitter_volume_*.csv"))
    if not files:
        raise SystemExit(f"no Twitter_volume_*.csv in {a.data}")
    work = a.out / "work"
    if work.exists():
        shutil.rmtree(work)
    cli = find_cli()

    per_file = ["| file | rows | replay s | incidents opened | windows with one opened |"]
    per_file.append("|---|---|---|---|---|")
    print("\n".join(per_file), flush=True)
    for f in files:
        data, service = read_data(a.data / f), service_of(f)
        scores_p, feed_p, took = replay(cli, data, service, a.out / "replay" / service)
        incidents = json.loads(feed_p.read_text())["outages"]
        scores = pl.read_csv(scores_p, schema_overrides={"region": pl.Utf8, "level": pl.Utf8})
        for det, frame in results(data, scores, incidents, windows[f]).items():
            dst = work / "results" / det / "realTweets"
            dst.mkdir(parents=True, exist_ok=True)
            frame.write_csv(dst / f"{det}_{f}")
        rows = opened_rows(data["epoch"], incidents)
        hits = window_hits(data["epoch"], rows, windows[f])
        per_file.append(
            f"| {f} | {data.height:,} | {took:.1f} | {len(rows)} | {hits} of {len(windows[f])} |"
        )
        print(per_file[-1], flush=True)
    per_file_md = "\n".join(per_file)
    if a.nab is None:
        print(f"result files in {work / 'results'}; pass --nab and --nab-python to score")
        return

    build_work(a.nab, a.data, files, windows, work)
    final = run_nab(a.nab.resolve(), a.nab_python, work.resolve())
    (a.out / "final_results.json").write_text(json.dumps(final, indent=1))
    text = "\n".join(
        [
            "# NAB realTweets: outagewatch and the published detectors",
            "",
            f"Files: {', '.join(files)}. NAB scorer, thresholds optimised per detector and "
            "profile on these files, normalised (null = 0, perfect = 100).",
            "",
            board(final),
            "",
            per_file_md,
            "",
        ]
    )
    (a.out / "nab.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
