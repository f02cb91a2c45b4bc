"""Request body schemas for the routes that read raw bodies (for speed or for exact
error messages): written from the validators' own rules so the OpenAPI description
and the checks cannot drift apart."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from outagewatch.app.i18n import LANGUAGES
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
LANG_CHOICE = {
    "type": ["string", "null"],
    "enum": [*LANGUAGES, None],
    "description": "the language of the words people read (Slack, Apprise); "
    "default: the server's (OUTAGEWATCH_LANGUAGE)",
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
        "lang": LANG_CHOICE,
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
        "lang": LANG_CHOICE,
    },
}
CATALOG_ENTRY = {
    "type": "object",
    "properties": {
        "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
        "providers": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": 5,
            "description": "services it runs on (each in the catalog; not itself; no "
            "cycles); absent: kept as they are, [] none",
        },
    },
}
ANNOTATION = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"},
        "author": {"type": ["string", "null"], "maxLength": 64},
    },
}
LOG_GAP_ACK = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"note": {"type": ["string", "null"], "maxLength": 500}},
}
MAINTENANCE = {
    "type": "object",
    "required": ["service", "starts_at", "ends_at"],
    "additionalProperties": False,
    "properties": {
        "service": SERVICE,
        "region": {**REGION, "description": "only this region's series (default: every one)"},
        "starts_at": {"type": "string", "format": "date-time", "example": "2026-11-02T22:00:00Z"},
        "ends_at": {
            "type": "string",
            "format": "date-time",
            "description": "after starts_at, at most 7 days later, and not in the past",
            "example": "2026-11-03T02:00:00Z",
        },
        "note": {"type": ["string", "null"], "maxLength": 500},
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


def returns(
    media_type: str, description: str, schema: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses` for an operation whose 200 is not JSON (feeds, SVG, metrics, SSE):
    text unless told otherwise."""
    return {200: {"content": {media_type: {"schema": schema or TEXT}}, "description": description}}


# --- Response bodies -------------------------------------------------------------------
# Documentation only: routes answer with pre-rendered JSON (orjson, ETag), so these models
# describe what is sent without being run on it. Extra fields are allowed (contracts grow
# by adding fields), and tests/test_schema.py checks real answers against them.

Level = Literal["possible", "outage"]


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable")
    message: str = Field(description="what to fix, for a person")
    field: str | None = Field(default=None, description="the input at fault")


class ErrorBody(BaseModel):
    """Every answer that is not a success."""

    error: ErrorDetail


class Accepted(BaseModel):
    accepted: bool
    counted: bool = Field(description="false: a duplicate within the dedup window, not counted")
    normalised: dict[str, str] | None = Field(
        None,
        description="only when a name was taken as typed: what `service` and `region` were "
        'read as, e.g. {"service": "amazon", "region": "IT"} for "Amazon" and "it"',
    )


class ImportResult(BaseModel):
    accepted: int = Field(description="rows read")
    reports: int = Field(description="reports they stand for (rows x count)")
    counted: int
    not_counted: int
    duplicates: int
    too_late: int = Field(description="in minutes already closed: stored, not counted")
    closed_before: str | None = Field(default=None, description="the first minute still open")
    message: str | None = None


class Peak(BaseModel):
    at: str | None
    reports: int
    expected: float


class ProblemShare(BaseModel):
    problem: str
    share: float


class RegionReports(BaseModel):
    region: str
    reports: int
    level: Level | None = None


class Annotation(BaseModel):
    id: str
    at: str | None
    author: str | None
    text: str


class Cause(BaseModel):
    service: str = Field(description="a provider the service declares in the catalog")
    incident: str = Field(description="the provider's incident (its id)")


class Incident(BaseModel):
    """The feed object of the contracts (design.md), times ISO-8601 UTC."""

    id: str
    service: str
    region: str | None
    level: Level
    state: Literal["open", "resolved"]
    started_at: str | None
    opened_at: str | None
    confirmed_at: str | None
    ended_at: str | None
    resolved_at: str | None
    peak: Peak
    total_reports: int
    top_problems: list[ProblemShare]
    regions: list[RegionReports]
    related: list[str]
    because_of: list[Cause] = Field(
        default_factory=list,
        description="declared providers in outage when it opened or was confirmed: "
        "probably its cause",
    )
    maintenance: MaintenanceMark | None = Field(
        default=None, description="set when it started inside a planned maintenance window"
    )


class IncidentWithNotes(Incident):
    annotations: list[Annotation]


class Outages(BaseModel):
    outages: list[Incident]
    next_cursor: str | None = Field(default=None, description="pass as cursor for the next page")


