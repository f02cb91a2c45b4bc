"""The write-ahead log: a 202 means the report is on disk, and only then is it counted.

Callers hand the log entries (the JSON of their records, without sequence numbers, and
what to do once they are durable). A committer thread takes the current group, numbers
its records, writes them to an append-only segment followed by a commit line, fsyncs,
and only then applies each entry in sequence order (the pipeline buffers and counts it)
and wakes every request of the group at once (one future per group and event loop, not
per report). A group that cannot be written is not applied, its numbers are given back
and its requests fail (503): a sequence number is never skipped, and nothing is counted
that was not logged.

Segment format: a header line `{"v":2}`, then groups: records `[seq, ...]`, one a
line, and a commit line `{"c": last_seq}`. Records are replayed only when their
group's commit line is on disk, so the torn tail of a failed write is never replayed.
Segments written before commit lines existed (no header) are read record by record.
Each record's sequence number is stored with the report in DuckDB; on start, records
above the highest contiguous stored sequence that DuckDB does not hold are replayed,
and segments are deleted only below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SEGMENT_BYTES = 64 << 20
HEADER = b'{"v":2}\n'
log = logging.getLogger("outagewatch")


class WalError(RuntimeError):
    """The log cannot be written: intake must stop acknowledging (503)."""


@dataclass
class Entry:
    """Records to log (each the JSON of a record without its leading sequence number and
    without the brackets) and what to do, in sequence order, once they are durable:
    `apply(first_seq)` returns the entry's result for the request that waits on it.
    `note`, JSON, is logged after the group's commit line and takes no number: what a
    caller must find again on replay about records logged earlier (an import's answer)."""

    rests: list[bytes]
    apply: Callable[[int], Any]
    note: bytes | None = None


class WriteAheadLog:
    def __init__(self, directory: Path, group_ms: float = 0.0, fsync: bool = True) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.group_s = group_ms / 1000
        self.fsync = fsync
        self.error: str | None = None
        self._error_at = 0.0
        self._lock = threading.Lock()
        self._group: list[Entry] = []
        # One future per event loop per group: every request of the group awaits it, so
        # a commit wakes a loop once (one call_soon_threadsafe), not once per report.
        self._waiters: dict[asyncio.AbstractEventLoop, asyncio.Future[list[Any]]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        segments = self.segments()
        self.seq = max((_last_seq(p) for p in segments), default=0)  # last committed
        self.found_seq = self.seq  # what the log held at start
        self._fd: int | None = None
        self._size = 0
        self._open()
        self._thread = threading.Thread(target=self._run, name="wal", daemon=True)
        self._thread.start()

    def continue_after(self, seq: int) -> None:
        """Number on after `seq` (the database holds more than the log: a log lost or
        removed since the last stop). Call before the first append."""
        with self._lock:
            if seq <= self.seq:
                return
            self.seq = seq
            self._close_fd()
            self._open()

    # --- appending (any thread; the event loop for live reports) -----------------------
    async def write(self, entries: list[Entry]) -> list[Any]:
        """Log entries; once durable and applied, their results (WalError if not)."""
        fut, offset = self.enqueue(entries)
        # Shielded: a client that hangs up cancels its own wait, not the whole group's;
        # the entries are applied either way once they are durable.
        results = await asyncio.shield(fut)
        return results[offset : offset + len(entries)]

    def enqueue(self, entries: list[Entry]) -> tuple[asyncio.Future[list[Any]], int]:
        """Add entries to the next group: the group's future on this event loop (its
        results, or WalError) and where these entries' results start in it. Whoever
        awaits the future must not cancel it: other requests share it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.error is not None and not self._reopen():
                failed: asyncio.Future[list[Any]] = loop.create_future()
                failed.set_exception(WalError(self.error))
                return failed, 0
            offset = len(self._group)
            self._group.extend(entries)
            fut = self._waiters.get(loop)
            if fut is None:
                fut = self._waiters[loop] = loop.create_future()
        # Set only when clear: setting takes the event's lock and wakes its waiters on
        # every report. Safe: the committer clears it before it takes the group, so a
        # set event means our entries are in the group it has yet to take.
        if not self._wake.is_set():
            self._wake.set()
        return fut, offset

    def usable(self) -> bool:
        """False while the log cannot be written; retried at most once a second."""
        if self.error is None:
            return True
        with self._lock:
            return self._reopen()

    def _reopen(self) -> bool:
        """After a failed write, start a fresh segment (the directory is made again if
        it was removed). Call under the lock."""
        if self.error is None:
            return True
        now = time.monotonic()
        if now - self._error_at < 1.0:
            return False
        self._error_at = now
        try:
            self._open()
        except OSError as exc:
            self.error = f"cannot write the log in {self.dir}: {exc.strerror or exc}"
            return False
        self.error = None
        return True

    # --- the committer ----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self.group_s:
                self._stop.wait(self.group_s)  # let the group fill: one fsync for many
            self._commit()
        self._commit()

    def _commit(self) -> None:
        with self._lock:
            group, self._group = self._group, []
            waiters, self._waiters = self._waiters, {}
            first = self.seq + 1
            fd = self._fd
        if not waiters:
            return
        parts: list[bytes] = []
        seq = first
        for entry in group:
            parts.extend(b"[%d,%s]\n" % (s, r) for s, r in zip(itertools.count(seq), entry.rests))
            seq += len(entry.rests)
        last = seq - 1
        if last >= first:
            parts.append(b'{"c":%d}\n' % last)
        # A note is one whole line or, torn, no JSON at all: it needs no commit line.
        parts.extend(b'{"n":%s}\n' % e.note for e in group if e.note is not None)
        error: str | None = None
        try:
            if fd is None:
                raise OSError("the log has no open segment")
            _write_all(fd, b"".join(parts))
            if self.fsync:
                os.fsync(fd)
            if os.fstat(fd).st_nlink == 0:  # written, but to a file someone removed
                raise OSError("the log segment was removed while in use")
            self._size = os.fstat(fd).st_size
        except OSError as exc:
            error = f"cannot write the log in {self.dir}: {exc.strerror or exc}"
            with contextlib.suppress(OSError):  # drop the torn tail if we can
                if fd is not None:
                    os.ftruncate(fd, self._size)
            with self._lock:
                self.error = error
                self._error_at = 0.0  # the next request tries a fresh segment at once
                self._close_fd()
        if error is not None:
            for loop, fut in waiters.items():
                loop.call_soon_threadsafe(_fail, fut, error)
            return
        with self._lock:
            self.seq = last
        results: list[Any] = []
        seq = first
        for entry in group:  # durable: now counted, strictly in sequence order
            try:
                results.append(entry.apply(seq))
            except Exception:  # logged, replayed on the next start; never lost
                log.exception("applying logged records %d.. failed", seq)
                results.append(None)
            seq += len(entry.rests)
        if self._size > SEGMENT_BYTES:
            with self._lock:
                self._close_fd()
                try:
                    self._open()
                except OSError as exc:
                    self.error = f"cannot write the log in {self.dir}: {exc.strerror or exc}"
                    self._error_at = time.monotonic()
        for loop, fut in waiters.items():
            loop.call_soon_threadsafe(_resolve, fut, results)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
        with self._lock:
            self._close_fd()

    # --- segments, replay, truncation -------------------------------------------------
    def _open(self) -> None:
        """A segment for the records after `seq`: a header line first (after a newline,
        should an older torn line end the file)."""
        self._close_fd()
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"wal-{self.seq + 1:016d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            lead = b""
            if size:
                with path.open("rb") as fh:
                    fh.seek(size - 1)
                    lead = b"" if fh.read(1) == b"\n" else b"\n"
            _write_all(fd, lead + HEADER)
            os.fsync(fd)
            dfd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dfd)  # the new file's name is durable too
            finally:
                os.close(dfd)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("wal-*.log"))

    def replay(
        self, after: int, skip: frozenset[int] = frozenset(), notes: list[Any] | None = None
    ) -> Iterator[list[Any]]:
        """Committed records with a sequence above `after` and not in `skip`, oldest first;
        the notes of the segments read go into `notes`, in order."""
        for path in self.segments():
            for record in _records(path, notes):
                if record[0] > after and record[0] not in skip:
                    yield record

    def truncate(self, applied: int) -> None:
        """Delete whole segments whose records DuckDB holds, every one up to `applied`
        (the highest contiguous stored sequence; call after a checkpoint)."""
        segments = self.segments()
        for path, nxt in itertools.pairwise(segments):
            if int(nxt.stem.split("-")[1]) - 1 <= applied:
                path.unlink(missing_ok=True)


def _last_seq(path: Path) -> int:
    last = int(path.stem.split("-")[1]) - 1
    for record in _records(path):
        last = max(last, record[0])
    return last


def _records(path: Path, notes: list[Any] | None = None) -> Iterator[list[Any]]:
    """Committed records of a segment; torn or uncommitted ones are skipped. Its notes
    are added to `notes`."""
    grouped = False  # a header line was seen: records count once their commit line is
    pending: list[list[Any]] = []
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                pending = []  # a torn write: its group was never acknowledged
                continue
            if isinstance(item, dict):
                if "v" in item:
                    grouped, pending = True, []
                elif "n" in item:
                    if notes is not None:
                        notes.append(item["n"])
                elif "c" in item and pending and pending[-1][0] == item["c"]:
                    yield from pending
                    pending = []
                else:
                    pending = []
            elif isinstance(item, list) and item and isinstance(item[0], int):
                if grouped:
                    pending.append(item)
                else:
                    yield item  # a segment from before commit lines: record by record


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _resolve(fut: asyncio.Future[list[Any]], results: list[Any]) -> None:
    if not fut.done():
        fut.set_result(results)


def _fail(fut: asyncio.Future[list[Any]], error: str) -> None:
    if not fut.done():
        fut.set_exception(WalError(error))
