"""Tumbling windows: a bucket is identified by its start (epoch seconds, UTC)."""

from __future__ import annotations

import datetime as dt
import functools
import math

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # every time we write: UTC, whole seconds (also polars')
BUCKET_CHOICES: dict[str, int] = {"30s": 30, "1m": 60, "5m": 300, "15m": 900, "1h": 3600}


def parse_bucket(spec: str) -> int:
    """Bucket width in seconds from a contract spec.

    >>> parse_bucket("5m")
    300
    """
    try:
        return BUCKET_CHOICES[spec.strip().lower()]
    except KeyError:
        choices = ", ".join(BUCKET_CHOICES)
        raise ValueError(f"bucket must be one of {choices}, got {spec!r}") from None


def bucket_start(ts: float, width: int) -> float:
    """Start of the bucket holding `ts`.

    >>> bucket_start(125.5, 60)
    120.0
    """
    return float(math.floor(ts / width) * width)


@functools.lru_cache(maxsize=4096)  # an open incident's times are written every bucket
def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with a Z suffix, second precision (the feed's time format).

    >>> iso(0)
    '1970-01-01T00:00:00Z'
    """
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime(ISO_FORMAT)


def parse_iso(text: str) -> float:
    """Epoch seconds from ISO-8601; a time without a zone is refused (never guess a zone)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone; add Z or an offset such as +01:00")
    return value.timestamp()
