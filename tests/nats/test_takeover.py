"""A worker takes a partition over on another host: an EMPTY data folder, the dead
worker's file out of reach. It restores the restore set the dead worker copied to
JetStream and reads the stream again after it, and ends exactly where a worker that
never stopped ends: the same reports counted, the same bucket counts, the same
incidents served by an intake node."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import nats
import pytest
from fastapi.testclient import TestClient

from outagewatch.app.broker import handover
from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.intake_node import create_intake_node
from outagewatch.app.broker.subjects import ensure_streams
from outagewatch.app.broker.worker import PartitionState
from outagewatch.app.engine.snapshot_format import unpack as unpack_snapshot
from outagewatch.app.maintenance_windows import Window
from outagewatch.ingest.store import Store
from tests.conftest import T0, settings
from tests.nats.conftest import Sent, drained, run, spawn_worker
from tests.nats.test_scale_out import wait_for
from tests.scenario import background

pytestmark = pytest.mark.nats
PARTITIONS = 2  # tinyapp (the outage) on 0, busy (steady traffic) on 1
END = T0 + 26 * 3600  # a day of history first: series may raise incidents after it
# Copies every 10 minutes of stream time, none on a message count.
EVERY = {"OUTAGEWATCH_BROKER_SNAPSHOT_INTERVAL_S": "600",
         "OUTAGEWATCH_BROKER_SNAPSHOT_MESSAGES": "0",
         "OUTAGEWATCH_PARTITIONS": str(PARTITIONS)}  # fmt: skip


def copy_in_jetstream(cluster: LocalCluster, p: int) -> tuple[int, dict[str, Any]] | None:
    """The partition's restore set as a replacement would find it: (sequence, tables)."""

    async def read() -> bytes | None:
        nc = await nats.connect(servers=cluster.urls)
        try:
            return await handover.fetch((await ensure_streams(nc.jetstream(), 3)).partitions, p)
        finally:
            await nc.close()

    blob = run(read())
    return None if blob is None else handover.unpack(blob)


def minute(sent: Sent, m: int, surge: int, repeat: tuple[str, ...] = ()) -> None:
    """Minute m after the history: `surge` tinyapp reports (regions IT and none), three
    busy ones, reports again from `repeat`, then a tick on every partition."""
    start = END + 60 * m
    rows = [{"ts": start + 3 * i + 1, "service": "tinyapp", "region": ["IT", None][i % 2],
             "problem": "login", "reporter": f"s{m}-{i}"} for i in range(surge)]  # fmt: skip
    rows += [{"ts": start + 20 * j + 2, "service": "busy", "region": "US", "problem": "app",
              "reporter": f"b{m}-{j}"} for j in range(3)]  # fmt: skip
    rows += [{"ts": start + 50 + i * 0.1, "service": "tinyapp", "region": "IT",
              "problem": "login", "reporter": who} for i, who in enumerate(repeat)]  # fmt: skip
    sent.reports(sorted(rows, key=lambda r: r["ts"]))
    sent.ticks(start + 59.5)


