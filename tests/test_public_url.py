"""Absolute links come from settings (OUTAGEWATCH_PUBLIC_URL), never from the Host header.

The feeds and the embed card are cached publicly: a link taken from a forged Host
would be served to everyone behind the same cache."""

from __future__ import annotations

import httpx
import pytest

from outagewatch.app.main import create_app
from outagewatch.app.settings import Settings
from outagewatch.ingest.clock import ManualClock
from tests.conftest import serving, settings, surge, tick_to, warm_up

FORGED = "evil.example"
PAGES = ("/v1/outages.atom", "/v1/outages.feed.json", "/embed/tinyapp")


@pytest.mark.parametrize(
    "public_url, origin",
    [("https://status.example.com/", "https://status.example.com"), ("", "http://127.0.0.1:8000")],
)
def test_a_forged_host_does_not_reach_feeds_or_embed(
    clock: ManualClock, public_url: str, origin: str
) -> None:
    app = create_app(settings(public_url=public_url), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        warm_up(app, client, clock)
        surge(client, clock)
        tick_to(app, clock, clock.now() + 120)
        assert client.get("/v1/outages").json()["outages"], "an incident for the feeds"
        for path in PAGES:
            forged = client.get(path, headers={"host": FORGED, "x-forwarded-host": FORGED})
            assert forged.status_code == 200, (path, forged.text)
            assert FORGED not in forged.text, path
            assert f"{origin}/s/tinyapp" in forged.text, path  # the configured origin
            honest = client.get(path)
            assert honest.content == forged.content, path  # one answer, whoever asks


def test_a_public_url_that_is_not_absolute_stops_the_start() -> None:
    for bad in ("status.example.com", "ftp://x", "https://x/?q=1", 'https://x/"><script>'):
        with pytest.raises(ValueError, match="OUTAGEWATCH_PUBLIC_URL"):
            create_app(Settings(data=None, public_url=bad))
    env = {"OUTAGEWATCH_PUBLIC_URL": "https://status.example.com/outages/"}
    assert Settings.from_env(env).base_url == "https://status.example.com/outages"
