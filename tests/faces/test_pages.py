"""Status pages without a browser: headers, escaping, the no-JS form, CORS."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from outagewatch.app.main import OutageWatch
from tests.faces.conftest import counted

Outage = tuple[OutageWatch, TestClient]
HOSTILE = "<script>alert(1)</script>"


def test_pages_carry_a_strict_csp_and_deny_framing(outage: Outage) -> None:
    _, client = outage
    for path in ("/", "/s/tinyapp", "/s/nosuch"):
        resp = client.get(path)
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["x-frame-options"] == "DENY"
        html = resp.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
        assert not re.search(r"\son[a-z]+=", html), "inline handler"
        assert " style=" not in html and "<style" not in html


def test_only_embed_may_be_framed(outage: Outage) -> None:
    _, client = outage
    resp = client.get("/embed/tinyapp")
    assert resp.status_code == 200 and "tinyapp" in resp.text
    assert "x-frame-options" not in resp.headers
    assert "frame-ancestors *" in resp.headers["content-security-policy"]
    for path in ("/", "/s/tinyapp", "/v1/services", "/static/style.css", "/docs"):
        assert client.get(path).headers["x-frame-options"] == "DENY", path


def test_service_page_shows_level_chart_problems_regions(outage: Outage) -> None:
    _, client = outage
    html = client.get("/s/tinyapp").text
    assert 'class="pill outage"' in html
    assert '<svg class="chart"' in html and 'class="band"' in html and 'class="expected"' in html
    assert "login" in html and '<tr data-region="IT">' in html
    assert 'action="/s/tinyapp/report"' in html
    home = client.get("/").text
    # One entry for the service-wide and the IT incident, names and codes isolated.
    assert home.count('<li class="incident') == 1
    assert "Outage: <bdi>tinyapp</bdi> — <bdi>IT</bdi>" in home and 'href="/s/busy"' in home


def test_unknown_or_hostile_service_is_a_friendly_404(client: TestClient) -> None:
    for path in ("/s/nosuch", "/s/" + HOSTILE, "/s/a/b/c", "/embed/" + HOSTILE, "/s/UPPER"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"].startswith("text/html")
        assert "Not found" in resp.text
    html = client.get("/s/" + HOSTILE).text
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'action="/s/nosuch/report"' in client.get("/s/nosuch").text  # be the first


def test_report_form_posts_without_javascript(outage: Outage) -> None:
    _, client = outage
    before = counted(client.get("/metrics").text)
    resp = client.post("/s/tinyapp/report", data={"problem": "payments"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/s/tinyapp?thanks=1#report"
    assert counted(client.get("/metrics").text) == before + 1
    assert "Thanks, your report was counted." in client.get(resp.headers["location"]).text
    bad = client.post("/s/" + "x" * 80 + "/report", data={"problem": "app"})
    assert bad.status_code == 422  # the intake's status, with why
    assert "Service names are lower-case" in bad.text
    huge = client.post("/s/tinyapp/report", content=b"problem=" + b"x" * 10_000)
    assert huge.status_code == 413


def test_cors_only_on_public_reads(outage: Outage) -> None:
    _, client = outage
    origin = {"origin": "https://example.com"}
    for path in ("/v1/services/tinyapp", "/v1/services", "/v1/outages", "/v1/outages.atom"):
        assert client.get(path, headers=origin).headers["access-control-allow-origin"] == "*"
    for path in ("/", "/s/tinyapp", "/healthz", "/metrics", "/v1/webhooks"):
        assert "access-control-allow-origin" not in client.get(path, headers=origin).headers
    resp = client.post("/v1/import", headers=origin, content=b"{}")
    assert "access-control-allow-origin" not in resp.headers


def test_widget_script_is_small_and_never_uses_innerhtml(client: TestClient) -> None:
    resp = client.get("/widget.js")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/javascript")
    assert len(resp.content) < 15 * 1024
    js = resp.text.split("*/", 1)[1]  # code only, after the header comment
    assert "innerHTML" not in js and "document.write" not in js and "eval(" not in js
    assert "currentScript" in js and "attachShadow" in js
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", js)
