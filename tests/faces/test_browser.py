"""The faces in a real browser: headless Chromium against the app on a real server,
during a simulated outage. Screenshots go to docs/ for the README."""

from __future__ import annotations

import http.server
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from outagewatch.app.main import create_app
from outagewatch.ingest.clock import ManualClock
from tests.conftest import serving, settings, tick_to
from tests.faces.conftest import CHROMIUM, DOCS, counted, start_outage
from tests.receivers import served

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: run scripts/install-chromium.sh as root (make test does)",
    ),
]

THIRD_PARTY = """<!doctype html><html><head><meta charset="utf-8"><title>Acme shop</title>
<style>body{{font:16px/1.5 Georgia,serif;margin:0;background:#fbfaf7;color:#222}}
main{{display:flex;gap:32px;max-width:760px;margin:0 auto;padding:28px}}
article{{flex:1}}aside{{width:300px}}h1{{margin-top:0}}</style></head>
<body><main><article><h1>Acme shop</h1><p>Can't log in? Check whether it is just you.</p>
</article><aside>
<script src="{base}/widget.js" data-service="{service}" async></script>
</aside></main></body></html>"""


SCREENSHOTS = DOCS / "screenshots"


@contextmanager
def third_party_site(base: str, service: str, template: str = THIRD_PARTY) -> Iterator[str]:
    """Another origin (localhost, another port) whose page embeds the widget."""
    page = template.format(base=base, service=service).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with served(server):
        yield f"http://localhost:{server.server_address[1]}/"


