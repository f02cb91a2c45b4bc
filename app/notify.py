"""Notifications where people live, through Apprise: Discord, Telegram, Microsoft
Teams, email, ntfy, Matrix, Pushover, Slack and ~100 more, each named by one URL
(`discord://id/token`, `mailto://user:pass@example.org`, `ntfy://topic`, ...).

They ride the webhooks' outbox (app/webhooks.py): a subscription is a row with format
`apprise`, every matching incident event becomes a delivery row before anything is
sent, and failures are retried with the same backoff, across restarts.

Targets: services that Apprise reaches at their vendor's own address are fine. Those
that take a host from the URL (json://, xml://, form://, mailto:// and its smtp=,
ntfy://host, matrix://, gotify://, ...) are requests the server makes on someone's
behalf: their host is resolved and refused when private, as a webhook's is, unless
`webhook_allow_private` is set. Apprise connects by itself, so unlike a webhook the
address cannot be pinned between the check and the send; the check runs again before
every delivery.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import apprise
import orjson

from outagewatch.app.events import Event
from outagewatch.app.faces.feeds import summary
from outagewatch.app.faces.outage_text import NO_NAMES, Names, level_word, region_list, service_name
from outagewatch.app.i18n import ENGLISH, Text
from outagewatch.app.webhooks import Subscription, public_addresses

# Apprise schemes whose URL names the host to connect to (the rest talk to fixed,
# public vendor endpoints).
SELF_HOSTED = frozenset({
    "json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos", "ntfy", "ntfys",
    "gotify", "gotifys", "matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets",
    "apprise", "apprises", "nctalk", "nctalks", "ncloud", "nclouds", "rsyslog", "syslog",
    "mqtt", "mqtts", "gchat", "signal", "signals",
})  # fmt: skip


def known(url: str) -> bool:
    """An Apprise URL this server can send to.

    >>> known("discord://1234/abcd"), known("nope://x"), known("https://example.org")
    (True, False, False)
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):  # those are webhooks: signed JSON, app/webhooks.py
        return False
    return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None


def hosts(url: str) -> list[tuple[str, int]]:
    """The hosts a URL makes the server connect to, when it names any.

    >>> hosts("json://127.0.0.1:8080/hook"), hosts("discord://1234/abcd")
    ([('127.0.0.1', 8080)], [])
    >>> hosts("mailto://me:pw@example.org?smtp=10.0.0.5&to=you@example.org")
    [('example.org', 25), ('10.0.0.5', 25)]
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SELF_HOSTED or not parts.hostname:
        return []
    secure = scheme.endswith("s") and scheme not in ("mailto", "signals")
    port = parts.port or (443 if secure else 25 if scheme.startswith("mailto") else 80)
    out = [(parts.hostname, port)]
    for smtp in parse_qs(parts.query).get("smtp", []):
        out.append((smtp, parts.port or 25))
    return out


async def check(url: str, allow_private: bool, *, must_resolve: bool = False) -> None:
    """Raise TargetRefused when the URL would make the server connect to a private,
    loopback or otherwise internal address. A name that does not resolve yet is let
    through when subscribing, and refused when sending (`must_resolve`)."""
    if allow_private:
        return
    for host, port in hosts(url):
        await public_addresses(host, port, must_resolve=must_resolve)


def title(event: Event, t: Text = ENGLISH, names: Names = NO_NAMES) -> str:
    """ "Amazon Web Services: Outage", "... Outage — IT - resolved": the service first, by
    its display name (people filter their mail on it), a regional incident's region, in
    the server's language."""
    inc = event.incident
    name = service_name(inc["service"], names)
    where = f" — {region_list([inc['region']], t)}" if inc.get("region") else ""
    done = f" - {t._('resolved')}" if event.type == "resolved" else ""
    return f"{name}: {level_word(inc['level'], t)}{where}{done}"


def message(event: Event, base_url: str, t: Text = ENGLISH, names: Names = NO_NAMES) -> bytes:
    """What a person reads: a title, the feeds' summary of the incident (its reports in
    the language's plural, peak, top problems), where reports come from (service-wide
    incidents), and the link (stored in the outbox)."""
    inc = event.incident
    lines = [summary(inc, t)]
    if inc.get("regions") and not inc.get("region"):
        regions = region_list([r["region"] for r in inc["regions"]], t)
        lines.append(t._("Reported from %(regions)s.") % {"regions": regions})
    lines.append(f"{base_url}/s/{inc['service']}")
    return orjson.dumps({"title": title(event, t, names), "body": "\n".join(lines)})


async def send(url: str, stored: str, allow_private: bool) -> bool:
    """Deliver one stored message; True when the service took it."""
    await check(url, allow_private, must_resolve=True)
    msg: dict[str, Any] = orjson.loads(stored)
    sender = apprise.Apprise()
    if not sender.add(url):
        raise ValueError("not an Apprise URL this server can send to")

    # Apprise's plugins do blocking network calls inside its async API for some
    # services; a thread keeps the deliverer's event loop free either way.
    def deliver() -> bool:
        return bool(sender.notify(body=msg["body"], title=msg["title"]))

    return await asyncio.to_thread(deliver)


def public(sub: Subscription) -> dict[str, Any]:
    """A subscription as its owner sees it: the URL with its secrets masked."""
    plugin = apprise.Apprise.instantiate(sub.url, suppress_exceptions=True)
    shown = (
        str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
        if plugin is not None
        else "(not a known Apprise URL)"
    )
    return {
        "id": sub.id,
        "apprise": shown,
        "service": sub.service,
        "region": sub.region,
        "level": sub.level,
        "lang": sub.lang,
    }
