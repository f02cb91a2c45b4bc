"""JSON responses rendered by orjson (fast, and handles numpy scalars)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi.responses import Response

T = TypeVar("T")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class Rendered:
    """Responses already rendered for the current data version: on outage day many
    people ask the same question within a tick, and only the first pays for it."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._items: dict[Any, tuple[int, Any]] = {}
        self._lock = threading.Lock()
        self._rendering: set[Any] = set()

    def memo(self, key: Any, version: int, render: Callable[[], T]) -> T:
        """render(), or what it gave for this key at this data version.

        When the version moves, one request renders the new answer; requests that come
        meanwhile get the previous one (stale by at most one render), instead of every
        thread of the pool rendering the same page at once under ingest."""
        hit = self._items.get(key)
        if hit is not None and hit[0] == version:
            value: T = hit[1]
            return value
        with self._lock:
            busy = key in self._rendering
            if not busy:
                self._rendering.add(key)
        if busy and hit is not None:
            stale: T = hit[1]
            return stale
        try:
            fresh = (version, render())
        finally:
            if not busy:
                with self._lock:
                    self._rendering.discard(key)
        # Routes run on a thread pool: evicting (iterating the dict) while another
        # thread inserts would raise "dictionary changed size during iteration".
        with self._lock:
            if len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = fresh
        rendered: T = fresh[1]
        return rendered

    def get(
        self, request: Any, version: int, render: Callable[[], Any], max_age: int = 5
    ) -> Response:
        def encode() -> tuple[bytes, str]:
            body = orjson.dumps(render(), option=orjson.OPT_SERIALIZE_NUMPY)
            return body, etag(body)

        key = request.url.path + "?" + str(request.url.query)
        body, tag = self.memo(key, version, encode)
        return etagged(request, body, "application/json", max_age, swr=30, tag=tag)


def etag(body: bytes) -> str:
    """A strong ETag: a hash of the exact bytes.

    >>> etag(b"{}")
    '"bf78e4a953b40eee238ca2e9"'
    """
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etagged(
    request: Any,
    body: bytes,
    media_type: str,
    max_age: int = 30,
    swr: int = 60,
    tag: str | None = None,
) -> Response:
    """A strong ETag and Cache-Control, answering 304 to a matching If-None-Match: on
    outage day a CDN (or the browser) serves the repeats. `tag`: etag(body), if known."""
    tag = tag or etag(body)
    headers = {
        "etag": tag,
        "cache-control": f"public, max-age={max_age}, stale-while-revalidate={swr}",
        "vary": "accept-encoding",
    }
    match = request.headers.get("if-none-match")
    if match and tag in {t.strip() for t in match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
