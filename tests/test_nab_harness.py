"""The NAB harness's conversions on a tiny synthetic series: no NAB, no network, quick
(not marked slow)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from benchmarks.accuracy import nab

# 12 rows, every 5 minutes at :x2:53 / :x7:53 like NAB realTweets
STAMPS = [f"2015-03-01 10:{m:02d}:53" for m in range(2, 60, 5)]
VALUES = [3, 4, 2, 5, 3, 40, 60, 4, 3, 2, 4, 3]
WINDOWS = [["2015-03-01 10:27:53.000000", "2015-03-01 10:37:53.000000"]]


def _data(tmp_path: Path) -> pl.DataFrame:
    src = tmp_path / "Twitter_volume_XYZ.csv"
    pl.DataFrame({"timestamp": STAMPS, "value": VALUES}).write_csv(src)
    return nab.read_data(src)


def test_replay_file(tmp_path: Path) -> None:
    data = _data(tmp_path)
    assert nab.service_of("Twitter_volume_XYZ.csv") == "xyz"
    rep = nab.to_replay(data, "xyz")
    assert rep.columns == ["ts", "service", "count"]
    assert rep["ts"][0] == "2015-03-01T10:02:53Z"
    assert rep["ts"][-1] == "2015-03-01T10:57:53Z"
    assert rep["service"].unique().to_list() == ["xyz"]
    assert rep["count"].to_list() == VALUES


def test_result_files(tmp_path: Path) -> None:
    data = _data(tmp_path)
    # a --scores CSV: bucket starts, service-wide rows and a regional row to ignore;
    # the first bucket is missing (no score yet) and one score is out of range
    scores = pl.DataFrame(
        {
            "ts": [f"2015-03-01T10:{m:02d}:00Z" for m in range(5, 60, 5)]
            + ["2015-03-01T10:25:00Z"],
            "service": ["xyz"] * 12,
            "region": [None] * 11 + ["DE"],
            "count": [0] * 12,
            "expected": [1.0] * 12,
            "score": [0.1, 0.2, 0.1, 0.3, 0.9, 1.0, 0.2, 0.1, 0.0, 0.1, 1.5, 0.77],
            "level": [None] * 12,
        }
    )
    incidents = [
        # opened after the 10:25 bucket closed: belongs to the row at 10:27:53
        {"region": None, "opened_at": "2015-03-01T10:30:10Z"},
        # exactly on a row's timestamp
        {"region": None, "opened_at": "2015-03-01T10:47:53Z"},
        {"region": "DE", "opened_at": "2015-03-01T10:12:10Z"},  # regional: not ours
    ]
    out = nab.results(data, scores, incidents, WINDOWS)
    assert set(out) == {"outagewatch", "outagewatchIncidents", "outagewatchOpenings"}
    for frame in out.values():
        assert frame.columns == ["timestamp", "value", "anomaly_score", "label"]
        assert frame.height == len(STAMPS)
        assert frame["timestamp"].to_list() == STAMPS
        assert frame["value"].to_list() == VALUES
        assert frame["anomaly_score"].is_between(0.0, 1.0).all()
        # inside the window, both ends inclusive: 10:27:53, 10:32:53, 10:37:53
        assert frame["label"].to_list() == [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]

    per_bucket = out["outagewatch"]["anomaly_score"].to_list()
    assert per_bucket[0] == 0.0  # 10:02:53 is in the 10:00 bucket, not scored
    assert per_bucket[1] == 0.1  # 10:07:53 -> 10:05
    assert per_bucket[5] == 0.9  # 10:27:53 -> 10:25 (service-wide, not the DE row)
    assert per_bucket[-1] == 1.0  # 1.5 clipped

    opened = out["outagewatchIncidents"]["anomaly_score"].to_list()
    assert [i for i, v in enumerate(opened) if v] == [5, 9]
    # ranked openings: the score of the last bucket closed when each one opened
    # (10:30:10 -> the 10:25 bucket; 10:47:53 -> the 10:40 bucket), nothing elsewhere
    ranked = out["outagewatchOpenings"]["anomaly_score"].to_list()
    assert {i: v for i, v in enumerate(ranked) if v} == {5: 0.9, 9: 0.1}
    rows = nab.opened_rows(data["epoch"], incidents)
    assert nab.window_hits(data["epoch"], rows, WINDOWS) == 1


def test_board_sorts_by_standard() -> None:
    final = {
        "null": {p: 0.0 for p in nab.PROFILES},
        "numenta": dict(zip(nab.PROFILES, (78.1, 70.0, 80.0), strict=True)),
        "outagewatch": dict(zip(nab.PROFILES, (10.0, 1.0, 20.0), strict=True)),
    }
    lines = nab.board(final).splitlines()
    assert lines[2].startswith("| numenta | 78.10")
    assert lines[3].startswith("| **outagewatch** (ours) | 10.00 | 1.00 | 20.00")
    assert len(lines) == 4
