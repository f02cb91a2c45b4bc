"""Request body schemas for the routes that read raw bodies (for speed or for exact
error messages): written from the validators' own rules so the OpenAPI description
and the checks cannot drift apart."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path

from outagewatch.ingest.regions import REGIONS
from outagewatch.ingest.report import MAX_COUNT, PROBLEM_RE, REPORTER_RE, SERVICE_RE

SERVICE = {"type": "string", "pattern": f"^{SERVICE_RE.pattern}$", "example": "amazon"}
REGION = {
    "type": ["string", "null"],
    "enum": [*sorted(REGIONS), "", None],  # empty: unknown
    "description": "ISO 3166-1 alpha-2, e.g. IT",
}
PROBLEM = {
    "type": ["string", "null"],
    "pattern": f"^({PROBLEM_RE.pattern})?$",
    "description": "login, app, website, payments, connection, other, or another slug",
}

REPORT = {
    "type": "object",
    "required": ["service"],
    "additionalProperties": False,
    "properties": {
        "service": SERVICE,
        "region": REGION,
        "problem": PROBLEM,
        "reporter": {
            "type": ["string", "null"],
            "pattern": f"^({REPORTER_RE.pattern})?$",  # empty: no token
            "description": "opaque client token",
        },
        "tz": {
            "type": ["string", "null"],
            "description": "the browser's IANA time zone, e.g. Europe/Warsaw: without a region, "
            "the report counts for its country (tz database's zone table); an unknown zone "
            "means no region",
            "example": "Europe/Warsaw",
        },
    },
}
# A receiver: http(s), a host name or IPv4 address, maybe a port, printable ASCII after.
WEBHOOK_URL_RE = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[!-~]*)?")
LEVEL_FILTER = {
    "type": ["string", "null"],
    "enum": ["possible", "outage", None],
    "description": "notify only at this level or above (default: every level)",
}
WEBHOOK = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": f"^{WEBHOOK_URL_RE.pattern}$", "maxLength": 2048},
        "service": {**SERVICE, "type": ["string", "null"]},
        "region": REGION,
        "format": {"type": "string", "enum": ["json", "slack"]},
        "level": LEVEL_FILTER,
    },
}
NOTIFICATION = {
    "type": "object",
    "required": ["apprise"],
    "properties": {
        "apprise": {
            "type": "string",
            "minLength": 1,
            "maxLength": 2048,
            "description": "an Apprise URL: discord://..., tgram://..., mailto://..., ntfy://...",
            "example": "ntfy://outagewatch-alerts",
        },
        "service": {**SERVICE, "type": ["string", "null"]},
        "region": REGION,
        "level": LEVEL_FILTER,
    },
}
CATALOG_ENTRY = {
    "type": "object",
    "properties": {"name": {"type": ["string", "null"], "minLength": 1, "maxLength": 100}},
}
ANNOTATION = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"},
        "author": {"type": ["string", "null"], "maxLength": 64},
    },
}


IMPORT_ROW = {
    "type": "object",
    "required": ["service", "ts"],
    "additionalProperties": False,
    "properties": {
        # The report's fields but the browser's time zone: import rows name their region.
        **{k: v for k, v in REPORT["properties"].items() if k != "tz"},  # type: ignore[attr-defined]
        "ts": {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number", "minimum": 0, "maximum": 4102444800},
            ],
            "description": "RFC 3339 time or epoch seconds, within the last 7 days "
            "(OUTAGEWATCH_IMPORT_MAX_AGE_S) and at most 5 minutes ahead of the server",
        },
        "count": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
    },
}
IMPORT = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": IMPORT_ROW, "minItems": 1}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


ServicePath = Annotated[
    str, Path(pattern=f"^{SERVICE_RE.pattern}$", description="a service slug", examples=["amazon"])
]


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a JSON request body."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


def returns(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses` for an operation whose 200 is not JSON (feeds, SVG, metrics, SSE)."""
    return {200: {"content": {media_type: {}}, "description": description}}
