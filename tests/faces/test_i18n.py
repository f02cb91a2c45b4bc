"""Languages of the public faces: catalogs complete, negotiation, plurals, every surface."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import feedparser
import orjson
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from outagewatch.app.faces import pages
from outagewatch.app.faces.chart import chart
from outagewatch.app.faces.feeds import summary
from outagewatch.app.i18n import LANGUAGES, LOCALES, Text, choose
from outagewatch.app.main import OutageWatch
from outagewatch.ingest.clock import ManualClock
from tests.conftest import running

Outage = tuple[OutageWatch, TestClient]
ROOT = Path(__file__).resolve().parents[2]
POT = LOCALES / "messages.pot"


def _pot_ids() -> set[object]:
    with POT.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_pot_has_every_message_the_code_uses() -> None:
    """Extract afresh with Babel (babel.cfg): the committed .pot must match it exactly."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options = parse_mapping_cfg(cfg)
    found = {
        msg
        for _, _, msg, *_ in extract_from_dir(
            ROOT / "app", method_map, options, keywords=DEFAULT_KEYWORDS, comment_tags=()
        )
    }
    assert found, "nothing extracted"
    pot = _pot_ids()
    assert found - pot == set(), "run pybabel extract (docs/languages.md): the .pot misses these"
    assert pot - found == set(), "the .pot has messages no code uses any more"


def test_babel_cfg_names_the_extractor() -> None:
    cfg = (ROOT / "babel.cfg").read_text()
    assert "outagewatch.app.i18n:extract" in cfg and "[python_ast: **.py]" in cfg


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_catalog_is_complete_and_clean(lang: str) -> None:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    ids = {m.id for m in catalog if m.id}
    assert _pot_ids() - ids == set(), f"{lang} misses messages of the .pot"
    assert ids - _pot_ids() == set(), f"{lang} has messages the .pot no longer has"
    assert not catalog.obsolete, f"{lang} keeps obsolete messages"
    for m in catalog:
        if not m.id:
            continue
        assert not m.fuzzy, f"{lang}: fuzzy {m.id!r}"
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s.strip() for s in strings), f"{lang}: empty {m.id!r}"
        if isinstance(m.id, tuple):
            assert len(strings) == catalog.num_plurals, f"{lang}: plural forms of {m.id!r}"
    problems = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check()]
    assert problems == [], f"{lang}: placeholders differ from the source: {problems}"


ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f]")


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang not in ("en", "ar")])
def test_catalog_speaks_its_own_language(lang: str) -> None:
    """A merge once copied Arabic into every other catalog (the region map and
    "since ..."): complete, clean and wrong. No Latin-script catalog holds Arabic."""
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    stray = [
        m.id
        for m in catalog
        if m.id
        and any(
            ARABIC_SCRIPT.search(s)
            for s in (m.string if isinstance(m.string, tuple) else (m.string,))
        )
    ]
    assert stray == [], f"{lang}: Arabic text in {stray}"


def test_plural_forms() -> None:
    pl, ar, en = Text("pl"), Text("ar"), Text("en")
    assert [pages.reports(en, n) for n in (1, 2)] == ["1 report", "2 reports"]
    assert [pages.reports(pl, n) for n in (1, 2, 5, 22, 12)] == [
        "1 zgłoszenie",
        "2 zgłoszenia",
        "5 zgłoszeń",
        "22 zgłoszenia",
        "12 zgłoszeń",
    ]
    assert [pages.reports(ar, n) for n in (0, 1, 2, 3, 11, 100)] == [
        "لا بلاغات",
        "بلاغ واحد",
        "بلاغان",
        "3 بلاغات",
        "11 بلاغًا",
        "100 بلاغ",
    ]
    assert pages.reports(Text("id"), 1) == "1 laporan"
    assert pages.reports(Text("de"), 12345) == "12.345 Meldungen"  # the locale's grouping


def test_choice_of_language() -> None:
    assert choose("pl", "ar, fr;q=0.9") == "pl"  # ?lang= first
    assert choose(None, "xx-YY, fr-CA;q=0.8, ar;q=0.9") == "ar"  # by q, unknown skipped
    assert choose(None, None, "it") == "it"  # the server's default
    assert choose("xx", "zz", "nonsense") == "en"
    hostile = ["<script>", "a" * 5000, ";q=2,,,;", "pl;q=NaN", "ar;q=-1", "\x00\xff", "*"]
    for header in hostile:
        assert choose(header, header) in LANGUAGES


