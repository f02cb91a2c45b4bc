"""Languages of the public faces: gettext catalogs read with Babel, and the choice of one.

The catalogs are the .po files under app/locales/<lang>/LC_MESSAGES/, read when the
process starts (no compile step for a fresh clone or a wheel to miss). A request's
language is `?lang=`, else the best match of its Accept-Language, else the server's
default; anything unknown or malformed falls back, never fails.

Add a language: docs/languages.md.
"""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("en", "pl", "fr", "it", "es", "de", "pt", "id", "ar")
RTL = frozenset({"ar"})
DEFAULT = "en"
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")
_MAX_HEADER = 512  # an Accept-Language longer than this is read only so far


@cache
def translations(lang: str) -> NullTranslations:
    """The catalog of `lang`, from its .po file; English is the source text itself."""
    po = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def known(tag: str | None) -> str | None:
    """A supported language for a tag such as "pl", "pt-BR" or "AR_eg"; None otherwise.

    >>> known("pt-BR"), known("PL"), known("xx"), known("<script>"), known(None)
    ('pt', 'pl', None, None, None)
    """
    if not tag or len(tag) > 35 or not _TAG.match(tag):
        return None
    primary = re.split(r"[-_]", tag, maxsplit=1)[0].lower()
    return primary if primary in LANGUAGES else None


def accept_language(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first; junk is skipped.

    >>> accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5")
    ['fr-CH', 'fr', 'en', 'de']
    >>> accept_language("pl;q=abc, ar;q=0.2, ;;;, id")
    ['id', 'ar']
    """
    if not header:
        return []
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header[:_MAX_HEADER].split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not _TAG.match(tag):
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
            if not 0 < q <= 1:
                continue
        wanted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(wanted)]


def choose(param: str | None, header: str | None, default: str = DEFAULT) -> str:
    """`?lang=` first, then Accept-Language, then the server's default.

    >>> choose("ar", "pl"), choose(None, "de-AT,fr;q=0.5"), choose("xx", None, "it")
    ('ar', 'de', 'it')
    """
    picked = known(param)
    if picked:
        return picked
    for tag in accept_language(header):
        picked = known(tag)
        if picked:
            return picked
    return known(default) or DEFAULT


class Text:
    """One language for one rendering: gettext, plurals, numbers, times, direction."""

    def __init__(self, lang: str = DEFAULT, *, explicit: bool = False) -> None:
        self.lang = known(lang) or DEFAULT
        self.locale = Locale.parse(self.lang)
        self.dir = "rtl" if self.lang in RTL else "ltr"
        self._t = translations(self.lang)
        # Links keep a language chosen with ?lang= (a header goes along by itself).
        self.explicit = explicit

    def _(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def parts(self, items: Iterable[str]) -> str:
        """Clauses one after another, with the language's semicolon (Arabic writes "؛")."""
        return ("؛ " if self.lang == "ar" else "; ").join(items)

    def num(self, n: float, fmt: str | None = None) -> str:
        return format_decimal(n, format=fmt, locale=self.locale)

    def hm(self, iso: str) -> str:
        """The hour and minute of an ISO UTC time, the locale's way ("14:05", "2:05 PM")."""
        try:
            moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        except ValueError:
            return iso
        return format_time(moment, format="short", tzinfo=UTC, locale=self.locale)

    def link(self, path: str) -> str:
        """A path on this site that keeps an explicitly chosen language."""
        if not self.explicit:
            return path
        return f"{path}{'&' if '?' in path else '?'}lang={self.lang}"

    def name(self, lang: str) -> str:
        """A language's own name for itself: "polski", "العربية"."""
        return Locale.parse(lang).get_display_name(lang) or lang


ENGLISH = Text()


def reader_text(request: Any, default: str) -> Text:
    """The reader's language for a request: ?lang=, then Accept-Language, then `default`."""
    param = request.query_params.get("lang")
    lang = choose(param, request.headers.get("accept-language"), default)
    return Text(lang, explicit=known(param) == lang)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; translated where it is shown."""
    return message


KEYWORDS = {"_": 1, "gettext": 1, "N_": 1, "ngettext": 2}


def extract(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str | tuple[str, str], list[str]]]:
    """A Babel extractor that reads the syntax tree, so calls inside f-strings count too
    (Babel's own Python extractor sees an f-string as one token before Python 3.12)."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        n = KEYWORDS.get(name)
        args = node.args[:n] if n else []
        if len(args) != n or not all(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
        ):
            continue
        texts = [str(a.value) for a in args if isinstance(a, ast.Constant)]
        if n == 1:
            yield node.lineno, "gettext", texts[0], []
        else:
            yield node.lineno, "ngettext", (texts[0], texts[1]), []
