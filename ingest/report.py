"""The report: one person saying a service is broken for them.

Validation is hand-written on purpose: it runs on the intake hot path for every
request, and a plain function over a dict is several times cheaper than a model
class. Every failure names the field and says how to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from outagewatch.ingest.regions import REGIONS
from outagewatch.ingest.zones import country_of_zone

SERVICE_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
PROBLEM_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
REPORTER_RE = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces
PROBLEMS: tuple[str, ...] = ("login", "app", "website", "payments", "connection", "other")

REPORT_FIELDS = frozenset({"service", "region", "problem", "reporter"})
BULK_FIELDS = REPORT_FIELDS | {"ts", "count"}
# Pages and the widget send the browser's time zone, which stands in for a region.
CLIENT_FIELDS = REPORT_FIELDS | {"tz"}
MAX_COUNT = 1_000_000


class ReportError(ValueError):
    """A report that cannot be accepted; maps to a 4xx with the contract's error body."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


@dataclass(frozen=True, slots=True)
class Report:
    service: str
    region: str | None
    problem: str | None
    reporter: str | None


def _clip(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_service(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ReportError(
            "missing_field", "service is required: a slug such as 'amazon'", "service"
        )
    if SERVICE_RE.fullmatch(value) is None:
        raise ReportError(
            "invalid_service",
            f"service {_clip(value)} is not a slug: use 1-64 of a-z, 0-9, '.', '_', '-', "
            "starting with a letter or digit, lower case",
            "service",
        )
    return value


def check_region(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.upper() not in REGIONS:
        raise ReportError(
            "invalid_region",
            f"region {_clip(value)} is not an ISO 3166-1 alpha-2 country code such as 'IT' "
            "or 'US'; leave it out if unknown",
            "region",
        )
    return value.upper()


def region_of_zone(value: object) -> str | None:
    """The country of an IANA time zone name; a name it does not know is no region."""
    if value is None or isinstance(value, str):
        return country_of_zone(value)
    raise ReportError(
        "invalid_tz",
        f"tz {_clip(value)} is not a time zone name: send a string such as "
        "'Europe/Warsaw', or leave it out",
        "tz",
    )


def check_problem(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or PROBLEM_RE.fullmatch(value) is None:
        raise ReportError(
            "invalid_problem",
            f"problem {_clip(value)} is not a short slug; use one of {', '.join(PROBLEMS)} "
            "or another 1-32 character slug of a-z, 0-9, '_', '-'",
            "problem",
        )
    return value


def check_reporter(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or REPORTER_RE.fullmatch(value) is None:
        raise ReportError(
            "invalid_reporter",
            "reporter must be an opaque token of 1-128 printable ASCII characters, no spaces",
            "reporter",
        )
    return value


def check_fields(obj: object, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ReportError(
            "invalid_body",
            "a report must be a JSON object such as "
            '{"service": "amazon", "region": "IT", "problem": "login"}',
        )
    unknown = obj.keys() - allowed
    if unknown:
        name = sorted(str(k) for k in unknown)[0]
        raise ReportError(
            "unknown_field",
            f"unknown field {_clip(name)}; a report takes {', '.join(sorted(allowed))}",
            name,
        )
    return obj


def parse_report(obj: object) -> Report:
    """Validate one client report (no `ts`/`count`: clients cannot backdate). Without a
    region, the browser's time zone `tz` gives one when the tz database knows it.

    >>> parse_report({"service": "amazon", "region": "it"})
    Report(service='amazon', region='IT', problem=None, reporter=None)
    >>> parse_report({"service": "amazon", "tz": "Europe/Warsaw"}).region
    'PL'
    """
    d = check_fields(obj, CLIENT_FIELDS)
    zone = region_of_zone(d.get("tz"))  # checked even beside a region: a bad tz is a 422
    return Report(
        service=check_service(d.get("service")),
        region=check_region(d.get("region")) or zone,
        problem=check_problem(d.get("problem")),
        reporter=check_reporter(d.get("reporter")),
    )


def check_count(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ReportError("invalid_count", "count must be a whole number of reports", "count")
    if not 0 <= value <= MAX_COUNT:
        raise ReportError("invalid_count", f"count must be between 0 and {MAX_COUNT}", "count")
    return int(value)
