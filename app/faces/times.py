"""Times on the pages: UTC from the server, labelled, in a `<time>` element that
app/static/times.js rewrites in the reader's own time zone and language."""

from __future__ import annotations

from html import escape as esc

from outagewatch.app.faces.feeds import when
from outagewatch.app.i18n import Text


def time_tag(t: Text, iso: str) -> str:
    """The hour and minute of an ISO UTC time, marked up for the reader's clock.

    >>> time_tag(Text("pl"), "2026-11-02T14:05:00Z")
    '<time datetime="2026-11-02T14:05:00Z" data-local="hm">14:05 UTC</time>'
    """
    return f'<time datetime="{esc(iso)}" data-local="hm">{esc(t.hm(iso))} UTC</time>'


def date_tag(t: Text, iso: str) -> str:
    """A date and time (a maintenance window's start, say), the locale's way in UTC,
    marked up for times.js to rewrite with the date in the reader's zone.

    >>> date_tag(Text("en"), "2026-11-02T22:00:00Z")
    '<time datetime="2026-11-02T22:00:00Z" data-local="dt">Nov 2, 2026, 10:00:00\u202fPM UTC</time>'
    """
    return f'<time datetime="{esc(iso)}" data-local="dt">{esc(when(t, iso))}</time>'
