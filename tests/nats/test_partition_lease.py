"""One worker applies a partition at a time, across hosts: the partition's lease in
the KV bucket `owners`.

Two worker processes started for the same partitions: one applies, the other waits as
a standby and takes over (through the restore from JetStream) when the holder is
SIGKILLed; every acknowledged report is stored once and counted once. A holder paused
(SIGSTOP) past its lease commits nothing after it wakes up. The lease itself, on the
real KV bucket with hand-driven monotonic clocks: never two holders at once.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import nats
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from nats.js.errors import KeyNotFoundError

from outagewatch.app.broker.cluster import LocalCluster
from outagewatch.app.broker.lease import HOLD, Lease, holder_of
from outagewatch.app.broker.subjects import encode_report, ensure_streams
from outagewatch.app.broker.worker import LeaseLost, PartitionState
from tests.conftest import T0, settings
from tests.nats.conftest import Sent, drained, run, spawn_worker, until
from tests.nats.test_takeover import PARTITIONS, copy_in_jetstream, stored, uninterrupted

pytestmark = pytest.mark.nats
PARTS = list(range(PARTITIONS))  # tinyapp on 0, busy on 1
# Short leases keep the test quick; a restore set after every batch makes the point a
# takeover restores from definite.
SHORT = {"OUTAGEWATCH_BROKER_LEASE_S": "2", "OUTAGEWATCH_BROKER_LEASE_RENEW_S": "0.4",
         "OUTAGEWATCH_BROKER_SNAPSHOT_INTERVAL_S": "0",
         "OUTAGEWATCH_BROKER_SNAPSHOT_MESSAGES": "1",
         "OUTAGEWATCH_PARTITIONS": str(PARTITIONS)}  # fmt: skip


class Clock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def owners(cluster: LocalCluster) -> Any:
    nc = await nats.connect(servers=cluster.urls)
    return nc, (await ensure_streams(nc.jetstream(), 3)).owners


def holders(cluster: LocalCluster) -> dict[int, str]:
    """Who holds each partition's lease, by the bucket ("" for nobody)."""

    async def read() -> dict[int, str]:
        nc, kv = await owners(cluster)
        out = {}
        try:
            for p in PARTS:
                try:
                    out[p] = holder_of((await kv.get(f"p{p}")).value)
                except KeyNotFoundError:
                    out[p] = ""
        finally:
            await nc.close()
        return out

    return run(read())  # type: ignore[no-any-return]


def held_by(cluster: LocalCluster, proc: subprocess.Popen[bytes]) -> bool:
    return all(h.split(":")[1:2] == [str(proc.pid)] for h in holders(cluster).values())


def minute(sent: Sent, m: int, people: list[str]) -> None:
    """One report from each of `people` on both services, in minute m."""
    rows = [{"ts": T0 + 60 * m + i, "service": service, "region": "IT", "problem": "login",
             "reporter": who} for i, (who, service) in
            enumerate(itertools.product(people, ["tinyapp", "busy"]))]  # fmt: skip
    sent.reports(rows)


def copied_up_to_the_end(cluster: LocalCluster, sent: Sent) -> dict[int, int]:
    """Wait until each partition's newest restore set holds its last message."""

    def at() -> dict[int, int]:
        return {p: c[0] if (c := copy_in_jetstream(cluster, p)) else 0 for p in PARTS}

    assert until(lambda: all(at()[p] == sent.last(p) for p in PARTS), 30)
    return at()


def seqs(path: Path) -> dict[int, bool]:
    """A partition file's reports: stream sequence -> counted."""
    rows = stored(path, "SELECT seq, counted FROM reports")
    assert len(rows) == len({s for s, _ in rows}), "a report stored twice"
    return dict(rows)


