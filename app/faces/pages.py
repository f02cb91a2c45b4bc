"""Server-rendered status pages. Plain HTML that reads without JavaScript; every
value that came from a report or a URL goes through `esc` (html.escape)."""

from __future__ import annotations

from html import escape as esc
from typing import Any

from outagewatch.app.faces.chart import chart, sparkline
from outagewatch.app.faces.feeds import title as incident_title
from outagewatch.ingest.report import PROBLEMS

LEVEL_TEXT = {
    "none": "No problems",
    "possible": "Possible problems",
    "outage": "Outage",
    "learning": "Learning",
}


def shown(d: dict[str, Any]) -> str:
    """The level to show: "learning" instead of "none" while there is no baseline."""
    level = str(d.get("level") or "none")
    return "learning" if level == "none" and d.get("learning") else level


def layout(title: str, body: str, *, embed: bool = False) -> str:
    script = "" if embed else '<script src="/static/report.js" defer></script>'
    head_links = (
        ""
        if embed
        else '<link rel="alternate" type="application/atom+xml" title="Outages" '
        'href="/v1/outages.atom">'
    )
    top = (
        ""
        if embed
        else '<header class="top"><a class="brand" href="/">outage<b>watch</b></a>'
        '<nav><a href="/v1/outages.atom">Atom</a><a href="/v1/outages.feed.json">JSON Feed</a>'
        '<a href="/docs">API</a></nav></header>'
    )
    foot = (
        ""
        if embed
        else "<footer>Open crowd-report outage detection. Counts are reports from people, "
        "not measurements.</footer>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="stylesheet" href="/static/style.css">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        f"{head_links}{script}</head>"
        f'<body class="{"embed" if embed else "page"}">{top}<main>{body}</main>{foot}'
        "</body></html>"
    )


def pill(level: str | None) -> str:
    level = level or "none"
    return f'<span class="pill {esc(level)}">{esc(LEVEL_TEXT.get(level, level))}</span>'


