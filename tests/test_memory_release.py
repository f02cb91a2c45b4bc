"""Freed heap pages go back to the system after a step (glibc's malloc_trim).

After one large free, glibc serves blocks of a few MB from the heap, and a small live
block after each keeps the heap's top from shrinking: freed pages stay resident. This
is what a step over a million series does with its temporaries.
"""

from __future__ import annotations

import ctypes.util
import resource
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from outagewatch.app.engine.drive import drive
from outagewatch.app.engine.memory import release_freed
from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig
from outagewatch.ingest.batch import normalize
from tests.conftest import T0

glibc = pytest.mark.skipif(
    "libc.so" not in (ctypes.util.find_library("c") or ""), reason="malloc_trim is glibc's"
)


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 1e6


def fragmented_free() -> tuple[float, list[bytearray]]:
    """Leave ~400 MB of freed, resident heap behind; RSS then, and the pins."""
    big = np.ones(4_000_000)
    del big  # glibc raises its mmap threshold to this size
    blocks, pins = [], []
    for _ in range(100):
        blocks.append(np.ones(500_000))  # 4 MB, from the heap now
        pins.append(bytearray(200_000))
    del blocks
    return rss_mb(), pins


@glibc
def test_release_freed_returns_freed_heap_pages() -> None:
    before, _pins = fragmented_free()
    assert release_freed() is True
    assert rss_mb() < before - 300


@glibc
def test_drive_releases_after_a_step_only() -> None:
    pipe = Pipeline(PipelineConfig(early_check_s=0), store=None)
    row = {"ts": [T0 + 5.0], "service": ["netflix"], "region": ["DE"], "problem": ["app"]}
    drive(pipe, T0 + 10, normalize(pl.DataFrame(row)))  # the bucket stays open
    before, _pins = fragmented_free()
    drive(pipe, T0 + 20)
    assert rss_mb() > before - 50, "no bucket closed: nothing released"
    drive(pipe, T0 + 60 + pipe.config.allowed_lateness_s + 1)  # the bucket closes
    assert pipe.view.closed_until is not None
    assert rss_mb() < before - 300
