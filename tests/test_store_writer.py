"""The store has one writer at a time: a transaction holds the write lock from begin
to commit, so another thread's write can neither land inside it nor be rolled back
with it."""

from __future__ import annotations

import threading

import pytest

from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.store import Store
from outagewatch.ingest.windows import iso
from tests.conftest import API_KEY, running

KEY = {"authorization": f"Bearer {API_KEY}"}


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


def test_other_threads_writes_run_on_the_writer_thread() -> None:
    """While a writer is attached, a write asked for elsewhere runs on it (its result
    and its exception come back to the caller); before and after, in the caller."""
    store = Store()
    store.write("CREATE TABLE t (n INTEGER)")
    attached, stop = threading.Event(), threading.Event()
    writer: list[int] = []

    def writer_loop() -> None:
        store.writes.attach()
        writer.append(threading.get_ident())
        attached.set()
        while not stop.is_set():
            store.writes.wake.wait(0.05)
            store.writes.wake.clear()
            store.writes.drain()
        store.writes.detach()

    thread = threading.Thread(target=writer_loop)
    thread.start()
    attached.wait()
    assert store.writes.run(threading.get_ident) == writer[0]
    store.write("INSERT INTO t VALUES (1)")
    with pytest.raises(Exception, match="no_such_table"):
        store.write("INSERT INTO no_such_table VALUES (1)")
    assert store.writes.handed_over == 3
    stop.set()
    thread.join()
    assert store.writes.run(threading.get_ident) == threading.get_ident()
    assert store.query("SELECT n FROM t") == [(1,)]
    store.close()


def test_http_writes_go_through_the_running_writer(clock: ManualClock) -> None:
    """The real app with its writer thread: catalog, maintenance and webhook changes
    are written by it, and answer as they always did."""
    with running(clock, tick_interval_s=0.05, webhook_allow_private=True) as (app, client):
        writes = app.runtime.store.writes
        assert (
            client.put("/v1/catalog/newsvc", json={"name": "New"}, headers=KEY).status_code == 201
        )
        assert any(s["service"] == "newsvc" for s in client.get("/v1/catalog").json()["services"])
        window = {
            "service": "newsvc",
            "starts_at": iso(clock.now() + 60),
            "ends_at": iso(clock.now() + 3600),
        }
        made = client.post("/v1/maintenance", json=window, headers=KEY)
        assert made.status_code == 201
        assert client.delete(f"/v1/maintenance/{made.json()['id']}", headers=KEY).status_code == 204
        hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=KEY)
        assert hook.status_code == 201
        assert client.delete(f"/v1/webhooks/{hook.json()['id']}", headers=KEY).status_code == 204
        assert writes.handed_over >= 6  # each of them handed to the writer thread
