"""Server-rendered status pages. Plain HTML that reads without JavaScript; every
value that came from a report or a URL goes through `esc` (html.escape)."""

from __future__ import annotations

from html import escape as esc
from typing import Any

from babel.lists import format_list

from outagewatch.app.annotations import Notes, entry_notes
from outagewatch.app.faces.chart import chart, sparkline
from outagewatch.app.faces.feeds import Channel, problem_word
from outagewatch.app.faces.outage_text import (
    HTML,
    MAINTENANCE,
    NO_NAMES,
    Marks,
    Names,
    entry_title,
    group_title,
    in_maintenance,
    plain,
    reports,
    service_name,
)
from outagewatch.app.faces.times import date_tag, time_tag
from outagewatch.app.i18n import ENGLISH, LANGUAGES, N_, Text
from outagewatch.app.maintenance_windows import Window
from outagewatch.app.outage_groups import OutageGroup, group_incidents, involving
from outagewatch.ingest.report import PROBLEMS

LEVEL_TEXT = {
    "none": N_("No problems"),
    "possible": N_("Possible problems"),
    "outage": N_("Outage"),
    "learning": N_("Learning"),
    "maintenance": MAINTENANCE,
}


def shown(d: dict[str, Any]) -> str:
    """The level to show: "learning" instead of "none" while there is no baseline, and
    "maintenance" while every open incident is marked as planned maintenance."""
    level = str(d.get("level") or "none")
    if level != "none" and under_maintenance(d.get("open_incidents") or []):
        return "maintenance"
    return "learning" if level == "none" and d.get("learning") else level


def under_maintenance(incidents: list[dict[str, Any]]) -> bool:
    return bool(incidents) and all(i.get("maintenance") for i in incidents)


CURRENT = ' aria-current="true"'
STREAM = "/v1/outages/stream"  # incident events (app/routes_live.py)


def _languages(t: Text, here: str) -> str:
    """Links to this page in every language, each named in its own language."""
    path = here.split("?", 1)[0]
    links = "".join(
        f'<a href="{esc(path)}?lang={lang}" lang="{lang}" hreflang="{lang}"'
        f"{CURRENT if lang == t.lang else ''}>{esc(t.name(lang))}</a>"
        for lang in LANGUAGES
    )
    return f'<nav class="langs" aria-label="{esc(t._("Language"))}">{links}</nav>'


# Static scripts only (the CSP allows no inline code): the report form, the reader's
# time (times.js), and the parts marked data-live kept current (live.js).
SCRIPTS = "".join(
    f'<script src="/static/{name}" defer></script>' for name in ("report.js", "times.js", "live.js")
)


def layout(
    t: Text,
    title: str,
    body: str,
    *,
    embed: bool = False,
    here: str = "/",
    stream: str | None = None,
    feeds: str = "",
) -> str:
    """`stream`: the event stream whose incident events refresh the page's data-live parts;
    `feeds`: more `<link rel="alternate">` for the head (a service's own feeds)."""
    script = "" if embed else SCRIPTS
    live = f' data-stream="{esc(stream)}"' if stream and not embed else ""
    atom = t.link("/v1/outages.atom")
    head_links = (
        ""
        if embed
        else '<link rel="alternate" type="application/atom+xml" '
        f'title="{esc(t._("Outages"))}" href="{esc(atom)}">'
    )
    top = (
        ""
        if embed
        else f'<header class="top"><a class="brand" href="{esc(t.link("/"))}">outage<b>watch</b>'
        f'</a><nav><a href="{esc(atom)}">Atom</a>'
        f'<a href="{esc(t.link("/v1/outages.feed.json"))}">JSON Feed</a>'
        '<a href="/docs">API</a></nav></header>'
    )
    foot = (
        ""
        if embed
        else "<footer><p>"
        + esc(
            t._(
                "Open crowd-report outage detection. Counts are reports from people, "
                "not measurements."
            )
        )
        + f"</p>{_languages(t, here)}</footer>"
    )
    return (
        f'<!doctype html><html lang="{t.lang}" dir="{t.dir}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="stylesheet" href="/static/style.css">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        f"{head_links}{feeds}{script}</head>"
        f'<body class="{"embed" if embed else "page"}"{live}>{top}<main>{body}</main>{foot}'
        "</body></html>"
    )


