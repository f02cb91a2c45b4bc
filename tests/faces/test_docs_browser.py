"""/docs in real Chromium with the network closed: every request that is not to this
server is refused, and Swagger UI still renders every operation."""

from __future__ import annotations

from typing import Any

import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import serving, settings
from tests.faces.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
]


def test_docs_render_offline(clock: ManualClock, browser: Any) -> None:
    app = create_app(settings(), clock)
    with serving(app) as base:
        spec = app.api.openapi()
        count = sum(
            1
            for item in spec["paths"].values()
            for method in item
            if method in ("get", "post", "put", "delete")
        )
        page = browser.new_page()
        outside: list[str] = []
        problems: list[str] = []

        def only_here(route: Any) -> None:
            if route.request.url.startswith(base + "/"):
                route.continue_()
            else:  # the network beyond this server is closed
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_here)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        try:
            page.goto(base + "/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.locator(".opblock").count() == count
            assert page.locator(".opblock-summary-path", has_text="/v1/reports").count() >= 1
            assert page.locator(".scheme-container .authorize").count() == 1  # the key schemes
        finally:
            page.close()
        assert outside == []
        assert problems == []
