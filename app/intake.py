"""Report intake: bytes in, (status, JSON bytes) out. No framework on this path.

It runs for every report on outage day, so it does the least that is safe: one
orjson parse, hand-written checks, a dict lookup for dedup, an append to the
pipeline's buffer. The raw-ASGI fast path and the documented FastAPI route both
call `handle`, so the two cannot drift apart.
"""

from __future__ import annotations

import orjson

from app.runtime import Runtime
from ingest.report import ReportError, parse_report

ACCEPTED = {
    True: b'{"accepted":true,"counted":true}',
    False: b'{"accepted":true,"counted":false}',
}
JSON_TYPES = (b"application/json", b"text/plain", b"")  # text/plain: CORS "simple" posts


def error(status: int, code: str, message: str, field: str | None = None) -> tuple[int, bytes]:
    return status, orjson.dumps({"error": {"code": code, "message": message, "field": field}})


class Intake:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.max_bytes = runtime.settings.max_report_bytes
        self.rejected: dict[str, int] = {}

    def handle(
        self, body: bytes, content_type: bytes, address: str, user_agent: str
    ) -> tuple[int, bytes]:
        status, out = self._handle(body, content_type, address, user_agent)
        if status >= 400:
            code = orjson.loads(out)["error"]["code"]
            self.rejected[code] = self.rejected.get(code, 0) + 1
        return status, out

    def _handle(
        self, body: bytes, content_type: bytes, address: str, user_agent: str
    ) -> tuple[int, bytes]:
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
            report = parse_report(obj)
        except ReportError as exc:
            return 422, orjson.dumps(exc.body())
        rt = self.runtime
        reporter = rt.reporter_id(report.reporter, address, user_agent)
        counted = rt.pipeline.submit(
            rt.clock.now(), report.service, report.region, report.problem, reporter
        )
        return 202, ACCEPTED[counted]
