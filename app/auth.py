"""Admin routes: one API key check, as a dependency, declared in the OpenAPI description
as two security schemes (a Bearer token, or the X-API-Key header)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from outagewatch.app.errors import ApiError
from outagewatch.app.keys import ApiKeys, FailureThrottle
from outagewatch.ingest.clock import Clock

BEARER = HTTPBearer(auto_error=False, description="an API key (`outagewatch new-key`)")
HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key")


class Keyed(Protocol):
    """What the key check reads: the embedded server's Runtime, or a NATS intake node."""

    clock: Clock
    api_keys: ApiKeys
    admin_failures: FailureThrottle

    def limit_tripped(self, limit: str, **fields: Any) -> None: ...


def admin(rt: Keyed) -> list[Any]:
    """`dependencies=` for a route that needs an API key."""

    def check(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
        key: Annotated[str | None, Depends(HEADER)],
    ) -> None:
        given = f"Bearer {bearer.credentials}" if bearer is not None else None
        require_key(rt, request, given, key)

    dependency: Callable[..., None] = check
    return [Depends(dependency)]


def require_key(
    rt: Keyed, request: Request, authorization: str | None, x_api_key: str | None
) -> None:
    """The key is `X-API-Key` when that is not empty, else the Bearer token. Wrong
    keys are counted per client network; past `admin_failures_per_minute`, 429."""
    if not rt.api_keys:
        raise ApiError(
            403,
            "admin_disabled",
            "admin endpoints are off: start the server with OUTAGEWATCH_API_KEYS "
            "(`outagewatch new-key` makes one)",
        )
    address = request.client.host if request.client else ""
    now = rt.clock.now()
    wait = rt.admin_failures.wait(address, now)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        rt.limit_tripped("admin_failures")
        raise ApiError(
            429,
            "too_many_failures",
            f"too many wrong API keys from this network; retry in {seconds} s",
            headers={"retry-after": str(seconds)},
        )
    given = (x_api_key or "").strip()
    if not given and authorization and authorization[:7].lower() == "bearer ":
        given = authorization[7:].strip()
    if not given:
        raise ApiError(401, "missing_api_key", "send an API key as 'Authorization: Bearer KEY'")
    if not rt.api_keys.check(given):
        rt.admin_failures.fail(address, now)
        raise ApiError(401, "invalid_api_key", "that API key is not valid")
