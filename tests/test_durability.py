"""Nothing acknowledged is lost, nothing refused is counted (docs/reliability.md).

Real parts throughout: the real app on a manual clock with a real DuckDB file and
real log files, or a real `outagewatch serve` subprocess killed with SIGKILL; a disk
that fills is a real small tmpfs mount (root only, skipped otherwise).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pytest

from outagewatch.app.privacy import reporter_hash
from outagewatch.ingest.clock import ManualClock
from outagewatch.ingest.store import Store
from tests.conftest import API_KEY, T0, running, tick_to
from tests.test_crash import free_port
from tests.test_faults import tmpfs

BIN = Path(sys.executable).parent / "outagewatch"
KEYED = {"authorization": f"Bearer {API_KEY}", "content-type": "application/x-ndjson"}


# --- a real server ----------------------------------------------------------------------
def start(data: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    full = {
        **os.environ,
        "OUTAGEWATCH_RATE_ADDRESS_PER_S": "1e9",
        "OUTAGEWATCH_PREFIX_CAP": "0",
        "OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "1",
        "OUTAGEWATCH_NEW_SERVICES_PER_HOUR": "100000",
        **env,
    }
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), "--data", str(data)],
        env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)


class Load:
    """Poster threads: each token that got a 202 is `acked`, each that got a 503 `refused`."""

    def __init__(self, port: int, prefix: str, threads: int = 4, service: str | None = None):
        self.port, self.prefix, self.service = port, prefix, service
        self.acked: list[str] = []
        self.refused: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._post, args=(k,)) for k in range(threads)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _post(self, k: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5) as client:
            i = 0
            while not self.stop.is_set():
                token = f"{self.prefix}t{k}-{i}"
                service = self.service or f"svc{i % 20}"
                i += 1
                try:
                    status = client.post(
                        "/v1/reports", json={"service": service, "reporter": token}
                    ).status_code
                except httpx.HTTPError:
                    return  # the server died under us
                if status == 202:
                    self.acked.append(token)
                elif status == 503:
                    self.refused.append(token)


def wait_for(what: Any, deadline_s: float = 30.0) -> Any:
    """Poll a real server until `what()` is truthy (no timing is asserted)."""
    end = time.monotonic() + deadline_s
    while True:
        got = what()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.2)


def read_total(port: int) -> int:
    """Reports of the last day over every service, as the read API shows them."""
    got = httpx.get(f"http://127.0.0.1:{port}/v1/services?limit=1000", timeout=5).json()
    return sum(int(s["reports_24h"]) for s in got["services"])


def stored(data: Path) -> tuple[dict[str, int], tuple[int, int, int], int]:
    """Stored reports per reporter hash; (rows, distinct seqs, max seq); counted reports."""
    con = duckdb.connect(str(data / "outagewatch.duckdb"), read_only=True)
    try:
        per = dict(con.execute("SELECT reporter, count(*) FROM reports GROUP BY 1").fetchall())
        seqs = con.execute("SELECT count(*), count(DISTINCT seq), max(seq) FROM reports").fetchone()
        counted = con.execute("SELECT count(*) FROM reports WHERE counted").fetchone()
    finally:
        con.close()
    assert seqs is not None and counted is not None
    return per, (int(seqs[0]), int(seqs[1]), int(seqs[2] or 0)), int(counted[0])


def check_once(data: Path, acked: list[str], refused: list[str]) -> None:
    salt = bytes.fromhex(orjson.loads((data / "reporter-salts.json").read_bytes())["current"])
    per, (rows, distinct, top), _ = stored(data)
    missing = [t for t in acked if per.get(reporter_hash(salt, t), 0) == 0]
    twice = [t for t in acked if per.get(reporter_hash(salt, t), 0) > 1]
    counted_503 = [t for t in refused if per.get(reporter_hash(salt, t), 0) > 0]
    assert missing == [], f"{len(missing)} acknowledged reports lost"
    assert twice == [], f"{len(twice)} acknowledged reports stored twice"
    assert counted_503 == [], f"{len(counted_503)} reports answered 503 were stored"
    assert rows == distinct == top, "sequence numbers are 1..n, each once"


# --- kill -9 before the first snapshot and between snapshots -----------------------------
@pytest.mark.slow
@pytest.mark.parametrize("snapshot_s", ["600", "1"], ids=["before-first-snapshot", "between"])
def test_kill_9_then_the_read_api_shows_every_report(tmp_path: Path, snapshot_s: str) -> None:
    data, port = tmp_path / "data", free_port()
    env = {"OUTAGEWATCH_SNAPSHOT_INTERVAL_S": snapshot_s}
    proc = start(data, port, **env)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        for i in range(300):
            body = {"service": "amazon", "reporter": f"first-{i}"}
            assert client.post("/v1/reports", json=body).status_code == 202
    kill(proc)  # before any snapshot could have seen a closed bucket
    acked = [f"first-{i}" for i in range(300)]
    for round_ in range(3):  # more kills, under load from other threads
        proc = start(data, port, **env)
        with Load(port, f"r{round_}") as load:
            wait_for(lambda load=load: len(load.acked) > 300)
            kill(proc)
        acked += load.acked
    proc = start(data, port, **env)
    amazon = wait_for(
        lambda: httpx.get(f"http://127.0.0.1:{port}/v1/services/amazon").json().get("reports_24h")
    )
    assert amazon == 300, "the read API shows every amazon report after kill -9"
    shown = wait_for(lambda: (n := read_total(port)) >= len(acked) and n)
    assert shown >= len(acked) > 1200
    stop(proc)
    check_once(data, acked, [])
    _, _, counted = stored(data)
    assert shown == counted, "the read API shows what is stored, no more, no less"


# --- the log directory removed after a clean stop ----------------------------------------
@pytest.mark.slow
def test_log_removed_after_a_clean_stop_numbering_goes_on(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    proc = start(data, port)
    with Load(port, "a", threads=2) as first:
        wait_for(lambda: len(first.acked) > 200)
    stop(proc)
    shutil.rmtree(data / "wal")
    proc = start(data, port)
    health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
    assert health["status"] == "degraded" and "numbering continues" in health["log_reset"]
    with Load(port, "b", threads=2) as second:
        wait_for(lambda: len(second.acked) > 200)
        kill(proc)
    proc = start(data, port)
    stop(proc)
    check_once(data, first.acked + second.acked, [])


# --- a disk that fills under load --------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_disk_that_fills_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "20m") as disk:
        data, port = disk / "data", free_port()
        env = {"OUTAGEWATCH_MIN_FREE_MB": "0", "OUTAGEWATCH_SNAPSHOT_INTERVAL_S": "1"}
        proc = start(data, port, **env)
        filler = disk / "filler"
        st = os.statvfs(disk)
        filler.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 1_500_000))
        degraded = []
        with Load(port, "full") as load:
            wait_for(lambda: len(load.refused) > 200, 60)
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            degraded.append(health.status_code == 503 and health.json()["status"] == "degraded")
            filler.unlink()  # space is back: intake resumes by itself
            seen = len(load.acked)
            wait_for(lambda: len(load.acked) > seen + 300, 60)
            kill(proc)
        assert degraded == [True], "/healthz said the log could not be written"
        assert len(load.refused) > 200 and len(load.acked) > 300
        proc = start(data, port, **env)
        shown = wait_for(lambda: (n := read_total(port)) >= len(load.acked) and n)
        stop(proc)
        check_once(data, load.acked, load.refused)
        _, _, counted = stored(data)
        assert shown == counted


# --- in-process: the log removed or unwritable while running ------------------------------
def post(client: Any, reporter: str, service: str = "aws") -> int:
    return int(
        client.post("/v1/reports", json={"service": service, "reporter": reporter}).status_code
    )


def test_log_removed_or_unwritable_while_running(clock: ManualClock, tmp_path: Path) -> None:
    with running(clock, tmp_path) as (app, client):
        rt = app.runtime
        assert post(client, "a") == 202
        shutil.rmtree(tmp_path / "wal")
        assert post(client, "b") == 503  # written to a removed file: not acknowledged
        assert client.get("/healthz").status_code == 503
        assert post(client, "c") == 202  # a fresh segment in a directory made again
        shutil.rmtree(tmp_path / "wal")
        (tmp_path / "wal").write_bytes(b"")  # the log cannot be made again
        assert post(client, "d") == 503
        assert post(client, "e") == 503
        health = client.get("/healthz")
        assert health.status_code == 503 and "cannot write the log" in health.json()["error"]
        (tmp_path / "wal").unlink()
        assert wait_for(lambda: post(client, "f") == 202, 10)
        assert rt.pipeline.reports_counted == 3
        tick_to(app, clock, T0 + 60)
        got = rt.store.query("SELECT seq, counted FROM reports ORDER BY seq")
        assert got == [(1, True), (2, True), (3, True)]  # the 503s took no number
        assert client.get("/v1/services/aws").json()["reports_24h"] == 3


def ten_stored_then_lost(clock: ManualClock, data: Path, where: str) -> None:
    """Ten reports acknowledged and stored, then the rows `where` selects deleted from
    DuckDB, as if their write was lost (the log still holds them)."""
    with running(clock, data) as (app, client):
        for i in range(10):
            assert post(client, f"r{i}") == 202
        tick_to(app, clock, T0 + 30)
    con = duckdb.connect(str(data / "outagewatch.duckdb"))
    con.execute(f"DELETE FROM reports WHERE {where}")
    con.close()


# --- in-process: a failed write is retried in order, replay starts at the first gap --------
def test_replay_starts_at_the_highest_contiguous_sequence(
    clock: ManualClock, tmp_path: Path
) -> None:
    ten_stored_then_lost(clock, tmp_path, "seq IN (4, 5)")
    with running(clock, tmp_path) as (app, client):
        assert client.get("/healthz").status_code == 200  # the log still holds them
        tick_to(app, clock, T0 + 40)
        seqs = [r[0] for r in app.runtime.store.query("SELECT seq FROM reports ORDER BY seq")]
        assert seqs == list(range(1, 11))
        assert client.get("/v1/services/aws").json()["reports_24h"] == 10


def test_a_gap_is_reported_and_never_skipped(clock: ManualClock, tmp_path: Path) -> None:
    ten_stored_then_lost(clock, tmp_path, "seq IN (4, 5)")
    shutil.rmtree(tmp_path / "wal")  # and the log lost too: 4 and 5 are gone for good
    with running(clock, tmp_path) as (app, client):
        health = client.get("/healthz")
        assert health.status_code == 503
        assert "2 sequence number(s) from 4 up to 10" in health.json()["log_gap"]
        assert post(client, "after") == 202
        tick_to(app, clock, T0 + 200)
        app.runtime.snapshot()
        assert app.runtime.applied == 3  # replay and log cuts stay before the gap
        assert client.get("/healthz").json()["log_gap"] is not None
        seq = app.runtime.store.query("SELECT max(seq) FROM reports")[0][0]
        assert seq == 11  # numbering went on after the database's highest


def test_a_gap_clears_once_an_operator_acknowledges_it(clock: ManualClock, tmp_path: Path) -> None:
    ten_stored_then_lost(clock, tmp_path, "seq IN (4, 5, 8)")
    shutil.rmtree(tmp_path / "wal")
    keyed = {"authorization": f"Bearer {API_KEY}"}
    with running(clock, tmp_path) as (app, client):
        assert client.get("/healthz").status_code == 503
        assert client.post("/v1/log-gaps").status_code == 401  # an operator's word only
        long = client.post("/v1/log-gaps", json={"note": "x" * 501}, headers=keyed)
        assert long.status_code == 422 and long.json()["error"]["field"] == "note"
        assert client.get("/healthz").status_code == 503  # a refused call changes nothing
        assert client.get("/v1/log-gaps", headers=keyed).json()["log_reset"] is not None
        ack = client.post("/v1/log-gaps", json={"note": "old backup restored"}, headers=keyed)
        assert ack.status_code == 200 and ack.json()["current"] is None
        assert ack.json()["log_reset"] is None  # the removed log is acknowledged with it
        got = [(g["first_seq"], g["last_seq"], g["note"]) for g in ack.json()["acknowledged"]]
        assert got == [(4, 5, "old backup restored"), (8, 8, "old backup restored")]
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["log_gap"] is None and health.json()["log_reset"] is None
        again = client.post("/v1/log-gaps", headers=keyed)
        assert again.status_code == 409 and again.json()["error"]["code"] == "no_log_gap"
        assert post(client, "after") == 202
        tick_to(app, clock, T0 + 100)
        app.runtime.snapshot()
        assert app.runtime.applied == 11  # replay and log cuts go past the recorded gap
    with running(clock, tmp_path) as (app, client):  # not reported again, kept as history
        assert client.get("/healthz").status_code == 200
        history = client.get("/v1/log-gaps", headers=keyed).json()
        assert history["current"] is None and len(history["acknowledged"]) == 2
        assert app.runtime.applied == 11


def test_a_log_reset_clears_once_an_operator_acknowledges_it(
    clock: ManualClock, tmp_path: Path
) -> None:
    """The log removed after a clean stop: nothing is missing from the database, but
    /healthz says numbering went on past a lost log until a person has looked."""
    with running(clock, tmp_path) as (app, client):
        for i in range(5):
            assert post(client, f"r{i}") == 202
        tick_to(app, clock, T0 + 30)
    shutil.rmtree(tmp_path / "wal")
    keyed = {"authorization": f"Bearer {API_KEY}"}
    with running(clock, tmp_path) as (app, client):
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["log_gap"] is None
        assert "numbering continues at 6" in health.json()["log_reset"]
        assert client.post("/v1/log-gaps").status_code == 401
        ack = client.post("/v1/log-gaps", json={"note": "disk replaced"}, headers=keyed)
        assert ack.status_code == 200
        assert ack.json() == {"current": None, "log_reset": None, "acknowledged": []}
        assert client.get("/healthz").status_code == 200
        again = client.post("/v1/log-gaps", headers=keyed)
        assert again.status_code == 409 and "no log gap or log reset" in again.text
        assert post(client, "after") == 202
        tick_to(app, clock, T0 + 100)
        seqs = [r[0] for r in app.runtime.store.query("SELECT seq FROM reports ORDER BY seq")]
        assert seqs == [1, 2, 3, 4, 5, 6]


def test_a_failed_database_write_keeps_the_batch(clock: ManualClock, tmp_path: Path) -> None:
    """The database's own disk fills while the log's does not: every tick fails and
    /healthz says so, intake keeps acknowledging (the log holds the reports), and once
    space is back the kept batch is written first, in order, nothing lost or doubled."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    with (
        tmpfs(tmp_path / "db", "20m") as db,
        tmpfs(db / "wal", "20m"),
        running(clock, db, min_free_mb=0) as (app, client),
    ):
        rt = app.runtime
        for i in range(5):
            assert post(client, f"a{i}") == 202
        tick_to(app, clock, T0 + 5)
        st = os.statvfs(db)
        (db / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 4096))
        imported = client.post(
            "/v1/import",
            content=b"\n".join(
                orjson.dumps({"service": "aws", "ts": T0 + 6, "reporter": f"big{i}"})
                for i in range(20_000)
            ),
            headers=KEYED,
        )
        assert imported.status_code == 200
        clock.set(T0 + 7)
        rt.safe_tick()  # as the writer thread runs it
        health = client.get("/healthz")
        assert health.status_code == 503 and "No space left" in health.json()["error"]
        for i in range(5):
            assert post(client, f"b{i}") == 202
        clock.set(T0 + 90)
        rt.safe_tick()  # still full: nothing closes, nothing is lost
        assert rt.pipeline.agg.closed_until == T0  # the minute T0 waits for its reports
        (db / "filler").unlink()
        rt.safe_tick()
        assert client.get("/healthz").status_code == 200
        tick_to(app, clock, T0 + 100)
        seqs = rt.store.query("SELECT count(*), count(DISTINCT seq), max(seq) FROM reports")
        assert seqs == [(20_010, 20_010, 20_010)]
        assert client.get("/v1/services/aws").json()["reports_24h"] == 20_010


