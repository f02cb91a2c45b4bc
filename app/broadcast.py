"""One broadcast of incident events to every open SSE stream.

Each stream used to poll the event log four times a second: 1,000 open streams kept
a core at 99% and slowed every other route (/v1/services 3 ms -> 575 ms median).
Now the writer thread hands each batch of new events to the event loop once
(`call_soon_threadsafe`), and that one callback puts it on every open stream's
queue; a stream sleeps on its queue until then, or until its keepalive is due.

A stream that falls `QUEUE` batches behind is not allowed to hold memory: it is told
it lagged and catches up from the event log (memory tail or DuckDB), as a reconnect
with Last-Event-ID would. Streams are counted: past `max_streams`, `open` says no
and the route answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib

from outagewatch.app.events import Event, EventLog

QUEUE = 64  # batches a stream may fall behind before it catches up from the log


class Lagged(Exception):
    """This stream missed batches: read them from the event log."""


class Stream:
    def __init__(self, owner: Broadcast) -> None:
        self.owner = owner
        self.queue: asyncio.Queue[list[Event]] = asyncio.Queue(QUEUE)
        self.lagged = False
        self.closed = False

    def push(self, batch: list[Event]) -> None:
        if self.lagged:
            return
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.lagged = True

    async def next(self, timeout: float) -> list[Event] | None:
        """The next batch, None when `timeout` passes first; Lagged if it fell behind."""
        if self.lagged and self.queue.empty():
            self.lagged = False
            raise Lagged
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.owner.streams.discard(self)


class Broadcast:
    def __init__(self, events: EventLog, max_streams: int) -> None:
        self.max_streams = max_streams
        self.streams: set[Stream] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0  # batches broadcast (one loop callback each)
        self.pushed = 0  # batches put on streams' queues
        events.subscribers.append(self.publish)

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The loop the streams live on (set at start-up, None at shutdown)."""
        self.loop = loop

    def open(self) -> Stream | None:
        """A new stream, or None when `max_streams` are open. Call on the loop."""
        if len(self.streams) >= self.max_streams:
            return None
        stream = Stream(self)
        self.streams.add(stream)
        return stream

    def publish(self, batch: list[Event]) -> None:
        """Any thread (the writer): hand the batch to the loop, once."""
        loop = self.loop
        if loop is None or loop.is_closed() or not self.streams:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._fan_out, batch)

    def _fan_out(self, batch: list[Event]) -> None:
        self.batches += 1
        for stream in list(self.streams):
            stream.push(batch)
            self.pushed += 1
