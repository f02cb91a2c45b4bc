"""Idempotency keys for bulk import: a retried import counts once.

A client sends `Idempotency-Key: <up to 128 printable characters>` with an import. The
first request with a key is processed; its answer is kept (in memory, and in DuckDB
with the import's rows, so it outlives a restart). A request with a key already
answered gets that answer again and counts nothing; one with a key still being
processed waits for it. A key sent with a different body is a 422. A key whose import
failed (503) is free again, so the retry is processed.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from typing import Any

import orjson

from outagewatch.ingest.store import Store

KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
KEEP = 10_000  # answers kept in memory; older ones are read back from DuckDB


class IdempotencyError(ValueError):
    """The key cannot be used: `code` and a message for the 422."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class ImportKeys:
    def __init__(self, store: Store, replayed: dict[str, str] | None = None) -> None:
        """`replayed`: answers of imports replayed from the log at start, known before
        the writer stores them with their rows."""
        self.store = store
        self._answers: OrderedDict[str, str] = OrderedDict(replayed or {})  # key -> stored JSON
        self._running: dict[str, asyncio.Future[None]] = {}

    @staticmethod
    def check(key: str) -> None:
        if KEY_RE.fullmatch(key) is None:
            raise IdempotencyError(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 128 printable ASCII characters (a UUID, say)",
            )

    async def begin(self, key: str, digest: str) -> dict[str, Any] | None:
        """The answer already given for this key (None: go on, the key is now ours)."""
        while True:
            running = self._running.get(key)
            if running is None:
                break
            await asyncio.shield(running)
        stored = self._answers.get(key) or self.store.import_answer(key)
        if stored is not None:
            saved = orjson.loads(stored)
            if saved.get("body") not in (None, digest):
                raise IdempotencyError(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different import; use a new key "
                    "for new data",
                )
            answer: dict[str, Any] = saved["answer"]
            return answer
        self._running[key] = asyncio.get_running_loop().create_future()
        return None

    def keep(self, key: str, stored: str) -> None:
        """The answer given for `key`, as `encode` made it (event loop only)."""
        self._answers[key] = stored
        while len(self._answers) > KEEP:
            self._answers.popitem(last=False)

    def end(self, key: str) -> None:
        """The request holding `key` is done (answered, or failed: the key is free)."""
        fut = self._running.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(None)


def encode(digest: str | None, answer: dict[str, Any]) -> str:
    """How an answer is stored; a replayed import's has no body digest (any retry
    with its key matches)."""
    return orjson.dumps({"body": digest, "answer": answer}).decode()