def stored(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_worker_takes_over_on_an_empty_data_folder_exactly(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    sent = Sent(cluster, PARTITIONS)
    parts = list(range(PARTITIONS))
    first = spawn_worker(cluster, tmp_path / "a", parts, **EVERY)
    replacement = None
    try:
        sent.reports(background(T0, 26 * 60))
        sent.ticks(END)
        drained(cluster.urls, PARTITIONS, 120)
        sent.cut()
        # The outage, a minute at a time, until the worker has copied a restore set
        # that holds the open incident and has committed more after it: killed there,
        # the replacement must redo committed work without counting it twice.
        copies: dict[int, tuple[int, dict[str, Any]] | None] = {}
        for m in range(40):
            minute(sent, m, surge=20)
            drained(cluster.urls, PARTITIONS, 60)
            sent.cut()
            copies = {p: copy_in_jetstream(cluster, p) for p in parts}
            held = copies[0] is not None and len(copies[0][1]["incidents"]) > 0
            if held and all(c is not None and c[0] < sent.last(p) for p, c in copies.items()):
                break
        else:
            pytest.fail(f"no restore set with an open incident: see {tmp_path / 'a.log'}")
        assert first.poll() is None, f"worker died: see {tmp_path / 'a.log'}"
        first.kill()  # SIGKILL: no goodbye, its file stays behind on "another host"
        first.wait()
        at = {p: c[0] for p, c in copies.items() if c is not None}
        # Meanwhile the outage goes on, and people who reported before the copy report
        # again (within the hour: not counted again), then it quietens down.
        again = tuple(f"s0-{i}" for i in range(0, 20, 2))
        for later in range(m + 1, m + 6):
            minute(sent, later, surge=20, repeat=again)
            sent.cut()
        for later in range(m + 6, m + 30):
            minute(sent, later, surge=0)
            sent.cut()  # a minute at a time for the reference, as a live worker reads
        replacement = spawn_worker(cluster, tmp_path / "b", parts, **EVERY)
        drained(cluster.urls, PARTITIONS, 120)
        assert replacement.poll() is None, f"worker died: see {tmp_path / 'b.log'}"

        reference, states = uninterrupted(sent)
        node = create_intake_node(settings(None, broker=",".join(cluster.urls),
                                           partitions=PARTITIONS))  # fmt: skip
        with TestClient(node) as client:
            expected = sorted(reference.values(), key=lambda i: i["id"])

            def served() -> list[dict[str, Any]]:
                answer = client.get("/v1/outages", params={"state": "all", "limit": 500})
                return sorted(answer.json()["outages"], key=lambda i: i["id"])

            got = wait_for(served, len(expected))
            # The node's answer is the uninterrupted run's, incident for incident, the
            # one open across the copy and the kill included (no older state left in KV).
            assert got == expected
            held_open = copies[0][1]["incidents"]  # type: ignore[index]
            assert set(held_open["id"]) <= reference.keys()
    finally:
        for proc in (first, replacement):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)

    for p in parts:
        old = stored(tmp_path / "a" / f"p{p}.duckdb", "SELECT seq, counted FROM reports")
        new = stored(tmp_path / "b" / f"p{p}.duckdb", "SELECT seq, counted FROM reports")
        ref = dict(states[p].store.query("SELECT seq, counted FROM reports"))
        before = [s for s in sent.report_seqs(p) if s <= at[p]]
        after = [s for s in sent.report_seqs(p) if s > at[p]]
        # Every acknowledged report once: up to the copy in the dead worker's file, after
        # it in the replacement's (which also holds what the copy carried over) ...
        assert sorted(s for s, _ in old if s <= at[p]) == before
        assert sorted(s for s, _ in new if s > at[p]) == after
        # (what it holds from before the copy is what the copy carried: restored, not
        # read from the start of the stream)
        copy = copies[p]
        assert copy is not None
        carried = sorted(copy[1]["reports"]["seq"])
        assert sorted(s for s, _ in new if s <= at[p]) == carried
        assert set(carried) < set(before)
        # ... and counted or not exactly as by a worker that never stopped.
        assert {s: c for s, c in old if s <= at[p]} == {s: ref[s] for s in before}
        assert {s: c for s, c in new if s > at[p]} == {s: ref[s] for s in after}
        # Bucket counts from the copy's first open bucket on, as uninterrupted.
        names = copy[1]["snapshots"]
        pipeline = names.filter(names["name"] == "pipeline")["data"][0]
        since = unpack_snapshot(pipeline)[0]["closed_until"]
        buckets = (
            "SELECT epoch(ts), service, region, count, expected, score, level "
            f"FROM series_buckets WHERE epoch(ts) >= {since} ORDER BY ALL"
        )
        assert stored(tmp_path / "b" / f"p{p}.duckdb", buckets) == states[p].store.query(buckets)
    # The reporters who came again after the takeover were remembered from before it.
    assert sum(not c for _, c in stored(tmp_path / "b" / "p0.duckdb",
                                        "SELECT seq, counted FROM reports")) >= 10  # fmt: skip


def uninterrupted(
    sent: Sent,
    windows: tuple[Window, ...] = (),
    providers: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[PartitionState]]:
    """The same messages through partitions that never stop (in memory), in batches
    ending at `sent.cuts`, with these maintenance windows and declared providers (None:
    the bundled list's): every incident's final state by id, and the partitions."""
    out: dict[str, dict[str, Any]] = {}
    states = []
    for p in range(PARTITIONS):
        config = settings(None, partitions=PARTITIONS)
        state = PartitionState(p, config, lambda: windows, providers)
        state.restore()
        for start, end in itertools.pairwise([0, *sent.cuts]):
            state.apply([(seq, data) for seq, q, data in sent.messages[start:end] if q == p])
        items, _ = state.store.incidents(state=None, limit=10_000)
        out.update({inc["id"]: inc for inc in items})
        states.append(state)
    return out, states


def test_a_copy_from_a_stream_made_again_stops_the_worker_with_a_clear_message(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    """A copy naming sequences the stream does not hold (REPORTS deleted and made
    again): starting from it would skip every new message up to there."""
    sent = Sent(cluster, PARTITIONS)
    sent.reports([{"ts": END, "service": "tinyapp", "region": "IT", "reporter": "r1"}])
    left = Store(None)  # a partition applied up to sequence 10,000 of the old stream
    left.save_snapshot("offset", END, b"10000")

    async def leave_copy() -> None:
        nc = await nats.connect(servers=cluster.urls)
        objects = (await ensure_streams(nc.jetstream(), 3)).partitions
        await handover.put(objects, 0, handover.pack(10_000, left.restore_set(None, 3600)))
        await nc.close()

    run(leave_copy())
    proc = spawn_worker(cluster, tmp_path / "w", [0], OUTAGEWATCH_PARTITIONS=str(PARTITIONS))
    assert proc.wait(60) == 2
    said = " ".join((tmp_path / "w.log").read_text().split())
    assert "cannot start: partition 0 was applied up to stream sequence 10000" in said
    assert f"stream REPORTS ends at {sent.last(0)}" in said
