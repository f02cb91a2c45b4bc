"""Report intake: bytes in, an outcome out. No framework on this path.

One set of rules for every server that takes reports, the embedded server and a NATS
intake node alike (a report one accepts or refuses, the other does too, with the same
status and error body): body cap, media type, one orjson parse, hand-written checks,
rate limits, the catalog, the reporter's identity under rotating salts (app/privacy.py),
the per-network cap and dedup's verdict. What becomes of an accepted report is its
sink's: the embedded server's write-ahead log and pipeline (`LogSink`), or JetStream
(app/broker/intake_node.py). The raw-ASGI fast path and the documented route both call
`handle` and then await `durable`, so a 202 is only sent once the sink holds the
report, and a report is only counted once it is durable: a 503 is never counted.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol

import orjson

from outagewatch.app.catalog import ServiceCatalog, with_service_id
from outagewatch.app.errors import body_bytes
from outagewatch.app.privacy import ReporterSalts
from outagewatch.app.settings import Settings
from outagewatch.app.wal import Entry, WalError, WriteAheadLog
from outagewatch.ingest.clock import Clock
from outagewatch.ingest.limits import PrefixCap, TokenBuckets, network_prefix
from outagewatch.ingest.report import ReportError, parse_report

if TYPE_CHECKING:
    from outagewatch.app.runtime import Runtime

ACCEPTED = {
    True: b'{"accepted":true,"counted":true}',
    False: b'{"accepted":true,"counted":false}',
}
# Refusals that are limits (logged, app/logs.py LimitLog), not bad input.
LIMITS = frozenset({"rate_limited", "new_service_limit", "body_too_large", "unavailable"})
JSON_TYPES = (b"application/json", b"text/plain", b"")  # text/plain: CORS "simple" posts


# An accepted report: (server time, service, region, problem, reporter, counted).
Row = tuple[float, str, str | None, str | None, str, bool]


@dataclass
class Outcome:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    row: Row | None = None  # accepted: for the sink to keep before it is answered
    # Accepted on a NATS intake node: the client's network (app/privacy.py
    # network_hash), carried to the worker, which caps per network over every node.
    network: str | None = None


def error(status: int, code: str, message: str, field: str | None = None) -> Outcome:
    return Outcome(status, body_bytes(code, message, field))


class Unavailable(Exception):
    """The sink cannot keep a report now (its message says why): 503, not counted."""


class Sink(Protocol):
    """Where accepted reports go, and the dedup memory that judges them."""

    def refusal(self) -> Outcome | None:
        """A 503 while reports cannot be kept at all (checked before any limit)."""

    def decide(
        self, ts: float, service: str, reporter: str, allow: bool, alias: str | None
    ) -> bool:
        """Dedup's verdict (remembered), False whatever it says when `allow` is."""

    def forget(self, reporters: list[str | None], services: list[str], ts: list[float]) -> None:
        """Take back counted verdicts of reports that were never acknowledged."""

    async def keep(self, row: Row, network: str | None) -> None:
        """Make the report durable (then it counts); raises Unavailable."""


class Intake:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        catalog: ServiceCatalog,
        salts: ReporterSalts,
        sink: Sink,
        on_limit: Callable[..., None],
        memory_key: bytes,
    ) -> None:
        self.clock = clock
        self.catalog = catalog
        self.salts = salts
        self.sink = sink
        self.on_limit = on_limit  # (limit, **fields): a log line (app/logs.py LimitLog)
        self.memory_key = memory_key  # keys in-memory hashes only (rate limits, the cap)
        s = settings
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
                self.on_limit(code, route="/v1/reports")
        return out

    async def durable(self, out: Outcome) -> Outcome:
        """Wait for the sink, which then counts the report; a sink that cannot keep it
        is a 503, and the report is not counted."""
        if out.row is None:
            return out
        try:
            await self.sink.keep(out.row, out.network)
        except Unavailable as exc:
            ts, service, _, _, reporter, counted = out.row
            if counted:  # never acknowledged: the client's retry must count
                self.sink.forget([reporter], [service], [ts])
            self.rejected["unavailable"] = self.rejected.get("unavailable", 0) + 1
            return error(503, "unavailable", str(exc))
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
        given = (obj.get("service"), obj.get("region")) if isinstance(obj, dict) else None
        try:
            report = parse_report(with_service_id(obj, self.catalog.policy))
        except ReportError as exc:
            return Outcome(422, orjson.dumps(exc.body()))
        refusal = self.sink.refusal()
        if refusal is not None:
            return refusal
        now = self.clock.now()
        net = _hash(self.memory_key, network_prefix(address))
        limited = self._limit(net, report.reporter, now)
        if limited is not None:
            return limited
        admission = self.catalog.admit(report.service, report.region, now)
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
        reporter, alias = self.salts.ids(now, report.reporter, address, user_agent)
        allow = self.prefix_cap is None or self.prefix_cap.allows(net, report.service, now)
        # Decided now (dedup and the cap see reports in arrival order), counted only once
        # the sink holds it.
        counted = self.sink.decide(now, report.service, reporter, allow, alias)
        if counted and self.prefix_cap is not None:
            self.prefix_cap.note(net, report.service, now)
        elif not allow:
            self.on_limit("prefix_cap", service=report.service)
        row: Row = (now, report.service, admission.region, report.problem, reporter, counted)
        return Outcome(202, _accepted(counted, given, report.service, report.region), row=row)

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


