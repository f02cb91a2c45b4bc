"""A worker: consumes its partitions of REPORTS and runs the embedded Pipeline on each.

Every partition is its own unit of state: a Pipeline and a DuckDB file
(`<data>/p<N>.duckdb`). Per fetched batch, the raw reports, closed buckets,
incidents, the pipeline snapshot and the last applied stream sequence are written
in ONE DuckDB transaction, and only then is the batch acknowledged. After a crash,
JetStream redelivers what was not acknowledged; messages with a sequence at or
below the stored one are skipped, so nothing is counted twice and nothing
acknowledged to a client is lost (it is in the R3 stream until a worker commits it).
Only an unbroken run of first deliveries is applied (DeliveryOrder): a delivery lost
with a dying server would otherwise be acknowledged unread by the next batch's ack.

Stream time of a partition is the newest server timestamp in it (reports and the
intake nodes' ticks). Each batch moves the pipeline with the one driver the server
and replay use (app/engine/drive.py), so a worker decides exactly what the server
and a replay of the same reports decide. A replacement worker takes a partition over
by opening the same DuckDB file (same host or shared disk) or, finding none, from the
restore set the partition's last worker copied to JetStream (app/broker/handover.py);
either way it then reads the stream again after the restored sequence.

A worker applies a partition only while it holds the partition's lease
(app/broker/lease.py); a second worker started for it waits as a standby and takes it
over, through the same restore, once the holder stops renewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import nats
import orjson
import polars as pl
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from outagewatch.app.broker import handover
from outagewatch.app.broker.catalog import KvCatalog
from outagewatch.app.broker.lease import Lease, owner_name
from outagewatch.app.broker.subjects import (
    INCIDENTS,
    REPORTS,
    TICK,
    Buckets,
    ensure_streams,
    incident_key,
    partition_filter,
)
from outagewatch.app.broker.windows import KvWindows
from outagewatch.app.catalog import providers_of, seed_services
from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.app.engine.restore import restore
from outagewatch.app.maintenance import Marks
from outagewatch.app.maintenance_windows import Window
from outagewatch.app.settings import Settings
from outagewatch.ingest.store import Store

log = logging.getLogger("outagewatch.worker")
SNAPSHOT, OFFSET = "pipeline", "offset"
COPY_TIMEOUT_S = 20.0  # one restore set's put to the object store
MESSAGE = {"ts": pl.Float64, "service": pl.String, "region": pl.String, "problem": pl.String,
           "reporter": pl.String, "network": pl.String}  # fmt: skip


def reports_of(
    messages: list[list[Any]], seqs: list[int] | None = None
) -> tuple[pl.DataFrame, float]:
    """A fetched batch ([ts, service, region, problem, reporter, network] each, in
    stream order; a message written before `network` was carried has five fields) as
    the reports it holds, each with its stream sequence if given (stored as `seq`),
    and its stream time: the newest server timestamp in it, ticks included (they move a
    quiet partition's clock)."""
    if any(len(m) < len(MESSAGE) for m in messages):
        messages = [m + [None] * (len(MESSAGE) - len(m)) for m in messages]
    frame = pl.DataFrame(messages, schema=MESSAGE, orient="row")
    now = float(frame["ts"].max())  # type: ignore[arg-type]
    seq = pl.Series(seqs, dtype=pl.Int64) if seqs is not None else pl.lit(None, pl.Int64)
    reports = frame.with_columns(seq=seq, count=pl.lit(1, pl.Int64))
    return reports.filter(pl.col("service") != TICK), now


class PartitionState:
    """One partition's pipeline and DuckDB file; restored as Runtime restores."""

    def __init__(
        self,
        partition: int,
        settings: Settings,
        windows: Callable[[], Sequence[Window]] = tuple,
        providers: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.partition = partition
        self.settings = settings
        self.windows = windows  # planned maintenance (the KV bucket's, app/broker/windows.py)
        path = None if settings.data is None else Path(settings.data) / f"p{partition}.duckdb"
        self.store = Store(path, settings.duckdb_memory_mb)
        self.pipeline = Pipeline(settings.pipeline_config(), self.store)
        # Who runs on whom: the catalog's (the KV bucket's over the bundled list, as
        # intake nodes know it; the worker tells its pipelines of every change). A
        # partition sees only its own services, so a declared provider counts where it
        # shares the dependant's partition (as the generic common cause does).
        known = providers_of(seed_services()) if providers is None else providers
        self.pipeline.set_providers(dict(known))
        self.seq = 0
        self.copied_at = 0.0  # stream time of the last restore set copied to JetStream
        self.since_copy = 0  # messages applied since

    @property
    def empty(self) -> bool:
        """No batch was ever committed here: a takeover on a host without the file."""
        return self.store.load_snapshot(OFFSET) is None

    def restore(self, restore_set: bytes | None = None) -> None:
        """Carry on from the file, after seeding an empty one with a restore set."""
        if restore_set is not None:
            self.store.seed(handover.unpack(restore_set)[1])
        # Incidents marked as planned maintenance, as the server marks them; the open
        # ones keep the marks they were given.
        self.pipeline.markers.append(Marks.restored(self.windows, self.store))
        restore(self.pipeline, self.store, SNAPSHOT)  # as the server restores
        offset = self.store.load_snapshot(OFFSET)
        if offset is not None:
            self.seq = int(offset[1])
        self.copied_at = self.pipeline.now

    def apply(
        self, messages: Iterable[tuple[int, bytes]], fence: Callable[[], bool] = lambda: True
    ) -> list[dict[str, Any]] | None:
        """Apply (stream sequence, payload) pairs; returns changed incidents, or None if
        every message had been applied already (a redelivery). `fence()` is asked right
        before the commit: False (the lease ran out meanwhile) rolls the batch back and
        raises LeaseLost; the pipeline's memory is then ahead of the file, so the state
        must be dropped."""
        fresh = [(seq, orjson.loads(data)) for seq, data in messages if seq > self.seq]
        if not fresh:
            return None  # committed before a crash: redelivered, never counted twice
        reports, now = reports_of([m for _, m in fresh], [seq for seq, _ in fresh])
        with self.store.transaction():
            changed = drive(self.pipeline, now, reports)  # as the server and replay do
            now = self.pipeline.now
            self.store.save_snapshot(SNAPSHOT, now, self.pipeline.snapshot())
            self.store.save_snapshot(OFFSET, now, str(fresh[-1][0]).encode())
            if not fence():
                raise LeaseLost(self.partition)
        self.seq = fresh[-1][0]
        self.since_copy += len(fresh)
        return changed

    def copy_due(self) -> bool:
        """Time to copy the restore set to JetStream (not every batch: it is bigger)."""
        every_s = self.settings.broker_snapshot_interval_s
        every_n = self.settings.broker_snapshot_messages
        if self.since_copy == 0:
            return False
        return bool(
            (every_s > 0 and self.pipeline.now - self.copied_at >= every_s)
            or (every_n > 0 and self.since_copy >= every_n)
        )

    def restore_set(self) -> bytes:
        """What `restore` needs on another host, as committed at `self.seq`."""
        # The published view's: it is the engine's state as of the last advance.
        tables = self.store.restore_set(
            self.pipeline.view.closed_until, self.settings.dedup_window_s
        )
        return handover.pack(self.seq, tables)

    def copied(self) -> None:
        self.copied_at, self.since_copy = self.pipeline.now, 0

    def postpone_copy(self) -> None:
        """A failed copy is tried again an interval later, not after every batch (each
        try may wait out COPY_TIMEOUT_S). The stream still holds every message after
        the last copy, so a takeover meanwhile only reads further."""
        self.copied_at, self.since_copy = self.pipeline.now, 1

    def close(self) -> None:
        self.store.checkpoint()
        self.store.close()


class Worker:
    def __init__(
        self,
        settings: Settings,
        servers: list[str],
        partitions: list[int],
        batch: int = 2000,
        fetch_timeout: float = 0.2,
    ) -> None:
        self.settings = settings
        self.servers = servers
        self.partitions = partitions
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.states: dict[int, PartitionState] = {}
        self.applied = 0  # messages applied (not skipped), for measurements
        self.resets = 0  # consumers replaced after a delivery went missing
        self.copies = 0  # restore sets copied to JetStream
        self.maintenance = KvWindows()
        self.catalog = KvCatalog(settings, now=0.0)  # read for who runs on whom only
        self.catalog.local.on_providers = self._providers_changed
        self.owner = owner_name()  # names this worker in the partitions' leases
        self.leases: dict[int, Lease] = {}
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def _providers_changed(self, providers: dict[str, tuple[str, ...]]) -> None:
        for state in self.states.values():
            state.pipeline.set_providers(providers)

    async def run(self) -> None:
        nc = await nats.connect(servers=self.servers, max_reconnect_attempts=-1)
        js = nc.jetstream()
        buckets = await ensure_streams(js, min(3, len(self.servers)))
        await self.maintenance.start(buckets.maintenance)
        await self.catalog.start(buckets.catalog)
        try:
            # Windows declared before start mark the incidents replayed at start too, and
            # declared providers count there as well.
            await asyncio.wait_for(self.maintenance.ready.wait(), 20.0)
            await asyncio.wait_for(self.catalog.ready.wait(), 20.0)
            await asyncio.gather(*(self._partition(js, buckets, p) for p in self.partitions))
        finally:
            await self.maintenance.stop()
            await self.catalog.stop()
            for state in self.states.values():
                with contextlib.suppress(Exception):  # never mask the error that stopped us
                    state.close()
            with contextlib.suppress(Exception):
                await nc.close()

    async def _partition(self, js: JetStreamContext, buckets: Buckets, p: int) -> None:
        """Partition p for as long as the worker runs: wait as a standby until its lease
        is ours, restore, apply while the lease holds. A lease lost (another worker took
        it while this one was paused or cut off) drops the state, whose memory may be
        ahead of its file, and the wait starts again."""
        lease = Lease(buckets.owners, p, self.owner, self.settings.broker_lease_s)
        self.leases[p] = lease
        while await self._standby(lease):
            renewing = asyncio.create_task(self._keep(lease))
            try:
                await self._start(js, buckets, p)
                await self._consume(js, buckets, p, lease)
            finally:
                renewing.cancel()
                state = self.states.pop(p, None)
                if state is not None:
                    await asyncio.to_thread(state.close)
            if self._stop.is_set():
                await lease.release()  # a standby need not wait the lease out
            else:
                log.warning("partition %d: lease lost, no longer applied here", p)

    async def _standby(self, lease: Lease) -> bool:
        """Until the lease is ours (True) or the worker stops (False)."""
        said = None
        while not self._stop.is_set():
            try:
                holder = await lease.try_take()
            except Exception as exc:  # no answer: try again
                log.warning("partition %d: lease: %r", lease.partition, exc)
                holder = said
            if holder is None:
                log.info("partition %d: lease taken by %s", lease.partition, self.owner)
                return True
            if holder != said:
                log.info("partition %d: standby, lease held by %s", lease.partition, holder)
                said = holder
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.broker_lease_renew_s)
        return False

    async def _keep(self, lease: Lease) -> None:
        """Renew every `broker_lease_renew_s` while the partition is applied here."""
        while await lease.renew():
            await asyncio.sleep(self.settings.broker_lease_renew_s)

    async def _start(self, js: JetStreamContext, buckets: Buckets, p: int) -> None:
        """Restore partition p from its file or, finding none, from its restore set."""
        state = PartitionState(
            p, self.settings, lambda: self.maintenance.windows, self.catalog.providers
        )
        self.states[p] = state
        found = None
        if state.empty:  # another host's partition: its last copy in JetStream
            found = await _retry(lambda: handover.fetch(buckets.partitions, p))
        await asyncio.to_thread(state.restore, found)
        if found is not None:
            log.info("partition %d restored from JetStream at sequence %d", p, state.seq)
        info = await _retry(lambda: js.stream_info(REPORTS))
        if state.seq > int(info.state.last_seq or 0):
            raise AheadOfStream(p, state.seq, int(info.state.last_seq or 0), found)
        # After a crash the commit may have outrun the publish: put open ones again.
        await _publish(js, buckets.incidents, state.store.open_incidents())

    async def _subscribe(self, js: JetStreamContext, p: int, old: Any = None) -> Any:
        """A fresh consumer for partition p whose cursor starts right after the stored
        sequence: the DuckDB file, not the consumer, is the truth. A consumer left
        behind (by a dead worker, or by this one before a delivery went missing) may
        hold delivered-but-unapplied messages that acking later ones (AckPolicy.ALL)
        would silently drop, so it is replaced, never reused."""
        if old is not None:
            with contextlib.suppress(Exception):
                await old.unsubscribe()
        await _retry(lambda: _delete_consumer(js, p))
        return await _retry(lambda: js.pull_subscribe(
            partition_filter(p),
            durable=f"p{p}",
            stream=REPORTS,
            config=ConsumerConfig(
                ack_policy=AckPolicy.ALL,  # acking a batch's last message acks it all
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.states[p].seq + 1,
                ack_wait=30.0,
                max_ack_pending=20 * self.batch,
            ),
        ))  # fmt: skip

    async def _consume(self, js: JetStreamContext, buckets: Buckets, p: int, lease: Lease) -> None:
        sub = await self._subscribe(js, p)
        try:
            await self._apply_fetched(js, buckets, p, lease, sub)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _apply_fetched(
        self, js: JetStreamContext, buckets: Buckets, p: int, lease: Lease, sub: Any
    ) -> None:
        state, kv = self.states[p], buckets.incidents
        order = DeliveryOrder()
        while not self._stop.is_set() and lease.held():
            try:
                msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
            except (TimeoutError, NatsTimeout):
                continue
            except Exception as exc:  # leader election, reconnect: try again shortly
                log.warning("partition %d fetch: %r", p, exc)
                await asyncio.sleep(0.2)
                continue
            if not lease.held():
                # Paused past the lease: these may be the new holder's deliveries (its
                # consumer has the same name); neither apply them nor replace its consumer.
                break
            kept = order.take([(m.metadata.sequence.consumer, m.metadata.num_delivered)
                               for m in msgs])  # fmt: skip
            if kept:
                pairs = [(m.metadata.sequence.stream, m.data) for m in msgs[:kept]]
                # Fencing: the lease is confirmed (compare-and-set) right before the
                # batch, and the commit itself checks it is still within its period; a
                # worker that lost it commits, publishes and acks nothing more.
                if not await lease.renew():
                    break
                # DuckDB and the detector are blocking: keep the event loop (acks, pings) free.
                before = state.seq
                try:
                    changed = await asyncio.to_thread(state.apply, pairs, lease.held)
                except LeaseLost:
                    break
                if not lease.held():
                    break
                if changed is not None:
                    self.applied += sum(1 for s, _ in pairs if s > before)
                    if changed:
                        await _publish(js, kv, changed)
                if not lease.held():  # acking another owner's consumer would drop its messages
                    break
                await _retry(msgs[kept - 1].ack)  # committed: the copy need not wait for it
                if state.copy_due() and lease.held():
                    await self._copy(buckets, state)
            if kept < len(msgs):
                # A delivery went missing (lost in transit when a server died) or came
                # again: what follows it may not be the next message of the partition.
                self.resets += 1
                log.warning("partition %d: delivery out of order, reading again after "
                            "stream sequence %d", p, state.seq)  # fmt: skip
                sub = await self._subscribe(js, p, old=sub)
                order = DeliveryOrder()

    async def _copy(self, buckets: Buckets, state: PartitionState) -> None:
        """The restore set to JetStream, after the batch is acknowledged."""
        try:
            blob = await asyncio.to_thread(state.restore_set)
            # Bounded: a slow object store (a leader election) must not hold the
            # partition's reading for long; the next batch tries again.
            await asyncio.wait_for(
                handover.put(buckets.partitions, state.partition, blob), COPY_TIMEOUT_S
            )
        except Exception as exc:
            log.warning("partition %d: restore set not copied: %r", state.partition, exc)
            state.postpone_copy()
            return
        state.copied()
        self.copies += 1


class LeaseLost(RuntimeError):
    """The partition's lease ran out before a batch committed: rolled back."""


class AheadOfStream(ValueError):
    """A partition's state names stream sequences the stream does not hold: REPORTS
    was deleted and made again. Carrying on would skip every new message up to there."""

    def __init__(self, p: int, seq: int, last: int, copy: bytes | None) -> None:
        where = f"the object p{p} in the object store 'partitions'" if copy else f"p{p}.duckdb"
        super().__init__(
            f"partition {p} was applied up to stream sequence {seq}, but stream REPORTS "
            f"ends at {last}: the stream was made again after {where} was written. "
            f"To start partition {p} afresh, delete that (and p{p}.duckdb, if any)."
        )


class DeliveryOrder:
    """Which deliveries of a fresh consumer may be applied: only an unbroken run of
    first deliveries (consumer sequence 1, 2, 3...). A consumer created to start after
    the stored sequence delivers the partition's messages in stream order, so such a
    run holds every message after the stored one, none skipped. A gap (a delivery lost
    with the server it went through) or a redelivery breaks the run, and the rest of
    the batch waits for a fresh consumer.

    >>> order = DeliveryOrder()
    >>> order.take([(1, 1), (2, 1)])  # (consumer sequence, times delivered)
    2
    >>> order.take([(4, 1), (5, 1)])  # delivery 3 never arrived
    0
    >>> DeliveryOrder().take([(1, 1), (2, 2), (3, 1)])  # 2 came again
    1
    """

    def __init__(self) -> None:
        self.next = 1

    def take(self, deliveries: list[tuple[int, int]]) -> int:
        """How many of these deliveries, from the first, continue the run."""
        kept = 0
        for consumer_seq, delivered in deliveries:
            if consumer_seq != self.next or delivered != 1:
                break
            self.next += 1
            kept += 1
        return kept


async def _delete_consumer(js: JetStreamContext, p: int) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(REPORTS, f"p{p}")


async def _publish(js: JetStreamContext, kv: Any, incidents: list[dict[str, Any]]) -> None:
    for inc in incidents:
        body = orjson.dumps(inc)
        version = f"{inc['id']}:{inc['state']}:{inc['level']}:{inc['total_reports']}"
        await _retry(
            lambda b=body, v=version, s=inc["service"]: js.publish(
                f"incidents.{s}", b, stream=INCIDENTS, headers={"Nats-Msg-Id": v}
            )
        )
        await _retry(lambda b=body, k=incident_key(inc): kv.put(k, b))


async def _retry(call: Any, attempts: int = 50) -> Any:
    for i in range(attempts):
        try:
            return await call()
        except Exception as exc:
            if i == attempts - 1:
                raise
            log.warning("retrying after %s", exc)
            await asyncio.sleep(0.2)
    return None