def start_pair(cluster: LocalCluster, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """Worker a, holding both partitions, then worker b for the same ones, a standby."""
    a = spawn_worker(cluster, tmp_path / "a", PARTS, **SHORT)
    procs = [a]
    assert until(lambda: held_by(cluster, a), 60), f"no lease taken: see {tmp_path / 'a.log'}"
    procs.append(spawn_worker(cluster, tmp_path / "b", PARTS, **SHORT))
    log_b = tmp_path / "b.log"
    assert until(lambda: log_b.exists() and log_b.read_text().count("standby") >= 2, 60)
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
    for proc in procs:
        proc.wait(30)


def check_once(tmp_path: Path, sent: Sent, at: dict[int, int]) -> None:
    """Each acknowledged report stored once: up to `at` in a's file, after it in b's
    (which holds only what the restore set carried from before), and counted or not as
    by one worker that never stopped."""
    sent.cut()  # the reference reads everything (counting does not depend on batches)
    _, states = uninterrupted(sent)
    for p in PARTS:
        old, new = seqs(tmp_path / "a" / f"p{p}.duckdb"), seqs(tmp_path / "b" / f"p{p}.duckdb")
        ref = dict(states[p].store.query("SELECT seq, counted FROM reports"))
        before = [s for s in sent.report_seqs(p) if s <= at[p]]
        after = [s for s in sent.report_seqs(p) if s > at[p]]
        assert sorted(old) == before  # nothing committed by a after it lost the lease
        assert sorted(s for s in new if s > at[p]) == after
        assert {s: old[s] for s in before} == {s: ref[s] for s in before}
        assert {s: new[s] for s in after} == {s: ref[s] for s in after}
        assert not all(ref[s] for s in after)  # people came again: not counted twice


def test_two_workers_for_the_same_partitions_apply_them_once_and_hand_over(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    sent = Sent(cluster, PARTITIONS)
    procs = start_pair(cluster, tmp_path)
    a, b = procs
    try:
        for m in range(3):
            minute(sent, m, [f"r{m}-{i}" for i in range(5)])
        drained(cluster.urls, PARTITIONS, 60)
        at = copied_up_to_the_end(cluster, sent)
        # The standby opened nothing: every report is in a's files only.
        assert not list((tmp_path / "b").glob("*.duckdb"))
        a.kill()  # SIGKILL: no goodbye, the lease stays until it runs out
        a.wait()
        for m in range(3, 6):  # new people, and the first minute's again
            minute(sent, m, [f"r{m}-{i}" for i in range(5)] + ["r0-0", "r0-1"])
        drained(cluster.urls, PARTITIONS, 60)
        assert held_by(cluster, b)
        assert b.poll() is None, f"worker died: see {tmp_path / 'b.log'}"
    finally:
        stop(procs)
    check_once(tmp_path, sent, at)


def test_a_holder_paused_past_its_lease_commits_nothing_after_waking(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    sent = Sent(cluster, PARTITIONS)
    procs = start_pair(cluster, tmp_path)
    a, b = procs
    try:
        minute(sent, 0, [f"r0-{i}" for i in range(5)])
        drained(cluster.urls, PARTITIONS, 60)
        at = copied_up_to_the_end(cluster, sent)
        os.kill(a.pid, signal.SIGSTOP)  # a long pause: it neither renews nor knows
        minute(sent, 1, [f"r1-{i}" for i in range(5)] + ["r0-0"])
        assert until(lambda: held_by(cluster, b), 30)
        drained(cluster.urls, PARTITIONS, 60)
        os.kill(a.pid, signal.SIGCONT)  # wakes up holding what it fetched before
        minute(sent, 2, [f"r2-{i}" for i in range(5)] + ["r0-1"])
        log_a = tmp_path / "a.log"
        assert until(lambda: log_a.read_text().count("lease lost") >= 2, 30)
        drained(cluster.urls, PARTITIONS, 60)
        assert held_by(cluster, b)
        assert a.poll() is None and b.poll() is None
    finally:
        stop(procs)
    check_once(tmp_path, sent, at)


@hsettings(max_examples=30, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(["take", "renew", "release", "wait"])),
        max_size=25,
    )
)
def test_never_two_holders_at_once(cluster: LocalCluster, steps: list[tuple[int, str]]) -> None:
    """Three workers on one key, their monotonic clocks moving alike in steps of a
    fifth of the lease: whatever each does, at most one believes it holds the lease, and
    the bucket names whoever does."""
    key = next(KEYS)

    async def play() -> None:
        nc, kv = await owners(cluster)
        clock = Clock()
        leases = [Lease(kv, key, f"w{i}", 5.0, clock) for i in range(3)]
        try:
            for who, step in steps:
                lease = leases[who]
                if step == "take":
                    await lease.try_take()
                elif step == "renew":
                    await lease.renew()
                elif step == "release":
                    await lease.release()
                else:
                    clock.t += 1.0
                holding = [x for x in leases if x.held()]
                assert len(holding) <= 1
                if holding:
                    assert holder_of((await kv.get(f"p{key}")).value) == holding[0].owner
        finally:
            await nc.close()

    run(play())


KEYS = itertools.count(100)  # a fresh key per example


def test_a_stale_lease_is_taken_over_and_its_holder_told(cluster: LocalCluster) -> None:
    async def play() -> None:
        nc, kv = await owners(cluster)
        ca, cb = Clock(), Clock()  # two hosts' clocks, not agreeing on the time
        cb.t = 5.0
        a, b = Lease(kv, 0, "a", 2.0, ca), Lease(kv, 0, "b", 2.0, cb)
        try:
            assert await a.try_take() is None and a.held()
            assert await b.try_take() == "a"  # a's revision first seen now
            cb.t += 1.9
            assert await b.try_take() == "a"  # not yet a lease period
            assert await a.renew()  # a new revision: b's wait starts again
            cb.t += 1.9
            assert await b.try_take() == "a"
            cb.t += 2.0
            assert await b.try_take() is None and b.held()
            # a's clock stood still (a paused host): by it the lease is still a's, but
            # the compare-and-set of its next renewal, or of the check before a commit,
            # finds the revision moved on.
            assert a.held()
            assert not await a.renew() and not a.held()
            assert await a.try_take() == "b"
            # By its own clock alone, a holder stops trusting its lease before a
            # standby (whose wait starts after the last renewal) may take it.
            e = Lease(kv, 2, "e", 2.0, ca)
            assert await e.try_take() is None
            ca.t += HOLD * 2.0 - 0.01
            assert e.held()
            ca.t += 0.01
            assert not e.held()
            await b.release()  # a clean stop: taken at once
            assert await a.try_take() is None
            # Both at once on a free key: one wins.
            c, d = Lease(kv, 1, "c", 2.0, ca), Lease(kv, 1, "d", 2.0, cb)
            got = await asyncio.gather(c.try_take(), d.try_take())
            assert got.count(None) == 1
            assert c.held() != d.held()
        finally:
            await nc.close()

    run(play())


async def pair(cluster: LocalCluster) -> tuple[Any, Clock, Lease, Lease]:
    """Workers "a" and "b" on a fresh key, sharing one clock, with a 5 s lease."""
    nc, kv = await owners(cluster)
    clock = Clock()
    key = next(KEYS)
    return nc, clock, Lease(kv, key, "a", 5.0, clock), Lease(kv, key, "b", 5.0, clock)


def test_a_released_lease_is_taken_at_once_every_time(cluster: LocalCluster) -> None:
    """Taking a released key is a create over its delete marker, which reads the key
    back from whichever replica answers: one that has not seen the marker yet must not
    turn a free lease into an error, or into a lost take."""

    async def play() -> None:
        nc, _, a, b = await pair(cluster)
        try:
            for i in range(100):
                taker, other = (a, b) if i % 2 == 0 else (b, a)
                assert await taker.try_take() is None and taker.held()
                assert await other.try_take() == taker.owner
                await taker.release()
                assert not taker.held()
        finally:
            await nc.close()

    run(play())


def test_a_lease_that_ran_out_unanswered_is_taken_back_by_its_holder(
    cluster: LocalCluster,
) -> None:
    """A holder whose renewals went unanswered past its lease (a leader election)
    stops applying; if no standby took the key meanwhile, the key still names it, so
    its next try takes it back at once, without waiting a lease period."""

    async def play() -> None:
        nc, clock, a, b = await pair(cluster)
        try:
            assert await a.try_take() is None
            assert await b.try_take() == "a"  # a standby has seen a's revision
            clock.t += HOLD * 5.0  # no renewal got through while the lease lasted
            assert not a.held()
            assert not await a.renew()  # given up: a stops applying
            assert await a.try_take() is None and a.held()  # the key still names a
            assert await b.try_take() == "a"  # and the standby's wait starts again
            clock.t += 5.0 - 0.01
            assert await b.try_take() == "a"
        finally:
            await nc.close()

    run(play())


def test_a_batch_whose_lease_ran_out_before_its_commit_is_rolled_back(tmp_path: Path) -> None:
    """The fence the commit asks: a worker paused inside a batch past its lease (so a
    standby may have taken over) commits nothing of it."""
    state = PartitionState(0, settings(tmp_path, partitions=1))
    state.restore()

    def batch(first: int) -> list[tuple[int, bytes]]:
        return [(seq, encode_report(T0 + seq, "aws", "IT", None, f"r{seq}"))
                for seq in range(first, first + 3)]  # fmt: skip

    assert state.apply(batch(1), lambda: True) is not None
    with pytest.raises(LeaseLost):
        state.apply(batch(4), lambda: False)
    state.close()
    assert sorted(seqs(tmp_path / "p0.duckdb")) == [1, 2, 3]
    assert stored(tmp_path / "p0.duckdb", "SELECT data FROM snapshots WHERE name = 'offset'") == [
        (b"3",)
    ]