def test_held_back_reports_are_bounded_while_the_database_disk_is_full(
    clock: ManualClock, tmp_path: Path
) -> None:
    """The database's disk stays full: what was acknowledged waits in memory, up to
    `max_held_back_reports`; past it new reports are refused (503, not stored) and
    /healthz says why; once space is back the held rows go in first, then intake resumes."""
    with (
        tmpfs(tmp_path / "db", "20m") as db,
        tmpfs(db / "wal", "20m"),
        running(clock, db, min_free_mb=0, max_held_back_reports=1000) as (app, client),
    ):
        rt = app.runtime
        assert post(client, "a0") == 202
        tick_to(app, clock, T0 + 5)
        st = os.statvfs(db)
        (db / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize))
        rows = [{"service": "aws", "ts": T0 + 6, "reporter": f"big{i}"} for i in range(5000)]
        assert client.post("/v1/import", content=ndjson(rows), headers=KEYED).status_code == 200
        assert post(client, "a1") == 202  # below the cap until the write is seen to fail
        clock.set(T0 + 7)
        rt.safe_tick()
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["held_back_reports"] == 5001
        assert "new reports are refused" in health.json()["error"]
        refused = client.post("/v1/reports", json={"service": "aws", "reporter": "late0"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
        assert "5001 acknowledged reports wait in memory" in refused.json()["error"]["message"]
        more = ndjson([{"service": "aws", "ts": T0 + 6, "count": 3}])
        assert client.post("/v1/import", content=more, headers=KEYED).status_code == 503
        clock.set(T0 + 20)
        rt.safe_tick()  # still full: held, nothing grows, nothing lost
        assert rt.pipeline.held_back == 5001 and post(client, "late1") == 503
        (db / "filler").unlink()
        rt.safe_tick()  # the held rows are written, in sequence order
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["held_back_reports"] == 0
        assert post(client, "after") == 202
        tick_to(app, clock, T0 + 100)
        seqs = rt.store.query("SELECT count(*), count(DISTINCT seq), max(seq) FROM reports")
        assert seqs == [(5003, 5003, 5003)]  # the 503s took no number and were not stored
        assert client.get("/v1/services/aws").json()["reports_24h"] == 5003


# --- in-process: imports ----------------------------------------------------------------
def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in rows)


def test_a_retried_import_with_its_key_counts_once(clock: ManualClock, tmp_path: Path) -> None:
    rows = [{"service": "aws", "ts": T0 - 5, "reporter": f"i{i}"} for i in range(50)]
    body = ndjson(rows)
    with running(clock, tmp_path) as (app, client):
        first = client.post("/v1/import", content=body, headers={**KEYED, "idempotency-key": "k1"})
        assert first.status_code == 200 and first.json()["counted"] == 50
        again = client.post("/v1/import", content=body, headers={**KEYED, "idempotency-key": "k1"})
        assert again.status_code == 200 and again.json() == first.json()
        other = client.post(
            "/v1/import", content=ndjson(rows[:3]), headers={**KEYED, "idempotency-key": "k1"}
        )
        assert other.status_code == 422
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        bad = client.post("/v1/import", content=body, headers={**KEYED, "idempotency-key": "a b"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "Idempotency-Key"
        # The log cannot be written: 503, nothing counted; the retry with the key counts.
        shutil.rmtree(tmp_path / "wal")
        (tmp_path / "wal").write_bytes(b"")
        more = ndjson([{"service": "aws", "ts": T0 - 5, "count": 7}])
        refused = client.post(
            "/v1/import", content=more, headers={**KEYED, "idempotency-key": "k2"}
        )
        assert refused.status_code == 503
        counted_before = app.runtime.pipeline.reports_counted
        (tmp_path / "wal").unlink()

        def retry() -> Any:
            r = client.post("/v1/import", content=more, headers={**KEYED, "idempotency-key": "k2"})
            return r.status_code == 200 and r.json()

        assert wait_for(retry, 10)["counted"] == 7
        assert retry()["counted"] == 7  # and once more: the same answer, nothing counted
        assert app.runtime.pipeline.reports_counted == counted_before + 7
        tick_to(app, clock, T0 + 10)
    with running(clock, tmp_path) as (app, client):  # after a restart, from the database
        again = client.post("/v1/import", content=body, headers={**KEYED, "idempotency-key": "k1"})
        assert again.json() == first.json()
        tick_to(app, clock, T0 + 20)
        assert app.runtime.store.query("SELECT sum(weight) FROM reports")[0][0] == 57
        assert client.get("/v1/services/aws").json()["reports_24h"] == 57


def test_an_import_into_closed_minutes_says_what_was_not_counted(
    clock: ManualClock, tmp_path: Path
) -> None:
    with running(clock, tmp_path) as (app, client):
        assert post(client, "live") == 202
        tick_to(app, clock, T0 + 300)  # minutes up to T0 + 240 are closed
        rows = [{"service": "aws", "ts": T0 + 30, "reporter": f"old{i}"} for i in range(8)]
        rows += [{"service": "aws", "ts": T0 + 295, "reporter": f"new{i}"} for i in range(3)]
        rows += [{"service": "aws", "ts": T0 + 296, "reporter": "new0"}]  # a duplicate
        got = client.post("/v1/import", content=ndjson(rows), headers=KEYED).json()
        assert got["accepted"] == 12 and got["counted"] == 3
        assert got["too_late"] == 8 and got["duplicates"] == 1 and got["not_counted"] == 9
        assert got["closed_before"] == "2026-11-02T00:04:00Z"
        assert "8 reports fall in minutes already closed" in got["message"]
        tick_to(app, clock, T0 + 310)
        assert client.get("/v1/services/aws").json()["reports_24h"] == 4  # 1 live + 3
        late = app.runtime.store.query("SELECT count(*) FROM reports WHERE NOT counted")
        assert late == [(9,)]  # stored, as the answer said, not counted


@pytest.mark.slow
def test_an_import_replayed_after_kill_9_answers_as_it_first_did(tmp_path: Path) -> None:
    """kill -9 after an import is logged and answered but before the writer's next tick
    stores it: after the restart its rows come back from the log, and a retry with the
    key gets the first answer whole (not totals), its late rows still uncounted."""
    data, port = tmp_path / "data", free_port()
    # Ticks 5 s apart: the import is answered and the process killed between two.
    env = {"OUTAGEWATCH_API_KEYS": API_KEY, "OUTAGEWATCH_TICK_INTERVAL_S": "5"}
    proc = start(data, port, **env)
    base = f"http://127.0.0.1:{port}"
    live = httpx.post(f"{base}/v1/reports", json={"service": "aws", "reporter": "live"})
    assert live.status_code == 202
    assert wait_for(lambda: httpx.get(f"{base}/healthz").json()["series"] > 0)  # a tick
    now = time.time()
    rows = [{"service": "aws", "ts": now - 600, "reporter": f"old{i}"} for i in range(8)]
    rows += [{"service": "aws", "ts": now + 2, "reporter": f"new{i}"} for i in range(3)]
    rows += [{"service": "aws", "ts": now + 3, "reporter": "new0"}]  # a duplicate
    headers = {**KEYED, "idempotency-key": "crash-1"}
    first = httpx.post(f"{base}/v1/import", content=ndjson(rows), headers=headers)
    kill(proc)
    assert first.status_code == 200
    answer = first.json()
    assert answer["too_late"] == 8 and answer["duplicates"] == 1 and answer["counted"] == 3
    assert "closed_before" in answer and "message" in answer
    proc = start(data, port, **env)
    assert httpx.get(f"{base}/healthz").json()["reports_accepted"] == 12  # from the log
    again = httpx.post(f"{base}/v1/import", content=ndjson(rows), headers=headers)
    assert again.status_code == 200 and again.json() == answer
    other = httpx.post(f"{base}/v1/import", content=ndjson(rows[:2]), headers=headers)
    assert other.status_code == 422  # the logged answer keeps the body's digest
    stop(proc)
    _, seqs, counted = stored(data)
    assert seqs == (13, 13, 13)  # the live report and the import, each once
    assert counted == 4  # as the answer said: 1 live + 3, the 8 late ones not counted


# --- a database that cannot be read ------------------------------------------------------
@pytest.fixture
def filled_db(tmp_path: Path) -> Iterator[Path]:
    store = Store(tmp_path / "outagewatch.duckdb")
    store.write(
        "INSERT INTO reports SELECT TIMESTAMP '2026-11-02' + to_seconds(i), 'svc' || (i % 50), "
        "NULL, NULL, 'r' || i, 1, true, i FROM range(1, 200000) t(i)"
    )
    store.checkpoint()
    store.close()
    yield tmp_path / "outagewatch.duckdb"


@pytest.mark.parametrize("damage", ["truncated", "corrupt-block"])
def test_a_damaged_database_is_one_clear_line_and_exit_2(filled_db: Path, damage: str) -> None:
    size = filled_db.stat().st_size
    if damage == "truncated":
        os.truncate(filled_db, size // 2)
    else:
        with filled_db.open("r+b") as fh:
            fh.seek(size // 2)
            fh.write(os.urandom(size // 3))
    done = subprocess.run(
        [str(BIN), "serve", "--port", "1", "--data", str(filled_db.parent)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot start: ")
    assert "database" in lines[0] and "Traceback" not in done.stderr


def test_reports_replayed_from_the_log_are_read_before_the_first_tick(
    clock: ManualClock, tmp_path: Path
) -> None:
    """After a crash, acknowledged reports DuckDB never got are replayed from the log
    and stepped before the server answers: the first read counts them, even if the
    writer's first tick is far off (here an hour: a loaded machine, slowly)."""
    ten_stored_then_lost(clock, tmp_path, "seq > 6")
    with running(clock, tmp_path, tick_interval_s=3600.0) as (app, client):
        assert client.get("/v1/services/aws").json()["reports_24h"] == 10
        seqs = [r[0] for r in app.runtime.store.query("SELECT seq FROM reports ORDER BY seq")]
        assert seqs == list(range(1, 11))
