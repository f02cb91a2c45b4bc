"""The write-ahead log: a 202 means the report is on disk.

Accepted reports join the current group; a committer thread writes the group to an
append-only segment and fsyncs it (while the next group gathers; `group_ms` > 0 adds a
wait), then wakes every request of the group at once (one future per group and event
loop, not per report). Each record carries a
sequence number that is also stored with the report in DuckDB, in the same atomic
batch insert; on start, records beyond the highest stored sequence are replayed, so
a crash anywhere loses nothing acknowledged and counts nothing twice. Segments that
DuckDB already holds (after a checkpoint) are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

SEGMENT_BYTES = 64 << 20


class WalError(RuntimeError):
    """The log cannot be written: intake must stop acknowledging (503)."""


class WriteAheadLog:
    def __init__(self, directory: Path, group_ms: float = 0.0, fsync: bool = True) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.group_s = group_ms / 1000
        self.fsync = fsync
        self.error: str | None = None
        self._error_at = 0.0
        self._lock = threading.Lock()
        self._group: list[bytes] = []
        # One future per event loop per group: every request of the group awaits it, so
        # a commit wakes a loop once (one call_soon_threadsafe), not once per report.
        self._waiters: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        segments = self.segments()
        self.seq = self._last_seq(segments[-1]) if segments else 0
        self._fh = self._open(self.seq + 1)
        self._thread = threading.Thread(target=self._run, name="wal", daemon=True)
        self._thread.start()

    # --- appending (any thread; the event loop for live reports) -----------------------
    def reserve(self, n: int = 1) -> int:
        """The first of n new sequence numbers (call under the caller's ordering lock)."""
        with self._lock:
            first = self.seq + 1
            self.seq += n
            return first

    def append(self, lines: list[bytes]) -> asyncio.Future[None]:
        """Queue records; the future completes once they are fsynced (or fails)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.error is not None and not self._reopen():
                failed: asyncio.Future[None] = loop.create_future()
                failed.set_exception(WalError(self.error))
                return failed
            self._group.extend(lines)
            fut = self._waiters.get(loop)
            if fut is None:
                fut = self._waiters[loop] = loop.create_future()
        self._wake.set()
        # Shielded: a client that hangs up cancels its own wait, not the whole group's.
        return asyncio.shield(fut)

    def usable(self) -> bool:
        """False while the log cannot be written; retried at most once a second."""
        if self.error is None:
            return True
        with self._lock:
            return self._reopen()

    def _reopen(self) -> bool:
        """After a failed write (a full disk), start a fresh segment: the torn tail of
        the old one is skipped on replay, and the records in it were never acknowledged.
        Call under the lock."""
        if self.error is None:
            return True
        now = time.monotonic()
        if now - self._error_at < 1.0:
            return False
        self._error_at = now
        with contextlib.suppress(OSError):  # a buffered torn tail may fail to flush again
            self._fh.close()
        try:
            self._fh = self._open(self.seq + 1)
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
        if not waiters:
            return
        error: str | None = None
        try:
            self._fh.write(b"".join(group))
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
            if self._fh.tell() > SEGMENT_BYTES:
                self._fh.close()
                self._fh = self._open(self.seq + 1)
        except OSError as exc:
            error = f"cannot write the log in {self.dir}: {exc.strerror or exc}"
            with self._lock:
                self.error = error
                self._error_at = time.monotonic()
        for loop, fut in waiters.items():
            if error is None:
                loop.call_soon_threadsafe(_resolve, fut)
            else:
                loop.call_soon_threadsafe(_fail, fut, error)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self._fh.close()

    # --- segments, replay, truncation -------------------------------------------------
    def _open(self, first_seq: int) -> Any:
        return (self.dir / f"wal-{first_seq:016d}.log").open("ab")

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("wal-*.log"))

    @staticmethod
    def _last_seq(path: Path) -> int:
        last = int(path.stem.split("-")[1]) - 1
        for record in _records(path):
            last = record[0]
        return last

    def replay(self, after: int) -> Iterator[list[Any]]:
        """Records with a sequence above `after`, oldest first (torn tails skipped)."""
        for path in self.segments():
            for record in _records(path):
                if record[0] > after:
                    yield record

    def truncate(self, applied: int) -> None:
        """Delete whole segments that DuckDB holds (call after a checkpoint)."""
        segments = self.segments()
        for path, nxt in itertools.pairwise(segments):
            if int(nxt.stem.split("-")[1]) - 1 <= applied:
                path.unlink(missing_ok=True)


def _records(path: Path) -> Iterator[list[Any]]:
    with path.open("rb") as fh:
        for line in fh:
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                return  # a torn last write: it was never acknowledged


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _fail(fut: asyncio.Future[None], error: str) -> None:
    if not fut.done():
        fut.set_exception(WalError(error))
