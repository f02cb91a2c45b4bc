"""The per-network cap counts alike one report at a time (the embedded server's intake,
app/intake.py) and in a NATS worker's batches (the pipeline's `judge` on reports that
carry their network): however a partition's reports are batched, the same ones count."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from outagewatch.app.engine.config import PipelineConfig
from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.ingest.dedup import Dedup
from outagewatch.ingest.limits import PrefixCap
from outagewatch.ingest.store import Store

CAP, WINDOW = 2, 3600.0

report = st.tuples(
    st.sampled_from(["n1", "n2", "n3", None]),  # network (None: carried by no message)
    st.sampled_from(["aws", "tinyapp"]),
    st.sampled_from([f"r{i}" for i in range(6)]),
    st.floats(0, 900),  # seconds after the previous report
)


def one_at_a_time(rows: list[tuple[str | None, str, str, float]]) -> list[bool]:
    """As app/intake.py decides each report: the cap's `allows`, dedup's verdict, and
    `note` for one that counts."""
    cap, dedup, out = PrefixCap(CAP, WINDOW), Dedup(WINDOW), []
    for net, service, reporter, ts in rows:
        allow = net is None or cap.allows(net, service, ts)
        counted = dedup.check(reporter, service, ts) and allow
        if counted and net is not None:
            cap.note(net, service, ts)
        out.append(counted)
    return out


@settings(deadline=None, max_examples=150)  # a pipeline per example
@given(st.lists(report, max_size=60), st.lists(st.integers(0, 60), max_size=6))
@example(
    reports=[("n1", "aws", "r0", 780.8424979435027), ("n1", "aws", "r1", 0.0),
             (None, "tinyapp", "r5", 900.0), ("n1", "aws", "r2", 900.0),
             (None, "tinyapp", "r5", 900.0), ("n1", "aws", "r3", 900.0)],
    cuts=[],
)  # fmt: skip
def test_batches_count_as_one_report_at_a_time(
    reports: list[tuple[str | None, str, str, float]], cuts: list[int]
) -> None:
    times = list(itertools.accumulate(gap for *_, gap in reports))
    rows = [(net, svc, who, ts) for (net, svc, who, _), ts in zip(reports, times, strict=True)]
    pipeline = Pipeline(PipelineConfig(prefix_cap=CAP, dedup_window_s=WINDOW), Store(None))
    judged: list[bool] = []
    for start, end in itertools.pairwise([0, *sorted(c for c in cuts if c < len(rows)), len(rows)]):
        part = rows[start:end]
        frame = pl.DataFrame(
            {"ts": [r[3] for r in part], "service": [r[1] for r in part],
             "reporter": [r[2] for r in part], "network": [r[0] for r in part]},
            schema={"ts": pl.Float64, "service": pl.String, "reporter": pl.String,
                    "network": pl.String},
        )  # fmt: skip
        judged += pipeline.judge(frame)["counted"].to_list()
    assert judged == one_at_a_time(rows)
    # One network never counts more than the cap's long-run share for one service.
    for net, svc in itertools.product(["n1", "n2", "n3"], ["aws", "tinyapp"]):
        mine = [
            ts for (n, s, _, ts), c in zip(rows, judged, strict=True) if c and (n, s) == (net, svc)
        ]
        # Exact in real numbers; the times and the cap's arrivals are float sums, so a
        # report an ulp inside `a + WINDOW` can be the 2*CAP-th (seen: 4.5e-13 s).
        edge = WINDOW - 1e-6
        assert all(sum(1 for t in mine if a <= t < a + edge) <= 2 * CAP - 1 for a in mine)


@settings(deadline=None, max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["n1", "n2", None]),
            st.sampled_from(["aws", "tinyapp"]),
            # out of order, across generations; on a grid too, where a network's next
            # slot falls exactly on a report
            st.one_of(st.floats(0, 3 * WINDOW), st.integers(0, 36).map(lambda k: k * 300.0)),
            st.booleans(),  # dedup's verdict
        ),
        max_size=80,
    ),
    st.integers(1, 5),
    st.lists(st.integers(0, 80), max_size=4),
)
# The next slot falls exactly on the next report: in a later batch, and in the same one.
@example(rows=[("n1", "aws", 0.0, True), ("n1", "aws", WINDOW, True)], cap_n=1, cuts=[1])
@example(rows=[("n1", "aws", 0.0, True), ("n1", "aws", WINDOW, True)], cap_n=1, cuts=[])
def test_batches_admit_and_remember_as_each_report_in_turn(
    rows: list[tuple[str | None, str, float, bool]], cap_n: int, cuts: list[int]
) -> None:
    """`admit_many` against the cap's own one-report calls: the same verdicts, and the
    same memory after every batch (what the next one is judged against)."""
    batched, single = PrefixCap(cap_n, WINDOW), PrefixCap(cap_n, WINDOW)
    for start, end in itertools.pairwise([0, *sorted(c for c in cuts if c < len(rows)), len(rows)]):
        part = rows[start:end]
        expected = []
        for net, service, ts, verdict in part:
            allow = net is None or single.allows(net, service, ts)
            counted = verdict and allow
            if counted and net is not None:
                single.note(net, service, ts)
            expected.append(counted)
        nets, services, times, verdicts = ([r[i] for r in part] for i in range(4))
        assert batched.admit_many(nets, services, times, verdicts).tolist() == expected
        mine, theirs = batched._tat, single._tat
        assert (mine._cur, mine._prev, mine._start) == (theirs._cur, theirs._prev, theirs._start)
