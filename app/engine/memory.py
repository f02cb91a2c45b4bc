"""Give the memory a step freed back to the system.

A step over many series allocates temporaries of a few MB each (one float per
series) and frees them. glibc raises its mmap threshold after the first large free,
so later temporaries come from the heap, and freed heap pages stay resident: at a
million series that is ~10-20% of the process's RSS for nothing. `malloc_trim(0)`
after a step returns them (a few ms; the pages are faulted in again once per step).
Elsewhere (musl, macOS) this does nothing. tests/test_memory_release.py shows it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim  # glibc only
    _trim.argtypes = [ctypes.c_size_t]
    _trim.restype = ctypes.c_int
except (OSError, AttributeError):
    _trim = None


def release_freed() -> bool:
    """Return freed heap pages to the system; True when some were."""
    return bool(_trim(0)) if _trim is not None else False
