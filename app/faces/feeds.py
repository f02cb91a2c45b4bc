"""Incidents as Atom 1.0 and JSON Feed 1.1, for feed readers and chat integrations.

Entry ids are tag URIs built from the incident id, which is deterministic, so a
reader keeps one entry per incident as it escalates and resolves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
from babel.dates import format_datetime

from outagewatch.app.i18n import ENGLISH, N_, Text

TAG = "tag:outagewatch,2026:"
LEVEL_WORD = {"possible": N_("Possible outage"), "outage": N_("Outage")}
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


MAINTENANCE = N_("Planned maintenance")


def title(inc: dict[str, Any], t: Text = ENGLISH) -> str:
    where = f" ({inc['region']})" if inc.get("region") else ""
    word = MAINTENANCE if inc.get("maintenance") else LEVEL_WORD.get(inc["level"], "Outage")
    text = f"{t._(word)}: {inc['service']}{where}"
    return text + (f" - {t._('resolved')}" if inc.get("state") == "resolved" else "")


def updated(inc: dict[str, Any]) -> str:
    """The latest moment the incident changed; ISO strings in UTC compare as text."""
    stamps = [str(inc[k]) for k in ("opened_at", "confirmed_at", "ended_at") if inc.get(k)]
    return max(stamps)


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
    problems = ", ".join(
        f"{problem_word(t, p['problem'])} {t.num(p['share'], '#,##0%')}"
        for p in inc.get("top_problems", [])[:3]
    )
    n = int(inc["total_reports"])
    parts = [
        t.ngettext("%(num)s report since %(time)s", "%(num)s reports since %(time)s", n)
        % {"num": t.num(n), "time": when(t, str(inc["started_at"]))},
        t._("peak %(reports)s per bucket (expected %(expected)s)")
        % {
            "reports": t.num(int(peak.get("reports", 0))),
            "expected": t.num(float(peak.get("expected", 0)), "#,##0.0"),
        },
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
    return "; ".join(parts) + "."


def tags(inc: dict[str, Any]) -> list[str]:
    """Category words of an incident: its level, and `maintenance` when it is marked."""
    return [inc["level"], *(["maintenance"] if inc.get("maintenance") else [])]


def atom(items: list[dict[str, Any]], base: str, now: str, t: Text = ENGLISH) -> bytes:
    self_url = f"{base}{t.link('/v1/outages.atom')}"
    feed_updated = max((updated(i) for i in items), default=now)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{t.lang}">',
        f"<id>{TAG}outages</id>",
        f"<title>{escape(t._('outagewatch: outages'))}</title>",
        f"<subtitle>{escape(t._('Incidents detected from crowd reports'))}</subtitle>",
        f"<updated>{feed_updated}</updated>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + t.link("/"))}/>',
        "<author><name>outagewatch</name></author>",
        "<generator>outagewatch</generator>",
    ]
    for inc in items:
        link = base + t.link(f"/s/{inc['service']}")
        out += [
            "<entry>",
            f"<id>{escape(TAG + 'incident/' + inc['id'])}</id>",
            f"<title>{escape(title(inc, t))}</title>",
            f"<published>{inc['opened_at']}</published>",
            f"<updated>{updated(inc)}</updated>",
            f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>',
            *(f"<category term={quoteattr(tag)}/>" for tag in tags(inc)),
            f'<summary type="text">{escape(summary(inc, t))}</summary>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out).encode()


def json_feed(items: list[dict[str, Any]], base: str, t: Text = ENGLISH) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": t._("outagewatch: outages"),
        "home_page_url": base + t.link("/"),
        "feed_url": base + t.link("/v1/outages.feed.json"),
        "description": t._("Incidents detected from crowd reports"),
        "language": t.lang,
        "authors": [{"name": "outagewatch"}],
        "items": [
            {
                "id": TAG + "incident/" + inc["id"],
                "url": base + t.link(f"/s/{inc['service']}"),
                "title": title(inc, t),
                "content_text": summary(inc, t),
                "date_published": inc["opened_at"],
                "date_modified": updated(inc),
                "tags": [*tags(inc), inc["state"]],
                "_outagewatch": {"about": "the incident object of /v1/outages", "incident": inc},
            }
            for inc in items
        ],
    }
    return orjson.dumps(feed)
