"""The durable ceiling: the bare handler (benchmarks/http/bare_asgi.py) plus the real
server's write-ahead log (app/wal.py, fsync per group, one future per group): read the
body, parse it, log it, answer 202 once it is on disk. What any handler that keeps
"202 means on disk" pays on top of the bare one; our intake's rules (validation,
limits, dedup, the catalog, buffering) and guards are the rest of the gap.

The log goes to $BENCH_WAL_DIR (a fresh temporary folder if unset).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from benchmarks.http.bare_asgi import accepted, read_body
from outagewatch.app.wal import Entry, WriteAheadLog

_log: WriteAheadLog | None = None


def _wal() -> WriteAheadLog:
    global _log
    if _log is None:  # made in the server's process, once
        folder = os.environ.get("BENCH_WAL_DIR") or tempfile.mkdtemp(prefix="bare-wal-")
        _log = WriteAheadLog(Path(folder))
    return _log


def _applied(seq: int) -> int:
    return seq


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    report = orjson.loads(await read_body(receive))
    await _wal().write([Entry([orjson.dumps(report)], _applied)])
    await accepted(send)