class ServiceSummary(BaseModel):
    service: str
    name: str = Field(description="what people call it: the catalog's display name, else the slug")
    level: Literal["none", "possible", "outage"]
    learning: bool = Field(description="no baseline yet: 'none' means nothing overwhelming")
    reports_1h: int
    reports_24h: int


class Services(BaseModel):
    services: list[ServiceSummary]


class Point(BaseModel):
    ts: str
    count: int
    expected: float
    upper: float = Field(description="the top of the normal band")
    level: Literal["", "possible", "outage"]
    open: bool | None = Field(
        None, description="true: its minute is not over yet, the count is reports so far"
    )


class ProblemReports(ProblemShare):
    reports: int


class ServiceDetail(ServiceSummary):
    bucket_seconds: int
    open_incidents: list[Incident]
    series: list[Point]
    top_problems: list[ProblemReports]
    regions: list[RegionReports]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    error: str | None
    disk_free_mb: int | None
    stream_time: str | None
    closed_until: str | None
    series: int
    open_incidents: int
    reports_accepted: int
    reports_counted: int
    held_back_reports: int = Field(
        description="acknowledged reports whose database write failed, kept to be retried"
    )
    log_gap: str | None = Field(description="a gap in stored sequence numbers, if any")
    log_reset: str | None = Field(description="the log found shorter than the database at start")
    database: Literal["memory", "file"]


class CatalogEntry(BaseModel):
    service: str
    name: str | None
    source: str | None = None
    regions: list[str] = Field(
        default_factory=list, description="where it mainly operates (ISO 3166-1); empty: worldwide"
    )
    providers: list[str] = Field(
        default_factory=list, description="the services it runs on (declared dependencies)"
    )


class Catalog(BaseModel):
    accept_unknown_services: bool
    services: list[CatalogEntry]


class Annotations(BaseModel):
    annotations: list[Annotation]


class Webhook(BaseModel):
    id: str
    url: str
    service: str | None
    region: str | None
    format: str
    level: Level | None
    lang: str | None = Field(description="the language of its words; null: the server's")


class NewWebhook(Webhook):
    secret: str = Field(description="the HMAC key of Outagewatch-Signature; shown only now")


class Webhooks(BaseModel):
    webhooks: list[Webhook]


class Delivery(BaseModel):
    id: str
    event_id: int
    event: str
    attempts: int
    status: str
    next_at: float | None
    last_error: str | None


class Deliveries(BaseModel):
    deliveries: list[Delivery]


class Notification(BaseModel):
    id: str
    apprise: str = Field(description="the Apprise URL, its secrets masked")
    service: str | None
    region: str | None
    level: Level | None
    lang: str | None = Field(description="the language of its words; null: the server's")


class Notifications(BaseModel):
    notifications: list[Notification]


class GroupRegion(BaseModel):
    region: str
    level: Level
    reports: int


class ServiceOutage(BaseModel):
    """One service's incidents that overlap in time, service-wide and regional."""

    service: str
    level: Level
    state: Literal["open", "resolved"]
    started_at: str
    ended_at: str | None
    total_reports: int
    regions: list[GroupRegion]
    incidents: list[str] = Field(description="ids of its /v1/outages objects")


class OutageGroup(BaseModel):
    """One entry per outage: a service's regions together, and the services depending on it."""

    id: str = Field(description="the id of its earliest incident")
    service: str
    level: Level
    state: Literal["open", "resolved"]
    started_at: str
    opened_at: str
    ended_at: str | None
    total_reports: int
    regions: list[GroupRegion]
    dependants: list[str]
    services: list[ServiceOutage]
    incidents: list[Incident]


class GroupedOutages(BaseModel):
    outages: list[OutageGroup]
    next_cursor: str | None = Field(default=None, description="pass as cursor for the next page")


class MaintenanceWindow(BaseModel):
    id: str
    service: str
    region: str | None
    starts_at: str
    ends_at: str
    note: str | None = None


class MaintenanceWindows(BaseModel):
    maintenance: list[MaintenanceWindow] = Field(description="current and upcoming, soonest first")


class MaintenanceMark(BaseModel):
    id: str
    note: str | None = None
    ends_at: str


class LogGap(BaseModel):
    first_seq: int
    last_seq: int
    acknowledged_at: str
    note: str


class LogGaps(BaseModel):
    current: str | None = Field(description="a gap found at start, not yet acknowledged")
    log_reset: str | None = Field(
        description="the log found shorter than the database at start, not yet acknowledged"
    )
    acknowledged: list[LogGap] = Field(description="gaps acknowledged so far, oldest first")


def model(cls: type[BaseModel], description: str = "OK") -> dict[str, Any]:
    """One entry of `responses=`: a JSON answer described by a model."""
    return {"model": cls, "description": description}


TEXT = {"type": "string"}
