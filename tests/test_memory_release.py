"""Freed heap pages go back to the system after a step (glibc's malloc_trim).

After one large free, glibc serves blocks of a few MB from the heap, and a small live
block after each keeps the heap's top from shrinking: freed pages stay resident. This
is what a step over a million series does with its temporaries. Each check runs in a
fresh interpreter: a test process's heap, shaped by every test before, is not one to
measure.
"""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(
    "libc.so" not in (ctypes.util.find_library("c") or ""), reason="malloc_trim is glibc's"
)

FRAGMENT = """
import resource
from pathlib import Path
import numpy as np

def rss_mb():
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 1e6

def fragmented_free():
    big = np.ones(4_000_000)
    del big  # glibc raises its mmap threshold to this size
    blocks, pins = [], []
    for _ in range(100):
        blocks.append(np.ones(500_000))  # 4 MB, from the heap now
        pins.append(bytearray(200_000))  # a live block after each pins the heap's top
    del blocks
    return rss_mb(), pins
"""


def measured(code: str) -> dict[str, float]:
    """Run `code` after FRAGMENT in a fresh interpreter; it prints name=value lines."""
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENT + code], capture_output=True, text=True, check=True
    ).stdout
    return {k: float(v) for k, v in (line.split("=") for line in out.split())}


@glibc
def test_release_freed_returns_freed_heap_pages() -> None:
    got = measured(
        "from outagewatch.app.engine.memory import release_freed\n"
        "before, pins = fragmented_free()\n"
        "print(f'released={int(release_freed())}')\n"
        "print(f'before={before}')\n"
        "print(f'after={rss_mb()}')\n"
    )
    assert got["released"] == 1
    assert got["after"] < got["before"] - 300


@glibc
def test_drive_releases_after_a_step_only() -> None:
    got = measured(
        "import polars as pl\n"
        "from outagewatch.app.engine.drive import drive\n"
        "from outagewatch.app.engine.pipeline import Pipeline, PipelineConfig\n"
        "from outagewatch.ingest.batch import normalize\n"
        "T0 = 1_793_577_600.0\n"
        "pipe = Pipeline(PipelineConfig(early_check_s=0), store=None)\n"
        "row = {'ts': [T0 + 5.0], 'service': ['netflix'], 'region': ['DE'], 'problem': ['app']}\n"
        "drive(pipe, T0 + 10, normalize(pl.DataFrame(row)))  # the bucket stays open\n"
        "before, pins = fragmented_free()\n"
        "drive(pipe, T0 + 20)\n"
        "print(f'before={before}')\n"
        "print(f'open={rss_mb()}')\n"
        "drive(pipe, T0 + 60 + pipe.config.allowed_lateness_s + 1)  # the bucket closes\n"
        "print(f'closed={int(pipe.view.closed_until is not None)}')\n"
        "print(f'after={rss_mb()}')\n"
    )
    assert got["open"] > got["before"] - 50, "no bucket closed: nothing released"
    assert got["closed"] == 1
    assert got["after"] < got["before"] - 300