def pill(level: str | None, t: Text = ENGLISH) -> str:
    level = level or "none"
    text = t._(LEVEL_TEXT[level]) if level in LEVEL_TEXT else level
    return f'<span class="pill {esc(level)}">{esc(text)}</span>'


def _incident_rows(
    groups: list[OutageGroup], t: Text, notes: Notes | None = None, names: Names = NO_NAMES
) -> str:
    """One entry per outage: a service's regions and a cascade's dependants together.
    `notes`: operators' notes by incident id (Annotations.latest), shown on each entry;
    `names`: display names by slug."""
    if not groups:
        return f'<p class="calm">{esc(t._("No open incidents. Everything looks normal."))}</p>'
    rows = "".join(_outage_row(g, t, notes or {}, names) for g in groups)
    return f'<ul class="incidents">{rows}</ul>'


def _notes(g: OutageGroup, t: Text, notes: Notes) -> str:
    """The entry's newest operators' notes, each with its time and author."""
    shown_notes = entry_notes((str(i["id"]) for i in g.incidents), notes)
    if not shown_notes:
        return ""
    items = "".join(
        f"<li><bdi>{time_tag(t, n['at'])}</bdi>"
        + (f" · <bdi>{esc(n['author'])}</bdi>" if n["author"] else "")
        + f": {esc(n['text'])}</li>"
        for n in shown_notes
    )
    label = t._("Operators' notes")
    return f'<ul class="notes" aria-label="{esc(label)}">{items}</ul>'


def _outage_row(g: OutageGroup, t: Text, notes: Notes, names: Names) -> str:
    when = f"<bdi>{time_tag(t, g.started_at)}</bdi>"  # a Latin time inside Arabic keeps its order
    since = esc(t._("since %(time)s")).replace("%(time)s", when)
    # A cascade lists every service in it, the root first, each with its regions.
    dependants = "".join(
        f'<li class="{esc(d.level)}"><a href="{esc(t.link("/s/" + d.service))}">'
        f"{entry_title(d, t, HTML, names=names)}</a></li>"
        for d in (g.services if g.dependants else ())
    )
    return (
        f'<li class="incident {esc(g.level)}{" maintenance" if in_maintenance(g) else ""}">'
        f'<a href="{esc(t.link("/s/" + g.service))}">{group_title(g, t, HTML, names)}</a>'
        f'<span class="meta">{esc(t._(LEVEL_TEXT.get(g.level, "Outage")))} · {since} · '
        f"{reports(t, g.total_reports, HTML)}{_work_note(g.root.principal)}</span>"
        + _notes(g, t, notes)
        + (f'<ul class="dependants">{dependants}</ul>' if dependants else "")
        + "</li>"
    )


def _work_note(incident: dict[str, Any]) -> str:
    work = incident.get("maintenance")
    return f" · {esc(work['note'])}" if work and work.get("note") else ""


def _windows(windows: list[Window], t: Text) -> str:
    """A service's current and upcoming maintenance windows, for its page."""
    rows = []
    for w in windows:
        shown_at = w.public()
        # In the reader's zone with JavaScript (times.js), else UTC, labelled.
        span = (
            esc(t._("from %(start)s to %(end)s"))
            .replace("%(start)s", f"<bdi>{date_tag(t, shown_at['starts_at'])}</bdi>")
            .replace("%(end)s", f"<bdi>{date_tag(t, shown_at['ends_at'])}</bdi>")
        )
        where = f" ({esc(w.region)})" if w.region else ""
        note = f' <span class="meta">{esc(w.note)}</span>' if w.note else ""
        rows.append(f'<li><span class="when">{span}</span>{where}{note}</li>')
    return (
        f'<section class="card maintenance"><h2>{esc(t._(MAINTENANCE))}</h2>'
        f'<ul class="windows">{"".join(rows)}</ul></section>'
    )


