"""Incidents as Atom 1.0 and JSON Feed 1.1, for feed readers and chat integrations.

Entry ids are tag URIs built from the incident id, which is deterministic, so a
reader keeps one entry per incident as it escalates and resolves.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson

TAG = "tag:outagewatch,2026:"
LEVEL_WORD = {"possible": "Possible outage", "outage": "Outage"}


def title(inc: dict[str, Any]) -> str:
    where = f" ({inc['region']})" if inc.get("region") else ""
    text = f"{LEVEL_WORD.get(inc['level'], 'Outage')}: {inc['service']}{where}"
    return text + (" - resolved" if inc.get("state") == "resolved" else "")


def updated(inc: dict[str, Any]) -> str:
    """The latest moment the incident changed; ISO strings in UTC compare as text."""
    stamps = [str(inc[k]) for k in ("opened_at", "confirmed_at", "ended_at") if inc.get(k)]
    return max(stamps)


def summary(inc: dict[str, Any]) -> str:
    peak = inc.get("peak") or {}
    problems = ", ".join(
        f"{p['problem']} {round(100 * p['share'])}%" for p in inc.get("top_problems", [])[:3]
    )
    parts = [
        f"{inc['total_reports']} reports since {inc['started_at']}",
        f"peak {peak.get('reports', 0)} per bucket (expected {peak.get('expected', 0):.1f})",
    ]
    if problems:
        parts.append(f"top problems: {problems}")
    parts.append(f"resolved at {inc['ended_at']}" if inc.get("ended_at") else "ongoing")
    return "; ".join(parts) + "."


def atom(items: list[dict[str, Any]], base: str, now: str) -> bytes:
    self_url = f"{base}/v1/outages.atom"
    feed_updated = max((updated(i) for i in items), default=now)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{TAG}outages</id>",
        "<title>outagewatch: outages</title>",
        "<subtitle>Incidents detected from crowd reports</subtitle>",
        f"<updated>{feed_updated}</updated>",
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + "/")}/>',
        "<author><name>outagewatch</name></author>",
        "<generator>outagewatch</generator>",
    ]
    for inc in items:
        link = f"{base}/s/{inc['service']}"
        out += [
            "<entry>",
            f"<id>{escape(TAG + 'incident/' + inc['id'])}</id>",
            f"<title>{escape(title(inc))}</title>",
            f"<published>{inc['opened_at']}</published>",
            f"<updated>{updated(inc)}</updated>",
            f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>',
            f"<category term={quoteattr(inc['level'])}/>",
            f'<summary type="text">{escape(summary(inc))}</summary>',
            "</entry>",
        ]
    out.append("</feed>")
    return "\n".join(out).encode()


def json_feed(items: list[dict[str, Any]], base: str) -> bytes:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "outagewatch: outages",
        "home_page_url": base + "/",
        "feed_url": f"{base}/v1/outages.feed.json",
        "description": "Incidents detected from crowd reports",
        "authors": [{"name": "outagewatch"}],
        "items": [
            {
                "id": TAG + "incident/" + inc["id"],
                "url": f"{base}/s/{inc['service']}",
                "title": title(inc),
                "content_text": summary(inc),
                "date_published": inc["opened_at"],
                "date_modified": updated(inc),
                "tags": [inc["level"], inc["state"]],
                "_outagewatch": {"about": "the incident object of /v1/outages", "incident": inc},
            }
            for inc in items
        ],
    }
    return orjson.dumps(feed)
