"""One writer in fact: a write asked for by another thread (an HTTP request, the
webhook deliverer) is handed to the writer thread, which runs it between its ticks,
and the asking thread waits for its result (or its exception).

Until a writer thread attaches (start-up, servers and tests that tick by hand) and
after it detaches (stop), a write runs at once in its caller, under the store's lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class WriteQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._writer: int | None = None  # the writer thread's ident, while attached
        self.wake = threading.Event()  # set when a write waits: the writer runs it now
        self.handed_over = 0  # writes other threads handed to the writer (metrics)

    def attach(self) -> None:
        """The calling thread is the writer from now on."""
        with self._lock:
            self._writer = threading.get_ident()

    def detach(self) -> None:
        """The writer stops: writes waiting are run now, later ones in their callers."""
        with self._lock:
            self._writer = None
        self.drain()

    def run(self, write: Callable[[], T]) -> T:
        """`write()` on the writer thread (at once when called there, or when no writer
        is attached); its result, or its exception raised here."""
        with self._lock:
            writer = self._writer
            if writer is not None and writer != threading.get_ident():
                done: Future[T] = Future()
                self._items.append((write, done))
                self.handed_over += 1
            else:
                writer = None
        if writer is None:
            return write()
        self.wake.set()
        return done.result()

    def drain(self) -> None:
        """Run the writes waiting, in the order they came (writer thread)."""
        while True:
            with self._lock:
                if not self._items:
                    return
                write, done = self._items.popleft()
            try:
                done.set_result(write())
            except BaseException as exc:  # the caller gets it, the writer goes on
                done.set_exception(exc)
