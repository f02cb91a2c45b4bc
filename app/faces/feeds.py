"""Outages as Atom 1.0 and JSON Feed 1.1, for feed readers and chat integrations.

One entry per outage (app/outage_groups.py): a service's service-wide and regional
incidents, and a cascade's dependants, are one entry. Entry ids are tag URIs built from
the id of the entry's earliest incident, which is deterministic and stays as later
incidents join, so a reader keeps one entry as the outage escalates and resolves.
The global feeds and the per-service feeds (`Channel`) are the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
from babel.dates import format_datetime
from babel.lists import format_list

from outagewatch.app.annotations import Notes, entry_notes
from outagewatch.app.faces.outage_text import (
    MAINTENANCE,
    NO_NAMES,
    Names,
    dependants_line,
    group_title,
    in_maintenance,
    service_name,
    spoken_for,
)
from outagewatch.app.i18n import ENGLISH, N_, Text
from outagewatch.app.outage_groups import OutageGroup

TAG = "tag:outagewatch,2026:"
# The problems people pick, as words; the value posted stays the English key.
PROBLEM_TEXT = {
    "login": N_("login"),
    "app": N_("app"),
    "website": N_("website"),
    "payments": N_("payments"),
    "connection": N_("connection"),
    "other": N_("other"),
}


def problem_word(t: Text, problem: str) -> str:
    return t._(PROBLEM_TEXT[problem]) if problem in PROBLEM_TEXT else problem


def when(t: Text, iso: str) -> str:
    """A feed reader shows the text as is: the full date, the locale's way, in UTC."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return format_datetime(moment, "medium", tzinfo=UTC, locale=t.locale) + " UTC"


def summary(inc: dict[str, Any], t: Text = ENGLISH) -> str:
    peak = inc.get("peak") or {}
    work = inc.get("maintenance")
    # The language's own list ("login 42%, app 20%, and website 17%", "... و ...").
    problems = format_list(
        [
            f"{problem_word(t, p['problem'])} {t.num(p['share'], '#,##0%')}"
            for p in inc.get("top_problems", [])[:3]
        ],
        locale=t.locale,
    )
    n = int(inc["total_reports"])
    top = int(peak.get("reports", 0))
    parts = [
        t.ngettext("%(num)s report since %(time)s", "%(num)s reports since %(time)s", n)
        % {"num": t.num(n), "time": when(t, str(inc["started_at"]))},
        t.ngettext(
            "peak %(num)s report per bucket (expected %(expected)s)",
            "peak %(num)s reports per bucket (expected %(expected)s)",
            top,
        )
        % {"num": t.num(top), "expected": t.num(float(peak.get("expected", 0)), "#,##0.0")},
    ]
    if problems:
        parts.append(t._("top problems: %(problems)s") % {"problems": problems})
    parts.append(
        t._("resolved at %(time)s") % {"time": when(t, str(inc["ended_at"]))}
        if inc.get("ended_at")
        else t._("ongoing")
    )
    if work:  # the operator's note, as written (escaped by the caller's format)
        parts.insert(0, f"{t._(MAINTENANCE)}: {work['note']}" if work["note"] else t._(MAINTENANCE))
    return t.parts(parts) + "."


def tags(g: OutageGroup) -> list[str]:
    """Category words of an entry: its level, and `maintenance` when it is marked."""
    return [g.level, *(["maintenance"] if in_maintenance(g) else [])]


@dataclass(frozen=True)
class Channel:
    """Which outages a feed follows: all of them, or one service's (in one region)."""

    service: str | None = None
    region: str | None = None

    def path(self, kind: str) -> str:
        """The feed's own path; `kind` is "atom" or "json"."""
        where = f"?region={self.region}" if self.region else ""
        if self.service is None:
            everything = "/v1/outages.atom" if kind == "atom" else "/v1/outages.feed.json"
            return everything + where
        return f"/v1/services/{self.service}/outages.{kind}{where}"

    def key(self) -> str:
        """The feed's tag: "outages", "outages/DE", "service/aws", "service/aws/DE"."""
        parts = ["service", self.service] if self.service else ["outages"]
        return "/".join(p for p in [*parts, self.region] if p)

    def home(self) -> str:
        return f"/s/{self.service}" if self.service else "/"

    def title(self, t: Text, names: Names = NO_NAMES) -> str:
        """The feed's name, its service by its display name (`names`)."""
        if self.service is None and self.region is None:
            return t._("outagewatch: outages")
        if self.service is None:
            return t._("outagewatch: outages in %(region)s") % {"region": self.region}
        service = service_name(self.service, names)
        if self.region is None:
            return t._("outagewatch: %(service)s outages") % {"service": service}
        return t._("outagewatch: %(service)s outages in %(region)s") % {
            "service": service,
            "region": self.region,
        }


