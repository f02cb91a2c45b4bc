"""Rendered pages under ingest: one render per key and version, the previous answer
meanwhile (real threads, synchronised with events: no sleeps)."""

from __future__ import annotations

import threading

import pytest

from outagewatch.app.responses import Rendered


def test_while_one_thread_renders_a_new_version_others_get_the_previous_one() -> None:
    cache = Rendered()
    assert cache.memo("page", 1, lambda: "v1") == "v1"
    started, release = threading.Event(), threading.Event()
    renders: list[int] = []

    def slow() -> str:
        renders.append(2)
        started.set()
        release.wait(timeout=30)
        return "v2"

    got: list[str] = []
    first = threading.Thread(target=lambda: got.append(cache.memo("page", 2, slow)))
    first.start()
    assert started.wait(timeout=30)
    # Another request for version 2 while it renders: the previous page, no second render.
    assert cache.memo("page", 2, lambda: renders.append(99) or "again") == "v1"
    release.set()
    first.join(timeout=30)
    assert got == ["v2"]
    assert renders == [2]
    assert cache.memo("page", 2, lambda: "never") == "v2"  # now current: no render
    assert cache.memo("other", 2, lambda: "o2") == "o2"  # other keys render as before


def test_a_failed_render_does_not_leave_the_key_busy() -> None:
    cache = Rendered()
    cache.memo("page", 1, lambda: "v1")

    def broken() -> str:
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError):
        cache.memo("page", 2, broken)
    assert cache.memo("page", 2, lambda: "v2") == "v2"
