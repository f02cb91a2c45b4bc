"""Schemathesis against our own OpenAPI description: whatever it sends, no 500s and
no response that breaks the schema (statuses, content types, bodies, Allow headers),
and requests the schema calls valid are accepted. The live stream never ends, so it
is left out."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import API_KEY, T0
from tests.conftest import settings as app_settings

app = create_app(app_settings(), ManualClock(T0))


async def served(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The real app, started once: schemathesis opens a client (and a lifespan) per
    call, and a stop closes the in-memory database."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await app(scope, receive, send)


schema = schemathesis.openapi.from_asgi("/openapi.json", served).exclude(path="/v1/outages/stream")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Skipped test cases with unsupported payload")
def test_api_never_fails_and_keeps_to_its_schema(case: schemathesis.Case) -> None:
    # Every call carries a valid Bearer key (below), so a call stripped of one scheme's
    # credentials still holds the other's: refusals are tests/test_admin_auth.py's.
    excluded = [ignored_auth]
    if {"cursor", "since", "from", "to"} & set(case.query or {}) or case.path == "/v1/import":
        # An opaque cursor, or a time, can be a schema-valid string and still not one
        # the server can read, and an import's ts must be recent (relative to the
        # server's clock, which a schema cannot say): those get a 422 that says so.
        excluded.append(positive_data_acceptance)
    if case.path in ("/v1/webhooks", "/v1/notifications") and case.method == "POST":
        # A schema-valid URL may lead inside (http://0/, http://10.1.1.1/) or name no
        # service Apprise knows: refused (422 internal_target, invalid_apprise_url).
        excluded.append(positive_data_acceptance)
    if case.path == "/v1/maintenance" and case.method == "POST":
        # Schema-valid times can still make a window that is in the past, too long or
        # ends first (relative to each other and to the server's clock): a 422 says so.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(headers={"authorization": f"Bearer {API_KEY}"}, excluded_checks=excluded)


def teardown_module() -> None:
    app.runtime.stop()