def _incident_rows(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<p class="calm">No open incidents. Everything looks normal.</p>'
    rows = "".join(
        f'<li class="incident {esc(i["level"])}"><a href="/s/{esc(i["service"])}">'
        f"{esc(incident_title(i))}</a>"
        f'<span class="meta">{esc(i["level"])} · since {esc(i["started_at"][11:16])} UTC · '
        f"{int(i['total_reports'])} reports</span></li>"
        for i in items
    )
    return f'<ul class="incidents">{rows}</ul>'


def home(incidents: list[dict[str, Any]], services: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<tr><td><a href="/s/{esc(s["service"])}">{esc(s["service"])}</a></td>'
        f'<td>{pill(shown(s))}</td><td class="num">{int(s["reports_1h"])}</td>'
        f'<td class="num">{int(s["reports_24h"])}</td></tr>'
        for s in services
    )
    table = (
        '<table class="services"><thead><tr><th>Service</th><th>Status</th>'
        '<th class="num">Reports 1 h</th><th class="num">24 h</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        if services
        else '<p class="muted">No reports yet.</p>'
    )
    body = (
        '<section class="hero"><h1>Is it down, or is it just me?</h1>'
        "<p>Live outages detected from people's reports, compared with what is normal for "
        "each service at this hour of the week.</p></section>"
        f'<section class="card"><h2>Current incidents</h2>{_incident_rows(incidents)}</section>'
        f'<section class="card"><h2>Most reported services</h2>{table}</section>'
    )
    return layout("outagewatch: live outages", body)


def _problems(d: dict[str, Any]) -> str:
    if not d["top_problems"]:
        return '<p class="muted">No problems reported in the last 24 hours.</p>'
    rows = "".join(
        f'<li><span class="name">{esc(p["problem"])}</span>'
        f"{_bar(float(p['share']))}"
        f'<span class="num">{round(100 * float(p["share"]))}%</span></li>'
        for p in d["top_problems"]
    )
    return f'<ul class="bars">{rows}</ul>'


def _bar(share: float) -> str:
    """A share bar as SVG: its width is an attribute, which the CSP allows (style is not)."""
    return (
        '<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">'
        f'<rect class="track" width="100" height="8" rx="4"/>'
        f'<rect class="fill" width="{max(2.0, 100 * share):.1f}" height="8" rx="4"/></svg>'
    )


def _regions(d: dict[str, Any]) -> str:
    if not d["regions"]:
        return '<p class="muted">No regions reported.</p>'
    rows = "".join(
        f"<tr><td>{esc(r['region'])}</td><td>{pill(r['level'])}</td>"
        f'<td class="num">{int(r["reports"])}</td></tr>'
        for r in d["regions"]
    )
    return (
        '<table class="regions"><thead><tr><th>Region</th><th>Status</th>'
        f'<th class="num">Reports</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def report_form(service: str, thanks: bool) -> str:
    choices = "".join(
        f'<label class="choice"><input type="radio" name="problem" value="{p}"'
        f"{' checked' if i == 0 else ''}><span>{p}</span></label>"
        for i, p in enumerate(PROBLEMS)
    )
    note = (
        '<p class="thanks" role="status">Thanks, your report was counted.</p>'
        if thanks
        else '<p class="thanks" role="status" hidden></p>'
    )
    return (
        f'<form class="report" id="report" method="post" action="/s/{esc(service)}/report" '
        f'data-service="{esc(service)}"><h2>Having problems with {esc(service)}?</h2>'
        f"<fieldset><legend>What is not working?</legend>{choices}</fieldset>"
        f'<button type="submit">Report a problem</button>{note}</form>'
    )


def service_page(d: dict[str, Any], thanks: bool = False) -> str:
    s = d["service"]
    minutes = int(d["bucket_seconds"]) // 60 or 1
    unit = f"{minutes} minute" + ("s" if minutes > 1 else "")
    body = (
        f'<section class="status {esc(d["level"])}"><div><h1>{esc(s)}</h1>'
        f"<p>{esc(_status_line(d))}</p></div>{pill(shown(d))}</section>"
        f'<div class="grid"><section class="card"><h2>Reports in the last 24 hours</h2>'
        f"{chart(d['series'], f'Reports per {unit} for {s}, with the expected range')}"
        '<p class="legend"><span class="key count"></span>reports per '
        f'{esc(unit)}<span class="key expected"></span>expected'
        '<span class="key band"></span>normal range</p></section>'
        f'<section class="card">{report_form(s, thanks)}</section></div>'
        f'<div class="grid3"><section class="card"><h2>Open incidents</h2>'
        f"{_incident_rows(d['open_incidents'])}</section>"
        f'<section class="card"><h2>Top problems</h2>{_problems(d)}</section>'
        f'<section class="card"><h2>Regions</h2>{_regions(d)}</section></div>'
        f'<p class="muted embed-hint">Badge: <code>/v1/services/{esc(s)}/badge.svg</code> · '
        f"Embed: <code>/embed/{esc(s)}</code></p>"
    )
    return layout(f"{s} status: {LEVEL_TEXT[shown(d)]} | outagewatch", body)


def _status_line(d: dict[str, Any]) -> str:
    if d["level"] == "outage":
        head = "Users are reporting an outage."
    elif d["level"] == "possible":
        head = "Reports are above normal: there may be a problem."
    elif d.get("learning"):
        head = (
            "Learning what is normal: no baseline yet, so only reports far beyond any "
            "plausible level raise an alert."
        )
    else:
        head = "Reports are at their usual level."
    return f"{head} {d['reports_1h']} reports in the last hour, {d['reports_24h']} in 24 hours."


def embed_card(d: dict[str, Any], base: str) -> str:
    s = d["service"]
    body = (
        f'<a class="mini {esc(d["level"])}" href="{esc(base)}/s/{esc(s)}" target="_blank" '
        f'rel="noopener"><span class="name">{esc(s)}</span>{pill(shown(d))}'
        f"{sparkline(d['series'])}"
        f'<span class="meta">{int(d["reports_1h"])} reports in the last hour · outagewatch'
        "</span></a>"
    )
    return layout(f"{s} status", body, embed=True)


def not_found(what: str, *, embed: bool = False, form: bool = False) -> str:
    first = f'<section class="card">{report_form(what, False)}</section>' if form else ""
    body = (
        '<section class="card notfound"><h1>Not found</h1>'
        f"<p>We have no reports for <code>{esc(what)}</code>.</p>"
        "<p>Service names are lower-case, like <code>amazon</code> or <code>whatsapp</code>. "
        '<a href="/">See all services</a>.</p></section>'
        f"{first}"
    )
    return layout("Not found | outagewatch", body, embed=embed)


def notice(heading: str, text: str) -> str:
    body = (
        f'<section class="card notfound"><h1>{esc(heading)}</h1><p>{esc(text)}</p>'
        '<p><a href="/">Back to all services</a>.</p></section>'
    )
    return layout(f"{heading} | outagewatch", body)
