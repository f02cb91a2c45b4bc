"""The words of one outage entry (app/outage_groups.py), for every face that shows one.

Built once, in two markings: plain text for feeds and the widget (which escape or set
text themselves), and HTML for pages, where service names, region codes and numbers
sit in `<bdi>` so that an Arabic line mixing Latin names and digits keeps its order.
Plain text in a right-to-left language isolates them the way plain text can, between
FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE (U+2068, U+2069): without them
"انقطاع: aws — US" reads "US — aws" from the right.

>>> from outagewatch.app.outage_groups import OutageGroup, ServiceOutage
>>> inc = lambda region, level: {"id": region or "all", "service": "aws", "region": region,
...     "level": level, "state": "open", "started_at": "2026-11-02T10:00:00Z",
...     "opened_at": "2026-11-02T10:00:00Z", "total_reports": 10}
>>> regions = [None, "US", "DE", "FR", "IT", "PL"]
>>> g = OutageGroup(ServiceOutage("aws", tuple(inc(r, "outage") for r in regions)))
>>> group_title(g)
'Outage: aws — DE, FR, IT, and 2 more regions'
>>> region_list(["US", "DE"], Text("pl"), HTML)
'<bdi>US</bdi> i <bdi>DE</bdi>'
>>> group_title(g, Text("ar")).startswith("انقطاع: \u2068aws\u2069 — ")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from babel.lists import format_list

from outagewatch.app.i18n import ENGLISH, N_, Text
from outagewatch.app.outage_groups import OutageGroup, ServiceOutage

LEVEL_WORD = {"possible": N_("Possible outage"), "outage": N_("Outage")}
SHOWN_REGIONS = 3  # then "and 5 more regions": a title stays one line


class Marks:
    """Plain text, or HTML with the names and numbers in a line isolated by `<bdi>`;
    `isolate`: plain text with them between Unicode isolates (right-to-left languages)."""

    def __init__(self, html: bool, isolate: bool = False) -> None:
        self.html = html
        self.isolate = isolate

    def text(self, words: str) -> str:
        return escape(words) if self.html else words

    def mark(self, value: str) -> str:
        if self.html:
            return f"<bdi>{escape(value)}</bdi>"
        return f"\u2068{value}\u2069" if self.isolate else value

    def fill(self, template: str, **values: str) -> str:
        """A translated template with its values put in, each marked."""
        return self.text(template) % {k: self.mark(v) for k, v in values.items()}


PLAIN = Marks(html=False)
ISOLATED = Marks(html=False, isolate=True)
HTML = Marks(html=True)


def plain(t: Text) -> Marks:
    """Plain text for the language: isolated values when it reads right to left."""
    return ISOLATED if t.dir == "rtl" else PLAIN


MAINTENANCE = N_("Planned maintenance")
# Display names by slug (the catalog's `names`): lines name services as people do.
Names = Mapping[str, str]
NO_NAMES: Names = {}


def service_name(service: str, names: Names = NO_NAMES) -> str:
    """What people call a service: its display name, else its slug."""
    return names.get(service) or service


def level_word(level: str, t: Text = ENGLISH) -> str:
    return t._(LEVEL_WORD.get(level, "Outage"))


def in_maintenance(g: OutageGroup) -> bool:
    """The entry speaks for an incident that started in a planned maintenance window."""
    return bool(g.root.principal.get("maintenance"))


def reports(t: Text, n: int, m: Marks = PLAIN) -> str:
    """ "1 report", "2 reports", "5 raportów": the plural form of the language (a number
    alone keeps its place in a right-to-left line: plain text needs no isolates)."""
    return m.fill(t.ngettext("%(num)s report", "%(num)s reports", n), num=t.num(n))


def region_list(regions: list[str], t: Text = ENGLISH, m: Marks | None = None) -> str:
    """ "US, DE, and FR"; past three, "US, DE, FR, and 5 more regions" (the language's list)."""
    m = m or plain(t)
    shown = [m.mark(r) for r in regions[:SHOWN_REGIONS]]
    more = len(regions) - SHOWN_REGIONS
    if more > 0:
        words = t.ngettext("%(num)s more region", "%(num)s more regions", more)
        shown.append(m.fill(words, num=t.num(more)))
    return format_list(shown, style="standard", locale=t.locale) if shown else ""


def entry_title(
    entry: ServiceOutage,
    t: Text = ENGLISH,
    m: Marks | None = None,
    word: str | None = None,
    names: Names = NO_NAMES,
) -> str:
    """ "Outage: Amazon Web Services — US, DE, and FR": one service's incidents, regions
    worst first; the service by its display name (`names`), else its slug."""
    m = m or plain(t)
    name = service_name(entry.service, names)
    head = f"{m.text(word or level_word(entry.level, t))}: {m.mark(name)}"
    regions = [r for r, _, _ in entry.regions]
    return f"{head} — {region_list(regions, t, m)}" if regions else head


def group_title(
    g: OutageGroup, t: Text = ENGLISH, m: Marks | None = None, names: Names = NO_NAMES
) -> str:
    m = m or plain(t)
    # An outage announced as planned maintenance says so instead of its level.
    word = t._(MAINTENANCE) if in_maintenance(g) else level_word(g.level, t)
    if g.dependants:
        n = len(g.dependants)
        words = t.ngettext(
            "%(service)s, and %(num)s service that depends on it",
            "%(service)s, and %(num)s services that depend on it",
            n,
        )
        name = service_name(g.service, names)
        text = f"{m.text(word)}: " + m.fill(words, service=name, num=t.num(n))
    else:
        text = entry_title(g.root, t, m, word, names)
    return text + (f" - {m.text(t._('resolved'))}" if g.state == "resolved" else "")


def spoken_for(g: OutageGroup) -> dict[str, Any]:
    """The root's principal incident with the group's times and the root's reports: what
    a summary line describes."""
    return {
        **g.root.principal,
        "started_at": g.started_at,
        "ended_at": g.ended_at,
        "total_reports": g.root.total_reports,
    }


def dependants_line(g: OutageGroup, t: Text = ENGLISH, names: Names = NO_NAMES) -> str:
    """ "Services that depend on it: Outage: netflix — US; Possible outage: slack." """
    if not g.dependants:
        return ""
    lines = t.parts(entry_title(d, t, names=names) for d in g.dependants)
    return t._("Services that depend on it: %(services)s.") % {"services": lines}