EVERYTHING = Channel()


def entry_summary(
    g: OutageGroup, t: Text, notes: Notes | None = None, names: Names = NO_NAMES
) -> str:
    """The entry's text: its summary, the services that depend on it, and its newest
    operators' notes (`notes`: by incident id, Annotations.latest)."""
    text = summary(spoken_for(g), t)
    if g.dependants:
        text = f"{text} {dependants_line(g, t, names)}"
    said = t.parts(
        f"{when(t, n['at'])}" + (f", {n['author']}" if n["author"] else "") + f": {n['text']}"
        for n in _entry_notes(g, notes)
    )
    if not said:
        return text
    return f"{text} " + t._("Operators' notes: %(notes)s") % {"notes": said}


def _entry_notes(g: OutageGroup, notes: Notes | None) -> list[dict[str, Any]]:
    return entry_notes((str(i["id"]) for i in g.incidents), notes or {})


def atom(
    groups: list[OutageGroup],
    base: str,
    now: str,
    t: Text = ENGLISH,
    channel: Channel = EVERYTHING,
    notes: Notes | None = None,
    names: Names = NO_NAMES,
) -> bytes:
    """`names`: display names by slug, for the entries' titles and text."""
    self_url = base + t.link(channel.path("atom"))
    feed_updated = max((g.updated for g in groups), default=now)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{t.lang}">',
        f"<id>{escape(TAG + channel.key())}</id>",
        f"<title>{escape(channel.title(t, names))}</title>",
        f"<subtitle>{escape(t._('Incidents detected from crowd reports'))}</subtitle>",
        f"<updated>{feed_updated}</updated>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + t.link(channel.home()))}/>',
        "<author><name>outagewatch</name></author>",
        "<generator>outagewatch</generator>",
    ]
    for g in groups:
        link = base + t.link(f"/s/{g.service}")
        out += [
            "<entry>",
            f"<id>{escape(TAG + 'incident/' + g.id)}</id>",
            f"<title>{escape(group_title(g, t, names=names))}</title>",
            f"<published>{g.opened_at}</published>",
            f"<updated>{g.updated}</updated>",
            f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>',
            *(f"<category term={quoteattr(tag)}/>" for tag in tags(g)),
            f'<summary type="text">{escape(entry_summary(g, t, notes, names))}</summary>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out).encode()


def json_feed(
    groups: list[OutageGroup],
    base: str,
    t: Text = ENGLISH,
    channel: Channel = EVERYTHING,
    notes: Notes | None = None,
    names: Names = NO_NAMES,
) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title(t, names),
        "home_page_url": base + t.link(channel.home()),
        "feed_url": base + t.link(channel.path("json")),
        "description": t._("Incidents detected from crowd reports"),
        "language": t.lang,
        "authors": [{"name": "outagewatch"}],
        "items": [
            {
                "id": TAG + "incident/" + g.id,
                "url": base + t.link(f"/s/{g.service}"),
                "title": group_title(g, t, names=names),
                "content_text": entry_summary(g, t, notes, names),
                "date_published": g.opened_at,
                "date_modified": g.updated,
                "tags": [*tags(g), g.state],
                "_outagewatch": {
                    "about": "incident: the /v1/outages object that speaks for the entry "
                    "(service-wide where there is one); group: the /v1/outages/grouped object; "
                    "annotations: the entry's newest operators' notes, newest first",
                    "incident": g.root.principal,
                    "group": g.as_dict(),
                    "annotations": _entry_notes(g, notes),
                },
            }
            for g in groups
        ],
    }
    return orjson.dumps(feed)