def home(
    incidents: list[dict[str, Any]],
    services: list[dict[str, Any]],
    t: Text = ENGLISH,
    names: Names = NO_NAMES,
) -> str:
    rows = "".join(
        f'<tr><td><a href="{esc(t.link("/s/" + s["service"]))}">{shown_name(s)}</a></td>'
        f'<td>{pill(shown(s), t)}</td><td class="num">{t.num(int(s["reports_1h"]))}</td>'
        f'<td class="num">{t.num(int(s["reports_24h"]))}</td></tr>'
        for s in services
    )
    table = (
        f'<table class="services"><thead><tr><th>{esc(t._("Service"))}</th>'
        f"<th>{esc(t._('Status'))}</th>"
        f'<th class="num">{esc(t._("Reports 1 h"))}</th><th class="num">{esc(t._("24 h"))}</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if services
        else f'<p class="muted">{esc(t._("No reports yet."))}</p>'
    )
    body = (
        f'<section class="hero"><h1>{esc(t._("Is it down, or is it just me?"))}</h1><p>'
        + esc(
            t._(
                "Live outages detected from people's reports, compared with what is normal "
                "for each service at this hour of the week."
            )
        )
        + "</p></section>"
        f'<section class="card" data-live="incidents"><h2>{esc(t._("Current incidents"))}</h2>'
        f"{_incident_rows(group_incidents(incidents), t, names=names)}</section>"
        f'<section class="card" data-live="services"><h2>{esc(t._("Most reported services"))}</h2>'
        f"{table}</section>"
    )
    return layout(t, t._("outagewatch: live outages"), body, here="/", stream=STREAM)


