"""Structured logs: one JSON object per line, for people's log pipelines."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import orjson

_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure(level: str = "info") -> None:
    """Every line on stderr as JSON, at `level` (OUTAGEWATCH_LOG_LEVEL). Loggers:
    outagewatch (.incidents, .deliveries, .limits, .access) and uvicorn's."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("outagewatch", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(configure_level(level).upper())
        logger.propagate = False


LEVELS = ("debug", "info", "warning", "error", "critical")


def configure_level(level: str) -> str:
    """A log level name, checked: OUTAGEWATCH_LOG_LEVEL.

    >>> configure_level("WARNING")
    'warning'
    """
    name = level.strip().lower()
    if name not in LEVELS:
        raise ValueError(f"OUTAGEWATCH_LOG_LEVEL: {level!r} is not one of {', '.join(LEVELS)}")
    return name


class LimitLog:
    """One warning line when a limit trips, then at most one a minute per limit with
    how many trips it stands for: a flood must not become a flood of log lines.

    Limits are a fixed, small set of names, so this holds a few floats.

    >>> import logging
    >>> seen = []
    >>> class Keep(logging.Handler):
    ...     def emit(self, record): seen.append((record.limit, record.trips))
    >>> logger = logging.getLogger("doctest.limits"); logger.addHandler(Keep())
    >>> lim = LimitLog(logger, every_s=60)
    >>> for t in (0.0, 1.0, 2.0, 61.0):
    ...     lim.trip("rate_limited", t)
    >>> seen
    [('rate_limited', 1), ('rate_limited', 3)]
    """

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.logger = logger
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def trip(self, limit: str, now: float, **fields: Any) -> None:
        self._count[limit] = self._count.get(limit, 0) + 1
        last = self._last.get(limit)
        if last is not None and now - last < self.every_s:
            return
        trips = self._count.pop(limit)
        self._last[limit] = now
        self.logger.warning(
            "limit tripped: %s (%d times since the last line)",
            limit,
            trips,
            extra={"event": "limit", "limit": limit, "trips": trips, **fields},
        )
