"""Kill -9 under load: every report that got a 202 is stored exactly once after restart.

A real `outagewatch serve` on loopback, posted to by threads that record each
acknowledged reporter token; the server is SIGKILLed at a random moment, started
again on the same data directory, stopped cleanly, and the DuckDB file is checked.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from outagewatch.app.privacy import reporter_hash

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OUTAGEWATCH_RATE_ADDRESS_PER_S": "1e9",
        "OUTAGEWATCH_PREFIX_CAP": "0",
        "OUTAGEWATCH_ACCEPT_UNKNOWN_SERVICES": "1",
    }
    proc = subprocess.Popen(
        [str(BIN / "outagewatch"), "serve", "--port", str(port), "--data", str(data)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


def load(port: int, prefix: str, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        i = 0
        while not stop.is_set() and i < 20_000:
            token = f"{prefix}-{i}"
            i += 1
            body = {"service": f"svc{i % 50}", "region": "IT", "reporter": token}
            try:
                if client.post("/v1/reports", json=body).status_code == 202:
                    acked.append(token)
            except httpx.HTTPError:
                return  # the server died under us: what was acknowledged is recorded


def test_sigkill_loses_no_acknowledged_report(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    acked: list[str] = []
    rng = random.Random(7)
    for round_ in range(3):
        proc = start(data, port)
        stop = threading.Event()
        posters = [
            threading.Thread(target=load, args=(port, f"r{round_}t{k}", acked, stop))
            for k in range(4)
        ]
        for t in posters:
            t.start()
        time.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in posters:
            t.join()
    proc = start(data, port)  # replays the log, then a clean stop flushes everything
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises after shutdown
    assert len(acked) > 500, "the load must have been real"

    salt = bytes.fromhex(orjson.loads((data / "reporter-salts.json").read_bytes())["current"])
    con = duckdb.connect(str(data / "outagewatch.duckdb"), read_only=True)
    stored = dict(
        con.execute("SELECT reporter, count(*) FROM reports GROUP BY reporter").fetchall()
    )
    seqs = con.execute("SELECT count(*), count(DISTINCT seq) FROM reports").fetchone()
    con.close()
    missing = [t for t in acked if stored.get(reporter_hash(salt, t), 0) == 0]
    twice = [t for t in acked if stored.get(reporter_hash(salt, t), 0) > 1]
    assert missing == [], f"{len(missing)} acknowledged reports lost"
    assert twice == [], f"{len(twice)} reports stored twice"
    assert seqs is not None and seqs[0] == seqs[1]  # no log record applied twice
    print(f"crash test: 3 SIGKILLs, {len(acked)} acknowledged, all stored exactly once")