def _problems(d: dict[str, Any], t: Text) -> str:
    if not d["top_problems"]:
        return f'<p class="muted">{esc(t._("No problems reported in the last 24 hours."))}</p>'
    rows = "".join(
        f'<li><span class="name">{esc(problem_word(t, p["problem"]))}</span>'
        f"{_bar(float(p['share']))}"
        f'<span class="num">{t.num(float(p["share"]), "#,##0%")}</span></li>'
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


def report_notes(t: Text = ENGLISH) -> dict[str, str]:
    """What the form and the widget say after a report, by the intake's answer: "counted"
    only when it said `counted: true` (a duplicate, or a network past its cap, is stored
    but not counted), "limited" for a 429, "failed" for anything else."""
    return {
        "counted": t._("Thanks, your report was counted."),
        "not_counted": t._(
            "Received, but not counted: a report of this service from you or your network "
            "was already counted within the hour."
        ),
        "limited": t._(
            "Too many reports from your network just now: please try again in a minute."
        ),
        "failed": t._("Sorry, that failed."),
    }


def report_form(
    service: str, thanks: str | None, t: Text = ENGLISH, name: str | None = None
) -> str:
    """`thanks`: the key of report_notes to show (the no-JavaScript path), or None;
    `name`: the service's display name, for its question."""
    choices = "".join(
        f'<label class="choice"><input type="radio" name="problem" value="{p}"'
        f"{' checked' if i == 0 else ''}><span>{esc(problem_word(t, p))}</span></label>"
        for i, p in enumerate(PROBLEMS)
    )
    notes = report_notes(t)
    said = notes.get(thanks or "")
    note = (
        '<p class="thanks" role="status" hidden></p>'
        if said is None
        else f'<p class="thanks{"" if thanks == "counted" else " bad"}" role="status">'
        f"{esc(said)}</p>"
    )
    # report.js shows these after posting by fetch: data, not code, so the CSP holds.
    notes["offline"] = t._("Sorry, that failed: are you offline?")
    notes["unlisted"] = unlisted_note(service, t)
    texts = "".join(f' data-{k.replace("_", "-")}="{esc(v)}"' for k, v in notes.items())
    action = t.link(f"/s/{service}/report")
    return (
        f'<form class="report" id="report" method="post" action="{esc(action)}" '
        f'data-service="{esc(service)}"{texts}>'
        f"<h2>{esc(t._('Having problems with %(service)s?') % {'service': name or service})}</h2>"
        f"<fieldset><legend>{esc(t._('What is not working?'))}</legend>{choices}</fieldset>"
        f'<button type="submit">{esc(t._("Report a problem"))}</button>{note}</form>'
    )


def service_page(
    d: dict[str, Any],
    thanks: str | None = None,
    t: Text = ENGLISH,
    windows: list[Window] | None = None,
    outages: list[dict[str, Any]] | None = None,
    *,
    regions: str = "",
    notes: Notes | None = None,
    names: Names = NO_NAMES,
) -> str:
    """`outages`: every open incident, so that a cascade this service is part of shows
    whole; without it, the service's own open incidents. `regions`: the card of the
    region map (app/faces/region_map.py), rendered. `notes`: operators' notes by
    incident id (Annotations.latest). `names`: display names by slug, for its outages
    and the providers they name as their probable cause (`because_of`)."""
    s, name = d["service"], d.get("name") or d["service"]
    groups = involving(group_incidents(d["open_incidents"] if outages is None else outages), s)
    minutes = int(d["bucket_seconds"]) // 60 or 1
    per = t.ngettext("reports per minute", "reports per %(num)s minutes", minutes) % {
        "num": t.num(minutes)
    }
    label = t._("%(what)s for %(service)s, with the expected range") % {
        "what": per,
        "service": name,
    }
    body = (
        f'<section class="status {esc(d["level"])}" data-live="status">'
        f"<div><h1>{shown_name(d)}</h1>"
        f"<p>{esc(_status_line(d, t))}</p>{_cause_line(d, t, names)}</div>"
        f"{pill(shown(d), t)}</section>"
        f"{_windows(windows, t) if windows else ''}"
        f'<div class="grid"><section class="card" data-live="chart">'
        f"<h2>{esc(t._('Reports in the last 24 hours'))}</h2>"
        f"{chart(d['series'], label, t)}"
        f'<p class="legend"><span class="key count"></span>{esc(per)}'
        f'<span class="key expected"></span>{esc(t._("expected"))}'
        f'<span class="key band"></span>{esc(t._("normal range"))}</p></section>'
        f'<section class="card">{report_form(s, thanks, t, name)}</section></div>'
        f'<div class="grid"><section class="card" data-live="incidents">'
        f"<h2>{esc(t._('Open incidents'))}</h2>"
        f"{_incident_rows(groups, t, notes, names)}</section>"
        f'<section class="card" data-live="problems"><h2>{esc(t._("Top problems"))}</h2>'
        f"{_problems(d, t)}</section></div>"
        f"{regions}"
        f'<p class="muted embed-hint">{esc(t._("Badge"))}: '
        f"<code>/v1/services/{esc(s)}/badge.svg</code> · "
        f"{esc(t._('Embed'))}: <code>/embed/{esc(s)}</code></p>"
    )
    title = t._("%(service)s status: %(level)s") % {
        "service": name,
        "level": t._(LEVEL_TEXT[shown(d)]),
    }
    stream = f"{STREAM}?service={s}"
    feeds = _service_feeds(s, t, name)
    return layout(t, f"{title} | outagewatch", body, here=f"/s/{s}", stream=stream, feeds=feeds)


def _service_feeds(service: str, t: Text, name: str) -> str:
    """Feed readers find the service's own feeds from its page (named by `name`)."""
    channel = Channel(service)
    title = esc(channel.title(t, {service: name}))
    return (
        f'<link rel="alternate" type="application/atom+xml" title="{title}" '
        f'href="{esc(t.link(channel.path("atom")))}">'
        f'<link rel="alternate" type="application/feed+json" title="{title}" '
        f'href="{esc(t.link(channel.path("json")))}">'
    )


def outage_line(
    d: dict[str, Any],
    t: Text,
    m: Marks,
    outages: list[dict[str, Any]] | None = None,
    names: Names = NO_NAMES,
) -> str | None:
    """The title of the newest open outage the service is part of, for the embed card and
    widget: with `outages` (every open incident), a cascade it belongs to shows whole."""
    found = group_incidents(d["open_incidents"] if outages is None else outages)
    groups = involving(found, d["service"])
    return group_title(groups[0], t, m, names) if groups else None


def probable_causes(d: dict[str, Any]) -> list[str]:
    """Providers the service's open incidents name as their likely cause (a declared
    provider in outage when they opened or were confirmed), first named first."""
    found = (c["service"] for i in d["open_incidents"] for c in i.get("because_of") or ())
    return list(dict.fromkeys(found))


def _cause_line(d: dict[str, Any], t: Text, names: Names) -> str:
    """ "Probably caused by the outage at Amazon Web Services." (or nothing)."""
    causes = [f"<bdi>{esc(service_name(c, names))}</bdi>" for c in probable_causes(d)]
    if not causes:
        return ""
    listed = format_list(causes, style="standard", locale=t.locale)
    words = esc(t._("Probably caused by the outage at %(providers)s.")) % {"providers": listed}
    return f'<p class="cause">{words}</p>'


def _status_line(d: dict[str, Any], t: Text) -> str:
    if d["level"] == "outage":
        head = t._("Users are reporting an outage.")
    elif d["level"] == "possible":
        head = t._("Reports are above normal: there may be a problem.")
    elif d.get("learning"):
        head = t._(
            "Learning what is normal: no baseline yet, so only reports far beyond any "
            "plausible level raise an alert."
        )
    else:
        head = t._("Reports are at their usual level.")
    hour = t.ngettext(
        "%(num)s report in the last hour", "%(num)s reports in the last hour", d["reports_1h"]
    ) % {"num": t.num(d["reports_1h"])}
    day = t.ngettext("%(num)s in 24 hours", "%(num)s in 24 hours", d["reports_24h"]) % {
        "num": t.num(d["reports_24h"])
    }
    return f"{head} " + t._("%(hour)s, %(day)s.") % {"hour": hour, "day": day}


def last_hour(t: Text, n: int) -> str:
    return t.ngettext("%(num)s report in the last hour", "%(num)s reports in the last hour", n) % {
        "num": t.num(n)
    }


def shown_name(d: dict[str, Any]) -> str:
    """A service's display name for HTML: escaped, and isolated (`<bdi>`) so a name in
    one script does not reorder the words around it in another (Arabic pages)."""
    return f"<bdi>{esc(d.get('name') or d['service'])}</bdi>"


def embed_card(
    d: dict[str, Any],
    base: str,
    t: Text = ENGLISH,
    outages: list[dict[str, Any]] | None = None,
    names: Names = NO_NAMES,
) -> str:
    s = d["service"]
    href = base + t.link(f"/s/{s}")
    body = (
        f'<a class="mini {esc(d["level"])}" href="{esc(href)}" target="_blank" '
        f'rel="noopener"><span class="name">{shown_name(d)}</span>{pill(shown(d), t)}'
        f"{sparkline(d['series'])}"
        + (
            f'<span class="outage-line">{line}</span>'
            if (line := outage_line(d, t, HTML, outages, names))
            else ""
        )
        + f'<span class="meta">{esc(last_hour(t, int(d["reports_1h"])))} · outagewatch'
        "</span></a>"
    )
    title = t._("%(service)s status") % {"service": d.get("name") or s}
    return layout(t, title, body, embed=True)


def not_found(what: str, *, embed: bool = False, form: bool = False, t: Text = ENGLISH) -> str:
    first = f'<section class="card">{report_form(what, None, t)}</section>' if form else ""
    no_reports = esc(t._("We have no reports for %(service)s.")).replace(
        "%(service)s", f"<code>{esc(what)}</code>"
    )
    body = (
        f'<section class="card notfound"><h1>{esc(t._("Not found"))}</h1>'
        f"<p>{no_reports}</p><p>"
        + esc(t._("Service names are lower-case, like amazon or whatsapp."))
        + f' <a href="{esc(t.link("/"))}">{esc(t._("See all services"))}</a>.</p></section>'
        f"{first}"
    )
    return layout(t, f"{t._('Not found')} | outagewatch", body, embed=embed, here=f"/s/{what}")


def no_reports_yet(
    service: str,
    name: str,
    *,
    embed: bool = False,
    t: Text = ENGLISH,
    windows: list[Window] | None = None,
) -> str:
    """The page (or embed card) of a service the catalog holds that nobody has reported
    yet: its display name, that there are no reports, its maintenance windows, and on
    the page the form to be the first. Not "Not found": the service is known."""
    shown = f"<bdi>{esc(name)}</bdi>"
    none = esc(t._("We have no reports for %(service)s.")).replace("%(service)s", shown)
    quiet = f'<span class="pill learning">{esc(t._("No data yet"))}</span>'
    title = t._("%(service)s status") % {"service": name}
    if embed:
        href = t.link(f"/s/{service}")
        body = (
            f'<a class="mini" href="{esc(href)}" target="_blank" rel="noopener">'
            f'<span class="name">{shown}</span>{quiet}<span class="meta">{none}</span></a>'
        )
        return layout(t, title, body, embed=True)
    body = (
        f'<section class="status"><div><h1>{shown}</h1><p>{none}</p></div>{quiet}</section>'
        f"{_windows(windows, t) if windows else ''}"
        f'<section class="card">{report_form(service, None, t, name)}</section>'
    )
    return layout(t, f"{title} | outagewatch", body, here=f"/s/{service}")


def unlisted_note(service: str, t: Text = ENGLISH) -> str:
    """What the form and the widget say when the intake refuses a service it does not
    know (422 `unknown_service`): why, and what to do."""
    return t._(
        "%(service)s is not in our catalog yet: check the name, or ask the people who run "
        "this site to add it."
    ) % {"service": service}


def not_in_catalog(service: str, *, embed: bool = False, t: Text = ENGLISH) -> str:
    """The page of a service the catalog does not hold (and the intake would refuse):
    says so, instead of "Not found", and offers no report form that would fail."""
    heading = t._("%(service)s is not in our catalog yet") % {"service": service}
    body = (
        f'<section class="card notfound unlisted"><h1>{esc(heading)}</h1><p>'
        + esc(
            t._(
                "Reports are taken only for the services in our catalog: check the name, "
                "or ask the people who run this site to add it."
            )
        )
        + f' <a href="{esc(t.link("/"))}">{esc(t._("See all services"))}</a>.</p></section>'
    )
    return layout(t, f"{heading} | outagewatch", body, embed=embed, here=f"/s/{service}")


def notice(heading: str, text: str, t: Text = ENGLISH) -> str:
    body = (
        f'<section class="card notfound"><h1>{esc(heading)}</h1><p>{esc(text)}</p>'
        f'<p><a href="{esc(t.link("/"))}">{esc(t._("Back to all services"))}</a>.</p></section>'
    )
    return layout(t, f"{heading} | outagewatch", body)


def widget_data(
    d: dict[str, Any] | None,
    t: Text = ENGLISH,
    *,
    service: str = "",
    listed: bool = True,
    outages: list[dict[str, Any]] | None = None,
    names: Names = NO_NAMES,
) -> dict[str, Any]:
    """The widget's words and, when the service has reports, its status line and series.
    `listed`: False when the catalog would refuse reports of `service`; `names`: display
    names by slug."""
    words = {level: t._(text) for level, text in LEVEL_TEXT.items()}
    words |= {
        "unknown": t._("No data yet"),
        "report": t._("Report a problem"),
        "no_data": t._("No reports in the last 24 hours."),
        "set_service": t._("Set data-service to a service name, like amazon."),
        "unavailable": t._("Status unavailable."),
    }
    words |= report_notes(t)
    if service:
        words["unlisted"] = unlisted_note(service, t)
    status = None
    if d is not None:
        status = {
            "name": d.get("name") or d["service"],
            "level": "maintenance" if shown(d) == "maintenance" else d["level"],
            "learning": bool(d.get("learning")),
            "series": [{"count": p["count"]} for p in d["series"]],
            "meta": f"{last_hour(t, int(d['reports_1h']))} · outagewatch",
            "incident": outage_line(d, t, plain(t), outages, names),
        }
    return {
        "lang": t.lang,
        "dir": t.dir,
        "text": words,
        "problems": {p: problem_word(t, p) for p in PROBLEMS},
        "status": status,
        "listed": listed,
        # What people call it, also before its first report (the catalog's display name).
        "name": service_name(service, names) if service else None,
    }
