"""`outagewatch replay` as a user runs it: formats, outputs, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from outagewatch.app.cli import cli
from outagewatch.app.replay import ScoresWriter, scores_sink
from tests.conftest import T0
from tests.scenario import background, to_csv

runner = CliRunner()


def write_all_formats(tmp: Path) -> dict[str, Path]:
    rows = background(T0, 26 * 60)
    surge_at = T0 + 26 * 3600 + 5
    rows += [
        {"ts": surge_at + i * 0.1, "service": "tinyapp", "region": "FR", "problem": "app",
         "reporter": f"s{i}"}
        for i in range(200)
    ]  # fmt: skip
    rows += [{"ts": surge_at + 3600, "service": "busy", "region": "US", "problem": "app",
              "reporter": "end"}]  # fmt: skip
    paths = {"csv": tmp / "r.csv", "ndjson": tmp / "r.ndjson", "parquet": tmp / "r.parquet"}
    paths["csv"].write_text(to_csv(rows))
    df = pl.DataFrame(rows)
    df.write_ndjson(paths["ndjson"])
    df.write_parquet(paths["parquet"])
    return paths


def test_every_format_gives_the_same_feed_and_scores(tmp_path: Path) -> None:
    feeds = {}
    for fmt, path in write_all_formats(tmp_path).items():
        feed, scores = tmp_path / f"{fmt}.json", tmp_path / f"{fmt}.csv"
        result = runner.invoke(
            cli, ["replay", str(path), "--feed", str(feed), "--scores", str(scores)]
        )
        assert result.exit_code == 0, result.output
        feeds[fmt] = json.loads(feed.read_text())["outages"]
        with scores.open() as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == [
                "ts", "service", "region", "count", "expected", "score", "level"
            ]  # fmt: skip
            rows = list(reader)
        levels = {r["level"] for r in rows}
        assert levels <= {"", "possible", "outage"} and "outage" in levels
        assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
        wide = [r for r in rows if r["service"] == "tinyapp" and r["region"] == ""]
        assert wide and max(int(r["count"]) for r in wide) == 200
    assert feeds["csv"] == feeds["ndjson"] == feeds["parquet"]
    tiny = [o for o in feeds["csv"] if o["service"] == "tinyapp" and o["region"] is None]
    assert len(tiny) == 1 and tiny[0]["level"] == "outage" and tiny[0]["state"] == "resolved"


def test_scores_as_parquet_hold_the_rows_of_the_csv(tmp_path: Path) -> None:
    """`--scores x.parquet` writes the same rows as the CSV, typed (ts a UTC timestamp)."""
    src = write_all_formats(tmp_path)["csv"]
    for name in ("s.csv", "s.parquet"):
        result = runner.invoke(cli, ["replay", str(src), "--scores", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    typed = pl.read_parquet(tmp_path / "s.parquet")
    assert typed.schema["ts"] == pl.Datetime("us", "UTC")
    assert typed.schema["count"] == pl.Int64
    text = pl.read_csv(
        tmp_path / "s.csv", schema_overrides={"region": pl.String, "level": pl.String}
    )
    as_text = typed.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert as_text.height == text.height > 0
    assert as_text.equals(text)


def test_coarser_buckets(tmp_path: Path) -> None:
    path = write_all_formats(tmp_path)["csv"]
    feed = tmp_path / "f.json"
    result = runner.invoke(cli, ["replay", str(path), "--bucket", "5m", "--feed", str(feed)])
    assert result.exit_code == 0, result.output
    tiny = [o for o in json.loads(feed.read_text())["outages"] if o["service"] == "tinyapp"]
    assert tiny and tiny[0]["started_at"].endswith(("00:00Z", "05:00Z"))


def test_bad_files_say_what_to_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,service\n2026-11-02T00:00:00Z,aws\nyesterday,aws\n")
    result = runner.invoke(cli, ["replay", str(bad)])
    assert result.exit_code == 2
    assert "row 2" in result.output and "ts" in result.output
    other = tmp_path / "r.txt"
    other.write_text("x")
    result = runner.invoke(cli, ["replay", str(other)])
    assert result.exit_code == 2 and ".csv" in result.output
    result = runner.invoke(cli, ["replay", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(cli, ["replay", str(bad), "--bucket", "7m"])
    assert result.exit_code == 2 and "1m" in result.output


def test_scores_written_behind_are_the_frames_in_order(tmp_path: Path) -> None:
    """The writer's thread writes every frame, in the order given, as the writer alone
    would have (the replay's scores file is byte for byte what it was)."""
    frames = [
        pl.DataFrame(
            {
                "ts": [T0 + 60.0 * k] * 3,
                "service": ["a", "b", "c"],
                "region": [None, "DE", None],
                "count": [k, 0, 2],
                "expected": [0.123456, 1.0, 2.5],
                "score": [0.5, 0.0, 1e-9],
                "level": ["", "possible", "outage"],
            }
        )
        for k in range(50)
    ]
    direct, behind = tmp_path / "direct.csv", tmp_path / "behind.csv"
    writer = ScoresWriter(direct.open("wb"))
    for f in frames:
        writer(f)
    writer.close()
    sink = scores_sink(behind)
    for f in frames:
        sink(f)
    sink.close()
    assert behind.read_bytes() == direct.read_bytes()
    assert len(behind.read_text().splitlines()) == 1 + 50 * 3


def test_a_failed_write_is_raised_in_the_callers_thread(tmp_path: Path) -> None:
    """A write that fails on the writer's thread is not lost: the next call (or the
    close) raises it, and nothing after it is written."""
    path = tmp_path / "s.csv"
    sink = scores_sink(path)
    sink(pl.DataFrame({"ts": [T0], "service": ["a"]}))  # no `count` column: the write fails
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        sink.close()
