"""Planned maintenance: windows an operator declares for a service, kept in DuckDB, and
the marks they give incidents.

Reports keep counting and detection runs as usual; an incident whose start falls in a
window (app/maintenance_windows.py) carries `maintenance: {id, note, ends_at}` in its
feed object, and its events notify no one (app/webhooks.py). A mark, once given, stays
with the incident (stored in its feed object, so across a restart too): deleting a window
later does not unmark what it covered, and a window declared while an incident is open
marks it from its next change on.
"""

from __future__ import annotations

import math
import secrets
import threading
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import polars as pl

from outagewatch.app.errors import ApiError
from outagewatch.app.maintenance_windows import Window, in_maintenance, upcoming
from outagewatch.ingest.report import ReportError, check_region, check_service
from outagewatch.ingest.store import Store
from outagewatch.ingest.windows import iso, parse_iso

MAX_LENGTH_S = 7 * 86400  # a longer "maintenance" would hide a week of real outages
MAX_AHEAD_S = 366 * 86400
MAX_NOTE = 500
FIELDS = frozenset({"service", "region", "starts_at", "ends_at", "note"})
EXAMPLE = (
    '{"service": "aws", "region": "DE", "starts_at": "2026-11-02T22:00:00Z", '
    '"ends_at": "2026-11-03T02:00:00Z", "note": "database upgrade"}'
)
SCHEMA = {
    "id": pl.String,
    "service": pl.String,
    "region": pl.String,
    "starts_at": pl.Float64,
    "ends_at": pl.Float64,
    "note": pl.String,
    "created_at": pl.Float64,
}


def check_window(body: object, window_id: str, now: float | None) -> Window:
    """A window from a request body (or a replay's file, where `now` is None and the
    rules about the present do not apply); every problem is a 422 naming its field."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", f"send an object such as {EXAMPLE}")
    fields: dict[str, Any] = body
    unknown = sorted(str(k) for k in fields.keys() - FIELDS)
    if unknown:
        raise ApiError(
            422,
            "unknown_field",
            f"unknown field {unknown[0][:40]!r}; a window takes {', '.join(sorted(FIELDS))}",
            unknown[0][:40],
        )
    try:
        service = check_service(fields.get("service"))
        region = check_region(fields.get("region"))
    except ReportError as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from None
    starts, ends = _time(fields, "starts_at"), _time(fields, "ends_at")
    if ends <= starts:
        raise ApiError(422, "invalid_window", "ends_at must be after starts_at", "ends_at")
    if ends - starts > MAX_LENGTH_S:
        raise ApiError(
            422,
            "window_too_long",
            f"ends_at must be at most {MAX_LENGTH_S // 86400} days after starts_at",
            "ends_at",
        )
    if now is not None and ends <= now:
        raise ApiError(
            422,
            "window_in_past",
            f"the window is wholly in the past: ends_at must be later than now ({iso(now)})",
            "ends_at",
        )
    if now is not None and starts > now + MAX_AHEAD_S:
        raise ApiError(
            422, "window_too_far", "starts_at must be within a year from now", "starts_at"
        )
    note = fields.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise ApiError(
            422, "invalid_note", f"note must be a string of at most {MAX_NOTE} characters", "note"
        )
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff" for c in note):
        # XML (the Atom feed) cannot carry these, even escaped
        raise ApiError(
            422, "invalid_note", "note must be one line of text, without control characters", "note"
        )
    return Window(window_id, service, region, starts, ends, note.strip())


def _time(fields: dict[str, Any], name: str) -> float:
    value = fields.get(name)
    if value is None:
        raise ApiError(
            422, "missing_field", f"{name} is required: a time such as 2026-11-02T22:00:00Z", name
        )
    try:
        ts = parse_iso(value) if isinstance(value, str) else math.nan
    except (ValueError, OverflowError):
        ts = math.nan
    if not math.isfinite(ts) or not 0 <= ts < 4102444800:  # 1970 to 2100
        raise ApiError(
            422,
            f"invalid_{name}",
            f"{name} must be an ISO-8601 time with a zone, such as 2026-11-02T22:00:00Z",
            name,
        )
    return ts


def new_id() -> str:
    return "mw_" + secrets.token_hex(8)


class Maintenance:
    """The windows, in DuckDB and in memory: an immutable tuple replaced on each change,
    which the writer thread reads without a lock. `version` moves on every change, so
    pages that list windows are rendered again."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()  # one change at a time
        self.version = 0
        rows = store.query(
            "SELECT id, service, region, starts_at, ends_at, note FROM maintenance ORDER BY id"
        )
        self.windows: tuple[Window, ...] = tuple(Window(*r) for r in rows)

    def add(self, window: Window, now: float) -> None:
        row = {**{k: getattr(window, k) for k in Window.__slots__}, "created_at": now}
        with self._lock:  # written through the store's one writer, as a batch of one
            self.store.append("maintenance", pl.DataFrame([row], schema=SCHEMA))
            self.windows = (*self.windows, window)
            self.version += 1

    def remove(self, window_id: str) -> bool:
        with self._lock:
            if not any(w.id == window_id for w in self.windows):
                return False
            self.store.write("DELETE FROM maintenance WHERE id = ?", [window_id])
            self.windows = tuple(w for w in self.windows if w.id != window_id)
            self.version += 1
            return True

    def upcoming(self, now: float, service: str | None = None) -> list[Window]:
        """Current and future windows (of one service), soonest first."""
        return upcoming(self.windows, now, service)


class Marks:
    """The pipeline's marker: gives each changed incident its `maintenance` field (a
    mark or None), before the incident is stored or any listener hears of it.

    Marks already given are kept by incident id (only marked incidents: few), so an
    incident keeps its mark whatever happens to its window; a restart passes in the
    marks of the open incidents it stored."""

    def __init__(
        self, windows: Callable[[], Sequence[Window]], given: dict[str, dict[str, Any]]
    ) -> None:
        self.windows = windows
        self.given = given

    @classmethod
    def restored(cls, windows: Callable[[], Sequence[Window]], store: Store) -> Marks:
        """Marks from `windows` (the server's, or a NATS worker's copy of the KV
        bucket's), keeping those the store's open incidents were given."""
        given = {d["id"]: d["maintenance"] for d in store.open_incidents() if d.get("maintenance")}
        return cls(windows, given)

    def __call__(self, changed: list[dict[str, Any]]) -> None:
        windows = self.windows()
        for d in changed:  # the incidents one advance changed, not reports
            mark = self.given.get(d["id"])
            if mark is None and windows:
                found = in_maintenance(
                    windows, (d["service"], d["region"]), parse_iso(d["started_at"])
                )
                if found is not None:
                    mark = self.given[d["id"]] = found.mark()
            d["maintenance"] = mark


def windows_from_json(raw: bytes) -> list[Window]:
    """Windows for `outagewatch replay --maintenance`: what GET /v1/maintenance answers
    (`{"maintenance": [...]}`) or a list of the same objects; an `id` is kept (else
    numbered), the rest is checked as a POST is, but for the rules about the present."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(422, "invalid_json", f"not valid JSON: {exc}") from None
    items = data.get("maintenance") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ApiError(422, "invalid_body", 'expected {"maintenance": [window, ...]}')
    out = []
    for i, item in enumerate(items, 1):
        given = item.pop("id", None) if isinstance(item, dict) else None
        window_id = given if isinstance(given, str) and given else f"mw_{i}"
        try:
            out.append(check_window(item, window_id, None))
        except ApiError as exc:
            raise ApiError(422, exc.code, f"window {i}: {exc.message}", exc.field) from None
    return out