@pytest.fixture
def live(clock: ManualClock) -> Iterator[str]:
    app = create_app(settings(), clock)
    with serving(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        start_outage(app, client, clock)
        # It goes on: a tail of reports over 20 minutes, from many people and places.
        for minute in range(20):
            for i in range(int(120 * 0.85**minute)):
                problem = ("login", "login", "app", "website", "payments")[i % 5]
                region = ("IT", "IT", "FR", "ES", "DE", "US")[i % 6]
                body = {"service": "tinyapp", "region": region, "problem": problem}
                client.post("/v1/reports", json={**body, "reporter": f"t{minute}-{i}"})
            tick_to(app, clock, clock.now() + 60)
        yield base


def test_widget_on_a_third_party_page_shows_outage_and_counts_a_report(live: str, tab: Any) -> None:
    with third_party_site(live, "tinyapp") as site:
        requests: list[str] = []
        tab.on("request", lambda r: requests.append(r.url))
        tab.goto(site)
        card = tab.locator("[data-outagewatch=tinyapp]")
        pill = card.locator(".pill")  # Playwright's CSS pierces the open shadow root
        pill.filter(has_text="Outage").wait_for(timeout=10_000)
        points = card.locator("svg polyline").get_attribute("points") or ""
        assert len(points.split()) > 50
        assert re.fullmatch(
            r"[\d,]{3,} reports in the last hour . outagewatch", card.locator(".meta").inner_text()
        )
        before = counted(httpx.get(live + "/metrics").text)
        card.get_by_role("button", name="Report a problem").click()
        card.locator("[data-problem=payments]").wait_for()
        card.locator(".card").screenshot(path=DOCS / "widget.png")
        card.locator("[data-problem=payments]").click()
        card.locator(".thanks", has_text="Thanks, your report was counted.").wait_for()
        assert counted(httpx.get(live + "/metrics").text) == before + 1
        # Only the page's own origin and the app were contacted: no third parties.
        assert {u.split("/")[2] for u in requests} == {site.split("/")[2], live.split("/")[2]}
        assert tab.errors == []


def test_status_page_during_the_outage(live: str, tab: Any) -> None:
    tab.set_viewport_size({"width": 1200, "height": 900})
    tab.goto(live + "/s/tinyapp")
    assert tab.locator(".status .pill").inner_text() == "Outage"
    chart = tab.locator("svg#chart")
    assert chart.is_visible() and chart.bounding_box()["width"] > 500
    assert chart.locator("polygon.band").count() == 1
    assert chart.locator("polyline.count").count() == 1
    assert tab.locator(".regions tr[data-region=IT]").count() == 1
    tab.screenshot(path=DOCS / "status-page.png", full_page=True)
    # The enhanced form reports by fetch and stays on the page; CSP blocks nothing.
    tab.locator("label.choice", has_text="website").click()
    tab.get_by_role("button", name="Report a problem").click()
    tab.locator(".thanks", has_text="Thanks, your report was counted.").wait_for()
    assert tab.url == live + "/s/tinyapp"
    assert tab.errors == []  # a CSP violation would log an error here


def test_report_form_works_without_javascript(live: str, browser: Any, tab: Any) -> None:
    # A persistent context cannot turn JavaScript off per page; DevTools can.
    browser.new_cdp_session(tab).send("Emulation.setScriptExecutionDisabled", {"value": True})
    tab.goto(live + "/s/tinyapp")
    assert tab.evaluate("1") == 1  # evaluate still works; page scripts do not run
    tab.locator("label.choice", has_text="connection").click()
    tab.get_by_role("button", name="Report a problem").click()
    tab.wait_for_url("**/s/tinyapp?thanks=1#report")
    assert tab.locator(".thanks").inner_text() == "Thanks, your report was counted."


def test_hostile_strings_render_as_text(live: str, tab: Any) -> None:
    hostile = "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>"
    tab.goto(live + "/s/" + hostile)
    assert tab.locator("code").first.inner_text() == hostile
    assert tab.evaluate("window.pwned") is None
    assert tab.locator("main img, main script").count() == 0
    tab.goto(live + "/embed/" + hostile)
    assert tab.evaluate("window.pwned") is None


INDONESIAN_SHOP = """<!doctype html><html lang="id-ID"><head><meta charset="utf-8">
<title>Toko Acme</title><style>body{{font:16px/1.5 Georgia,serif;margin:0;background:#fbfaf7}}
main{{display:flex;gap:32px;max-width:760px;margin:0 auto;padding:28px}}article{{flex:1}}
aside{{width:300px}}h1{{margin-top:0}}</style></head><body><main><article><h1>Toko Acme</h1>
<p>Tidak bisa masuk? Periksa apakah hanya Anda yang mengalaminya.</p></article><aside>
<script src="{base}/widget.js" data-service="{service}" async></script></aside></main>
</body></html>"""


def test_widget_speaks_the_host_pages_language(live: str, tab: Any) -> None:
    """No data-lang: the widget takes <html lang="id-ID"> of the page that embeds it."""
    with third_party_site(live, "tinyapp", INDONESIAN_SHOP) as site:
        tab.goto(site)
        card = tab.locator("[data-outagewatch=tinyapp]")
        card.locator(".pill", has_text="Gangguan").wait_for(timeout=10_000)
        assert card.locator(".card").get_attribute("lang") == "id"
        assert re.fullmatch(
            r"[\d.]+ laporan dalam satu jam terakhir . outagewatch",
            card.locator(".meta").inner_text(),
        )
        card.get_by_role("button", name="Laporkan masalah").click()
        card.locator("[data-problem=payments]", has_text="pembayaran").wait_for()
        SCREENSHOTS.mkdir(exist_ok=True)
        card.locator(".card").screenshot(path=SCREENSHOTS / "widget-id.png")
        card.locator("[data-problem=payments]").click()
        card.locator(".thanks", has_text="Terima kasih, laporan Anda sudah dihitung.").wait_for()
        assert tab.errors == []


def test_widget_data_lang_wins_and_arabic_reads_right_to_left(live: str, tab: Any) -> None:
    page = THIRD_PARTY.replace(
        'data-service="{service}"', 'data-service="{service}" data-lang="ar"'
    )
    with third_party_site(live, "tinyapp", page) as site:
        tab.goto(site)
        card = tab.locator("[data-outagewatch=tinyapp]")
        card.locator(".pill", has_text="انقطاع").wait_for(timeout=10_000)
        assert card.locator(".card").get_attribute("dir") == "rtl"
        name = card.locator(".name").bounding_box()
        pill = card.locator(".pill").bounding_box()
        assert name["x"] > pill["x"]  # the name starts on the right
        # The outage line: the Latin service name follows the level word on the right,
        # then its region to the left of it, not "IT — tinyapp" read from the right.
        line = card.locator(".incident")
        line.wait_for()
        x = line.evaluate(
            """(e, words) => words.map(w => {
                const text = e.firstChild, at = text.data.indexOf(w), r = document.createRange();
                r.setStart(text, at); r.setEnd(text, at + w.length);
                return r.getBoundingClientRect().x;
            })""",
            ["tinyapp", "IT"],
        )
        assert x[0] > x[1], line.inner_text()
        assert tab.errors == []


@pytest.mark.parametrize(
    ("lang", "words"),
    [("pl", ("Awaria", "Zgłoś problem")), ("ar", ("انقطاع", "أبلغ عن مشكلة"))],
)
def test_status_page_in_polish_and_arabic(live: str, tab: Any, lang: str, words: tuple) -> None:
    tab.set_viewport_size({"width": 1200, "height": 900})
    tab.goto(f"{live}/s/tinyapp?lang={lang}")
    html = tab.locator("html")
    assert html.get_attribute("lang") == lang
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    assert tab.locator(".status .pill").inner_text() == words[0]
    assert tab.get_by_role("button", name=words[1]).is_visible()
    if lang == "ar":
        # Right to left: the heading starts at the right edge, numbers align to the left.
        h1 = tab.locator(".status h1").bounding_box()
        pill = tab.locator(".status .pill").bounding_box()
        assert h1["x"] > pill["x"]
        assert tab.locator(".regions td.num").first.evaluate(
            "e => getComputedStyle(e).textAlign"
        ) in ("end", "left")
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=SCREENSHOTS / f"status-page-{lang}.png", full_page=True)
    # The enhanced form says thanks in the page's language; links keep it.
    tab.locator("label.choice").nth(2).click()
    tab.get_by_role("button", name=words[1]).click()
    thanks = {
        "pl": "Dziękujemy, Twoje zgłoszenie zostało policzone.",
        "ar": "شكرًا، تم احتساب بلاغك.",
    }
    tab.locator(".thanks", has_text=thanks[lang]).wait_for()
    assert tab.locator("a.brand").get_attribute("href") == f"/?lang={lang}"
    assert tab.errors == []
