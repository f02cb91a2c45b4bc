"""A flat shields-style SVG badge: label on grey, status on the level's colour."""

from __future__ import annotations

from xml.sax.saxutils import escape

from outagewatch.app.i18n import ENGLISH, N_, Text

STATUS = {
    "none": (N_("up"), "#3fb950"),
    "possible": (N_("possible problem"), "#e3872d"),
    "outage": (N_("outage"), "#d73a49"),
    "unknown": (N_("unknown"), "#9f9f9f"),
    "learning": (N_("learning"), "#9f9f9f"),  # no baseline yet: not "up"
    "maintenance": (N_("Planned maintenance"), "#0969da"),  # every open incident is planned
}
_NARROW = set("fijlrt1I.,:;!| ")
_WIDE = set("mwMW@%")


def _text_width(text: str) -> int:
    """Verdana 11px, near enough: shields measures fonts; a badge only needs to fit."""
    return int(sum(3.5 if c in _NARROW else 10.0 if c in _WIDE else 7.0 for c in text))


def badge(label: str, level: str, t: Text = ENGLISH) -> str:
    status, colour = STATUS.get(level, STATUS["unknown"])
    status = t._(status)
    label = label[:40]
    lw, sw = _text_width(label) + 10, _text_width(status) + 10
    w = lw + sw
    lab, st = escape(label), escape(status)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" '
        f'xml:lang="{t.lang}" '
        f'aria-label="{escape(label, {chr(34): "&quot;"})}: {st}">'
        f"<title>{lab}: {st}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{sw}" height="20" fill="{colour}"/>'
        f'<rect width="{w}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lw / 2}" y="15" fill="#010101" fill-opacity=".3">{lab}</text>'
        f'<text x="{lw / 2}" y="14">{lab}</text>'
        f'<text x="{lw + sw / 2}" y="15" fill="#010101" fill-opacity=".3">{st}</text>'
        f'<text x="{lw + sw / 2}" y="14">{st}</text></g></svg>'
    )
