"""Report intake: bytes in, an outcome out. No framework on this path.

It runs for every report on outage day, so it does the least that is safe: one
orjson parse, hand-written checks, rate limits, a dict lookup for dedup, an append
to the pipeline's buffer and a line for the write-ahead log. The raw-ASGI fast path
and the documented FastAPI route both call `handle` and then await `durable`, so a
202 is only sent once the report is on disk, and a report is only counted (joins the
pipeline's buffer) once it is on disk: a 503 is never counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial

import orjson

from outagewatch.app.catalog import with_service_id
from outagewatch.app.engine.pipeline import Pipeline
from outagewatch.app.errors import body_bytes
from outagewatch.app.runtime import Runtime
from outagewatch.app.wal import Entry, WalError
from outagewatch.ingest.limits import PrefixCap, TokenBuckets, network_prefix
from outagewatch.ingest.report import ReportError, parse_report

ACCEPTED = {
    True: b'{"accepted":true,"counted":true}',
    False: b'{"accepted":true,"counted":false}',
}
# Refusals that are limits (logged, app/logs.py LimitLog), not bad input.
LIMITS = frozenset({"rate_limited", "new_service_limit", "body_too_large", "unavailable"})
JSON_TYPES = (b"application/json", b"text/plain", b"")  # text/plain: CORS "simple" posts


@dataclass
class Outcome:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    entry: Entry | None = None  # to be logged (durable) before it is counted and answered
    undo: tuple[str, str, float] | None = None  # dedup's verdict, taken back on failure


def error(status: int, code: str, message: str, field: str | None = None) -> Outcome:
    return Outcome(status, body_bytes(code, message, field))


class Intake:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        s = runtime.settings
        self.max_bytes = s.max_report_bytes
        self.rejected: dict[str, int] = {}
        self.by_address = TokenBuckets(s.rate_address_per_s, s.rate_address_burst)
        self.by_reporter = TokenBuckets(s.rate_reporter_per_s, s.rate_reporter_burst)
        self.prefix_cap = PrefixCap(s.prefix_cap, s.dedup_window_s) if s.prefix_cap else None

    def handle(self, body: bytes, content_type: bytes, address: str, user_agent: str) -> Outcome:
        out = self._handle(body, content_type, address, user_agent)
        if out.status >= 400:
            code = orjson.loads(out.body)["error"]["code"]
            self.rejected[code] = self.rejected.get(code, 0) + 1
            if code in LIMITS:
                self.runtime.limit_tripped(code, route="/v1/reports")
        return out

    async def durable(self, out: Outcome) -> Outcome:
        """Wait for the write-ahead log, which then counts the report; a log that cannot
        be written is a 503, and the report is not counted."""
        wal = self.runtime.wal
        if out.entry is None or wal is None:
            return out
        try:
            await wal.write([out.entry])
        except WalError as exc:
            if out.undo is not None:  # never acknowledged: the client's retry must count
                reporter, service, ts = out.undo
                self.runtime.pipeline.forget([reporter], [service], [ts])
            self.rejected["unavailable"] = self.rejected.get("unavailable", 0) + 1
            return error(503, "unavailable", f"reports cannot be stored right now: {exc}")
        return out

    def _handle(self, body: bytes, content_type: bytes, address: str, user_agent: str) -> Outcome:
        if len(body) > self.max_bytes:
            return error(413, "body_too_large", f"a report is at most {self.max_bytes} bytes")
        mime = content_type.split(b";", 1)[0].strip().lower()
        if mime not in JSON_TYPES:
            return error(
                415, "unsupported_media_type", "send the report as JSON (application/json)"
            )
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error(
                400,
                "invalid_json",
                'the body is not valid JSON; send an object such as {"service": "amazon"}',
            )
        try:
            report = parse_report(with_service_id(obj, self.runtime.catalog.policy))
        except ReportError as exc:
            return Outcome(422, orjson.dumps(exc.body()))
        rt = self.runtime
        if rt.disk_low:
            return _disk_full(rt.disk_free_mb)
        if rt.wal is not None and not rt.wal.usable():
            return error(503, "unavailable", f"reports cannot be stored right now: {rt.wal.error}")
        now = rt.clock.now()
        net = _hash(rt.memory_key, network_prefix(address))
        limited = self._limit(net, report.reporter, now)
        if limited is not None:
            return limited
        admission = rt.catalog.admit(report.service, report.region, now)
        if admission.verdict == "unknown":
            return error(
                422,
                "unknown_service",
                f"service {report.service!r} is not in the catalog; GET /v1/catalog lists "
                "the known ones",
                "service",
            )
        if admission.verdict == "limited":
            seconds = max(1, int(admission.retry_after + 0.999))
            out = error(
                429,
                "new_service_limit",
                f"too many new services this hour; retry in {seconds} s",
                "service",
            )
            out.headers.append((b"retry-after", str(seconds).encode()))
            return out
        reporter, alias = rt.reporter_ids(now, report.reporter, address, user_agent)
        allow = self.prefix_cap is None or self.prefix_cap.allows(net, report.service, now)
        region = admission.region
        # Decided now (dedup and the cap see reports in arrival order), counted only once
        # the log holds it: the write-ahead log applies it after the fsync.
        counted = rt.pipeline.decide(now, report.service, reporter, allow, alias)
        if counted and self.prefix_cap is not None:
            self.prefix_cap.note(net, report.service, now)
        elif not allow:
            rt.limit_tripped("prefix_cap", service=report.service)
        row: Row = (now, report.service, region, report.problem, reporter, counted)
        out = Outcome(202, ACCEPTED[counted])
        if rt.wal is None:  # in memory: nothing to wait for
            rt.pipeline.buffer(*row)
            return out
        out.entry = Entry([orjson.dumps(row)[1:-1]], partial(_buffer, rt.pipeline, row))
        if counted:
            out.undo = (reporter, report.service, now)
        return out

    def _limit(self, network: str, token: str | None, now: float) -> Outcome | None:
        ok, wait = self.by_address.take(network, now)
        if ok and token is not None:
            ok, wait = self.by_reporter.take(token, now)
        if ok:
            return None
        seconds = max(1, int(wait + 0.999))
        out = error(429, "rate_limited", f"too many reports from this client; retry in {seconds} s")
        out.headers.append((b"retry-after", str(seconds).encode()))
        return out


Row = tuple[float, str, str | None, str | None, str, bool]


def _buffer(pipeline: Pipeline, row: Row, seq: int) -> None:
    ts, service, region, problem, reporter, counted = row
    pipeline.buffer(ts, service, region, problem, reporter, counted, seq)


def _disk_full(free_mb: float | None) -> Outcome:
    out = error(
        503,
        "unavailable",
        f"the server's disk is nearly full ({free_mb or 0:.0f} MB free); reports are not "
        "taken until space is freed, retry later",
    )
    out.headers.append((b"retry-after", b"30"))
    return out


def _hash(salt: bytes, text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8, key=salt[:64]).hexdigest()
