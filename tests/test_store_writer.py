"""The store has one writer at a time: a transaction holds the write lock from begin
to commit, so another thread's write can neither land inside it nor be rolled back
with it."""

from __future__ import annotations

import threading

import pytest

from outagewatch.ingest.store import Store


def test_a_write_from_another_thread_waits_for_the_transaction() -> None:
    store = Store()
    store.write("CREATE TABLE t (who VARCHAR)")
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []

    def transaction_then_fail() -> None:
        with pytest.raises(RuntimeError), store.transaction():
            store.write("INSERT INTO t VALUES ('rolled back')")
            inside.set()
            release.wait()
            order.append("transaction ends")
            raise RuntimeError("the batch failed")

    def other_writer() -> None:
        inside.wait()
        store.write("INSERT INTO t VALUES ('other')")
        order.append("other wrote")

    a = threading.Thread(target=transaction_then_fail)
    b = threading.Thread(target=other_writer)
    a.start()
    b.start()
    inside.wait()
    # While the transaction is open, the other thread cannot take the write lock.
    got = store._write_lock.acquire(blocking=False)
    if got:
        store._write_lock.release()
    assert not got
    release.set()
    a.join()
    b.join()
    assert order == ["transaction ends", "other wrote"]
    # The failed transaction took only its own row with it.
    assert store.query("SELECT who FROM t") == [("other",)]
    store.close()
