"""X-Forwarded-For through a real uvicorn server: believed only from configured proxies.

Every request here comes from 127.0.0.1, which uvicorn trusts by default; a client
rotating X-Forwarded-For used to pose as a crowd of networks."""

from __future__ import annotations

import httpx
import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import run_async, serving, settings


def _post_rotating(base: str, n: int) -> list[httpx.Response]:
    """n reports, each with its own token and a forwarded address in its own /24."""
    with httpx.Client(base_url=base, timeout=10) as client:
        return [
            client.post(
                "/v1/reports",
                json={"service": "aws", "reporter": f"tok{i}"},
                headers={"x-forwarded-for": f"198.51.{i}.7"},
            )
            for i in range(n)
        ]


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(clock: ManualClock) -> None:
    limits = {"prefix_cap": 3, "rate_address_per_s": 0.01, "rate_address_burst": 6}
    # Default: no trusted proxies. One client is one network, whatever it forwards.
    app = create_app(settings(**limits), clock)
    with serving(app) as base:
        out = _post_rotating(base, 12)
    assert [r.status_code for r in out] == [202] * 6 + [429] * 6  # the per-network rate limit
    assert sum(r.json()["counted"] for r in out[:6]) == 3  # the per-network cap
    assert out[6].json()["error"]["code"] == "rate_limited" and "retry-after" in out[6].headers

    # Behind a proxy on 127.0.0.1 that is named: its X-Forwarded-For is the client.
    app = create_app(settings(trusted_proxies=("127.0.0.1",), **limits), clock)
    with serving(app) as base:
        out = _post_rotating(base, 12)
    assert [r.status_code for r in out] == [202] * 12
    assert all(r.json()["counted"] for r in out)  # twelve networks, twelve people

    # A trusted proxy forwarding junk or a spoofed chain: the rightmost hop it vouches for.
    app = create_app(settings(trusted_proxies=("127.0.0.0/8",), **limits), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        codes = [
            client.post(
                "/v1/reports",
                json={"service": "aws", "reporter": f"junk{i}"},
                headers={"x-forwarded-for": f"not-an-ip-{i}, 203.0.113.5"},
            ).status_code
            for i in range(8)
        ]
    assert codes == [202] * 6 + [429] * 2  # all from 203.0.113.5, one network


def test_the_fast_path_and_the_pages_agree_on_the_client(clock: ManualClock) -> None:
    """The no-JS report form (a FastAPI route) is limited by the same derived address."""

    app = create_app(settings(rate_address_per_s=0.01, rate_address_burst=2), clock)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
        codes = []
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for i in range(3):
                r = await c.post(
                    "/s/aws/report",
                    data={"problem": "login"},
                    headers={"x-forwarded-for": f"198.51.{i}.7"},
                )
                codes.append(r.status_code)
        return codes

    codes = run_async(run())
    assert codes[:2] == [303, 303]  # reported, back to the page
    assert app.intake.rejected == {"rate_limited": 1}  # the third: one network, limited


def test_a_bad_trusted_proxies_entry_stops_the_start(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="OUTAGEWATCH_TRUSTED_PROXIES"):
        create_app(settings(trusted_proxies=("proxy.local",)), clock)
