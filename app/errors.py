"""Every error is `{"error": {"code", "message", "field"}}`, with a message a person can
act on; never FastAPI's default shapes, never a 500 for bad input."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from outagewatch.app.responses import JSON
from outagewatch.app.schemas import ErrorBody
from outagewatch.ingest.report import ReportError

log = logging.getLogger("outagewatch")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers


def body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    """The one error body, for every answer that is not a success.

    >>> body("rate_limited", "Slow down.")
    {'error': {'code': 'rate_limited', 'message': 'Slow down.', 'field': None}}
    """
    return {"error": {"code": code, "message": message, "field": field}}


def body_bytes(code: str, message: str, field: str | None = None) -> bytes:
    """`body` as JSON bytes, for the answers written below FastAPI.

    >>> body_bytes("not_found", "No such service.", "service")
    b'{"error":{"code":"not_found","message":"No such service.","field":"service"}}'
    """
    return orjson.dumps(body(code, message, field))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSON:
        return JSON(
            body(exc.code, exc.message, exc.field), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(ReportError)
    async def _report(_: Request, exc: ReportError) -> JSON:
        return JSON(exc.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        code = CODES.get(exc.status_code, "error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
        if exc.status_code == 405:  # every method of every route on this path, not one route's
            headers["allow"] = ", ".join(_allowed(request))
        return JSON(body(code, message), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSON:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("query", "path", "body")]
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg', 'invalid')}" if field else first.get("msg", "")
        return JSON(body("invalid_input", message, field), status_code=422)


def _allowed(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


# Statuses any operation may answer with the error body, and those of keyed operations.
COMMON = {400: "Malformed request", 404: "Not found", 422: "Invalid input"}
WRITES = {413: "Body too large", 415: "Unsupported media type", 429: "Rate limited",
          503: "Cannot store right now (disk, log)"}  # fmt: skip
KEYED = {401: "Missing or invalid API key", 403: "Admin endpoints are off",
         429: "Too many wrong API keys from this network (Retry-After)"}  # fmt: skip


def document(app: FastAPI) -> None:
    """Write the error contract into the OpenAPI description, so clients (and
    schemathesis) know every status an operation can answer with, and with which body:
    ours (ErrorBody), also where FastAPI would name its own HTTPValidationError."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        error = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error.pop("$defs", {}))
        components["ErrorBody"] = error
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        ref = {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        }
        for item in spec.get("paths", {}).values():
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                params = {p.get("name") for p in op.get("parameters", [])}
                codes = dict(COMMON)
                if method in ("post", "put", "delete"):
                    codes |= WRITES
                if op.get("security") or params & {"authorization", "x-api-key"}:
                    codes |= KEYED  # admin routes (app/auth.py)
                for status, text in codes.items():
                    answer = op["responses"].setdefault(str(status), {"description": text})
                    if status < 500 or "content" not in answer:  # a 503 may have its own body
                        answer.update(ref)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