class LogSink:
    """The embedded server's sink: the write-ahead log, then the pipeline's buffer (the
    log applies a report, in sequence order, once it is on disk).

    Reports accepted in one turn of the event loop go to the log together: one entry,
    one hand-over to the committer and, once durable, one call that buffers them all,
    instead of one of each per report. Each request still waits until its own report
    is on disk and buffered."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pipeline = runtime.pipeline
        self.decide = runtime.pipeline.decide
        self.forget = runtime.pipeline.forget
        self._turns: dict[asyncio.AbstractEventLoop, _Turn] = {}

    def refusal(self) -> Outcome | None:
        rt = self.runtime
        if rt.disk_low:
            return _disk_full(rt.disk_free_mb)
        if (held := rt.held_back_error()) is not None:
            return _retry_later(held)
        if rt.wal is not None and not rt.wal.usable():
            return error(503, "unavailable", f"reports cannot be stored right now: {rt.wal.error}")
        return None

    async def keep(self, row: Row, network: str | None = None) -> None:
        # `network` is not needed here: this server capped the report at intake.
        wal = self.runtime.wal
        if wal is None:  # in memory: nothing to wait for
            self.pipeline.buffer(*row)
            return
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:  # the first report of this turn: log them all at its end
            turn = self._turns[loop] = _Turn()
            loop.call_soon(self._log, loop, wal)
        turn.rows.append(row)
        waiter: asyncio.Future[None] = loop.create_future()
        turn.waiters.append(waiter)
        try:
            await waiter  # its own future: a client that hangs up cancels only its wait
        except WalError as exc:
            raise Unavailable(f"reports cannot be stored right now: {exc}") from None

    def _log(self, loop: asyncio.AbstractEventLoop, wal: WriteAheadLog) -> None:
        turn = self._turns.pop(loop)
        rests = [orjson.dumps(row)[1:-1] for row in turn.rows]
        group, _ = wal.enqueue([Entry(rests, partial(self.pipeline.buffer_many, turn.rows))])
        group.add_done_callback(lambda done: _settle(turn.waiters, done.exception()))


@dataclass
class _Turn:
    """Reports accepted in one turn of the event loop, and their requests' futures."""

    rows: list[Row] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


def _settle(waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    for waiter in waiters:
        if waiter.done():  # its client hung up; the report was kept all the same
            continue
        if exc is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(exc)


def embedded_intake(runtime: Runtime) -> Intake:
    """The embedded server's intake: the rules above, the log and pipeline behind."""
    rt = runtime
    return Intake(
        rt.settings, rt.clock, rt.catalog, rt.salts, LogSink(rt), rt.limit_tripped, rt.memory_key
    )


def _accepted(
    counted: bool, given: tuple[object, object] | None, service: str, region: str | None
) -> bytes:
    """The 202 body: the fixed bytes, unless a name was taken as typed ("Amazon", "it"),
    when it also says what it was read as, so a client can send that next time."""
    if given is None or given == (service, region):
        return ACCEPTED[counted]
    normalised: dict[str, str] = {}
    if given[0] != service:
        normalised["service"] = service
    if isinstance(given[1], str) and given[1] != region and region is not None:
        normalised["region"] = region
    if not normalised:  # a region from the time zone, say: nothing was renamed
        return ACCEPTED[counted]
    return orjson.dumps({"accepted": True, "counted": counted, "normalised": normalised})


def _disk_full(free_mb: float | None) -> Outcome:
    return _retry_later(
        f"the server's disk is nearly full ({free_mb or 0:.0f} MB free); reports are not "
        "taken until space is freed, retry later"
    )


def _retry_later(message: str) -> Outcome:
    out = error(503, "unavailable", message)
    out.headers.append((b"retry-after", b"30"))
    return out


def _hash(salt: bytes, text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8, key=salt[:64]).hexdigest()