def test_pages_in_polish_and_arabic(outage: Outage) -> None:
    _, client = outage
    pl = client.get("/s/tinyapp?lang=pl")
    assert pl.status_code == 200
    assert '<html lang="pl" dir="ltr">' in pl.text
    assert "Awaria" in pl.text and "Zgłoś problem" in pl.text and "Co nie działa?" in pl.text
    assert 'action="/s/tinyapp/report?lang=pl"' in pl.text  # the language goes along
    assert "accept-language" in pl.headers["vary"]
    ar = client.get("/s/tinyapp?lang=ar")
    assert '<html lang="ar" dir="rtl">' in ar.text
    assert "انقطاع" in ar.text and "أبلغ عن مشكلة" in ar.text
    home = client.get("/?lang=ar").text
    assert 'dir="rtl"' in home and 'href="/s/tinyapp?lang=ar"' in home
    assert "هل الخدمة معطلة" in home
    # Every language links to itself, named in its own words.
    assert 'hreflang="pl"' in home and ">polski<" in home and ">العربية<" in home


def test_accept_language_and_lang_precedence(outage: Outage) -> None:
    _, client = outage
    fr = client.get("/s/tinyapp", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr"' in fr.text and "Signaler un problème" in fr.text
    assert 'action="/s/tinyapp/report"' in fr.text  # the header goes along by itself
    it = client.get("/s/tinyapp?lang=it", headers={"accept-language": "fr"})
    assert '<html lang="it"' in it.text and "Segnala un problema" in it.text
    for bad in ("xx", "<script>", "a" * 500, "pl%00"):
        resp = client.get("/s/tinyapp", params={"lang": bad}, headers={"accept-language": bad})
        assert resp.status_code == 200 and '<html lang="en" dir="ltr">' in resp.text
    hostile = client.get("/", headers={"accept-language": "de;q=abc,,;;q=9,ar;q=0.1" * 50})
    assert hostile.status_code == 200


def test_no_javascript_form_keeps_the_language(outage: Outage) -> None:
    _, client = outage
    resp = client.post(
        "/s/tinyapp/report?lang=pl", data={"problem": "login"}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == "/s/tinyapp?thanks=1&lang=pl#report"
    page = client.get(resp.headers["location"]).text
    assert "Dziękujemy, Twoje zgłoszenie zostało policzone." in page


def test_pages_stay_escaped_and_script_free_in_every_language(client: TestClient) -> None:
    hostile = "<script>alert(1)</script>"
    for lang in LANGUAGES:
        resp = client.get("/s/" + hostile, params={"lang": lang})
        assert resp.status_code == 404
        assert hostile not in resp.text and "&lt;script&gt;" in resp.text
        assert "<script>" not in resp.text.replace('<script src="/static/report.js" defer>', "")


def test_embed_card_and_badge_in_a_language(outage: Outage) -> None:
    _, client = outage
    card = client.get("/embed/tinyapp?lang=pl").text
    assert '<html lang="pl"' in card and "w ostatniej godzinie" in card
    assert 'href="http://testserver/s/tinyapp?lang=pl"' in card or "?lang=pl" in card
    svg = client.get("/v1/services/tinyapp/badge.svg", headers={"accept-language": "fr"})
    root = ET.fromstring(svg.text)
    assert root.get("aria-label") == "tinyapp: panne"
    assert "accept-language" in svg.headers["vary"]
    assert "awaria" in client.get("/v1/services/tinyapp/badge.svg?lang=pl").text


def test_feeds_in_a_language(outage: Outage) -> None:
    _, client = outage
    atom = client.get("/v1/outages.atom?lang=pl")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "outagewatch: awarie"
    assert 'xml:lang="pl"' in atom.text
    titles = [e.title for e in parsed.entries]
    assert any(t.startswith("Awaria: tinyapp") for t in titles), titles
    assert all("zgłosze" in e.summary for e in parsed.entries)
    assert all(e.link.endswith("?lang=pl") for e in parsed.entries)
    feed = orjson.loads(
        client.get("/v1/outages.feed.json", headers={"accept-language": "ar"}).content
    )
    assert feed["language"] == "ar" and feed["title"] == "outagewatch: انقطاعات"
    assert feed["items"] and all("انقطاع" in i["title"] for i in feed["items"])
    # The machine feed stays as it was: no words, one object per series.
    machine = client.get("/v1/outages", headers={"accept-language": "pl"}).json()
    assert orjson.dumps(machine) == client.get("/v1/outages").content


def test_widget_words_in_indonesian(outage: Outage) -> None:
    _, client = outage
    resp = client.get("/v1/services/tinyapp/widget.json?lang=id-ID", headers={"origin": "x"})
    assert resp.headers["access-control-allow-origin"] == "*"
    d = resp.json()
    assert d["lang"] == "id" and d["dir"] == "ltr"
    assert d["text"]["outage"] == "Gangguan" and d["text"]["report"] == "Laporkan masalah"
    assert d["problems"]["payments"] == "pembayaran"
    assert (
        d["status"]["level"] == "outage"
        and "laporan dalam satu jam terakhir" in d["status"]["meta"]
    )
    none = client.get("/v1/services/nosuch/widget.json?lang=ar").json()
    assert none["dir"] == "rtl" and none["status"] is None
    assert client.get("/v1/services/%3Cx%3E/widget.json").json()["status"] is None


def test_default_language_setting(clock: ManualClock) -> None:
    with running(clock, language="de") as (_, client):
        html = client.get("/").text
        assert '<html lang="de"' in html and "Meistgemeldete Dienste" in html
        assert '<html lang="pl"' in client.get("/", headers={"accept-language": "pl"}).text


@pytest.mark.slow
def test_built_wheel_carries_the_catalogs(tmp_path: Path) -> None:
    """A wheel has every .po and the .pot, and the app reads them from there."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("outagewatch-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    assert "outagewatch/app/locales/messages.pot" in names
    for lang in LANGUAGES[1:]:
        assert f"outagewatch/app/locales/{lang}/LC_MESSAGES/messages.po" in names, lang
    code = (
        "import outagewatch.app.i18n as i, outagewatch.app.faces.pages as p;"
        "print(i.__file__); print(p.reports(i.Text('pl'), 5))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    where, text = out.stdout.splitlines()
    assert where.startswith(str(tmp_path / "site")) and text == "5 zgłoszeń"


@pytest.mark.parametrize(
    ("lang", "problems"),
    [
        ("en", "top problems: login 50%, app 30%, and other 20%;"),
        ("pl", "najczęstsze problemy: logowanie 50%, aplikacja 30% i inne 20%;"),
        ("ar", "أبرز المشاكل: تسجيل الدخول 50% والتطبيق 30% وأخرى 20%؛"),
    ],
)
def test_feed_summaries_list_problems_the_languages_way(lang: str, problems: str) -> None:
    shares = [("login", 0.5), ("app", 0.3), ("other", 0.2)]
    incident = {
        "total_reports": 3,
        "started_at": "2026-11-02T10:00:00Z",
        "peak": {"reports": 2, "expected": 0.5},
        "top_problems": [{"problem": p, "share": s} for p, s in shares],
    }
    said = summary(incident, Text(lang))
    assert problems in said
    # Clauses end with the language's semicolon: Arabic's is "؛", not a Latin ";".
    assert ("؛ " in said and ";" not in said) if lang == "ar" else "; " in said


def test_chart_axis_numbers_follow_the_language() -> None:
    points = [(0, 1), (1, 2), (2, 1_500_000)]  # an outage far above normal
    series = [
        {"ts": f"2026-11-02T{h:02d}:00:00Z", "count": c, "expected": 1.0, "upper": 2.0, "level": ""}
        for h, c in points
    ]
    ticks = re.findall(r'text-anchor="end">([^<]*)<', chart(series, "reports", Text("de")))
    assert ticks[-1] == "2.000.000"  # not 2e+06
    assert re.findall(r'text-anchor="end">([^<]*)<', chart(series, "r", Text("en")))[-1] == (
        "2,000,000"
    )
    assert chart([], "reports", Text("de")) == '<p class="muted">Noch keine Daten</p>'
