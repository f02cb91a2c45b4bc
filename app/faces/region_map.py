"""The region map of a service page: a tile-grid map, one square per country at a
fixed place, drawn as SVG on the server, and the same figures as a table.

No geodata: GRID is a hand-made table of where each country's square sits, roughly
where the country is; a reporting country that is not in it gets a square in a row
below the map. Colours are classes (app/static/style.css): no inline style, no script,
so the page's CSP holds. Every label goes through `esc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as esc

from outagewatch.app.faces.outage_text import reports
from outagewatch.app.faces.pages import LEVEL_TEXT
from outagewatch.app.faces.region_figures import RegionFigure
from outagewatch.app.i18n import N_, Text

# (column, row) of each country's square, west to east, north to south.
GRID: dict[str, tuple[int, int]] = {
    # North and South America
    "CA": (1, 1), "US": (1, 2), "MX": (1, 3), "GT": (1, 4), "CO": (2, 5), "VE": (3, 5),
    "PE": (2, 6), "BR": (3, 6), "CL": (2, 7), "AR": (3, 7),
    # Europe
    "IS": (5, 0), "NO": (9, 0), "SE": (10, 0), "FI": (11, 0),
    "IE": (6, 1), "GB": (7, 1), "DK": (9, 1), "EE": (11, 1), "RU": (13, 1),
    "BE": (7, 2), "NL": (8, 2), "DE": (9, 2), "PL": (10, 2), "LT": (11, 2), "BY": (12, 2),
    "FR": (7, 3), "LU": (8, 3), "CZ": (9, 3), "SK": (10, 3), "UA": (11, 3),
    "PT": (6, 4), "ES": (7, 4), "CH": (8, 4), "AT": (9, 4), "HU": (10, 4), "RO": (11, 4),
    "IT": (8, 5), "SI": (9, 5), "HR": (10, 5), "RS": (11, 5), "BG": (12, 5),
    "GR": (11, 6), "TR": (12, 6),
    # Africa and the Middle East
    "MA": (6, 7), "DZ": (7, 7), "TN": (8, 7), "LY": (9, 7), "EG": (10, 7), "IL": (11, 7),
    "JO": (12, 7), "IQ": (13, 7), "IR": (14, 7),
    "NG": (8, 8), "SD": (10, 8), "SA": (12, 8), "QA": (13, 8), "AE": (14, 8),
    "GH": (7, 9), "ET": (11, 9), "YE": (12, 9), "OM": (14, 9),
    "KE": (11, 10), "ZA": (10, 11),
    # Asia and Oceania
    "KZ": (14, 5), "MN": (18, 5), "CN": (18, 6), "KR": (20, 6), "JP": (21, 6),
    "PK": (15, 7), "TW": (20, 7), "IN": (16, 8), "BD": (17, 8), "HK": (19, 8),
    "LK": (16, 9), "TH": (18, 9), "VN": (19, 9), "PH": (20, 9),
    "MY": (18, 10), "SG": (18, 11), "ID": (19, 11), "AU": (20, 12), "NZ": (22, 13),
}  # fmt: skip
COLUMNS = 23
ROWS = 1 + max(row for _, row in GRID.values())
SIZE, GAP = 28, 3
STEP = SIZE + GAP
ABOVE = 2.0  # the last hour at twice its expected count or more: "above normal"

# Legend order: worst first. Levels' words are pages.LEVEL_TEXT's.
SHADES = ("outage", "possible", "above", "normal", "learning")
SHADE_TEXT = {
    "above": N_("Above normal"),
    "normal": N_("At the usual level"),
}


def shade(f: RegionFigure) -> str:
    """The colour class of a region: its incident's level, else how far above normal."""
    if f.level in ("outage", "possible"):
        return f.level
    if f.learning:
        return "learning"
    return "above" if f.ratio is not None and f.ratio >= ABOVE else "normal"


def shade_text(t: Text, name: str) -> str:
    return t._(SHADE_TEXT[name]) if name in SHADE_TEXT else t._(LEVEL_TEXT[name])


def places(figures: Sequence[RegionFigure]) -> dict[str, tuple[int, int]]:
    """Where each reporting region's square goes: its grid place, or the next free
    place in the rows below the map (after a row left for their label), in order."""
    spot = {f.region: GRID[f.region] for f in figures if f.region in GRID}
    others = [f.region for f in figures if f.region not in GRID]
    for i, region in enumerate(others):
        spot[region] = (i % COLUMNS, ROWS + 1 + i // COLUMNS)
    return spot


def ratio_text(t: Text, f: RegionFigure) -> str:
    if f.learning:
        return t._(LEVEL_TEXT["learning"])
    if f.ratio is None:
        return "\u2013"
    return t._("%(ratio)s\u00d7 normal") % {"ratio": t.num(f.ratio, "#,##0.#")}


def region_map(figures: Sequence[RegionFigure], t: Text) -> str:
    """The map as an SVG element to put inline in a page."""
    spot = places(figures)
    rows = 1 + max([ROWS - 1, *(row for _, row in spot.values())])
    title = t._(
        "Map of the regions reporting problems, coloured by how far reports are above normal"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="region-map" role="img" '
        f'viewBox="0 0 {COLUMNS * STEP} {rows * STEP}" aria-labelledby="region-map-title">'
        f'<title id="region-map-title">{esc(title)}</title>'
    ]
    # The countries of the grid that report nothing: the shape of the world, muted.
    for code, (col, row) in GRID.items():
        if code not in spot:
            x, y = col * STEP, row * STEP
            parts.append(
                f'<rect class="land" x="{x}" y="{y}" width="{SIZE}" height="{SIZE}" rx="4"/>'
                f'<text class="land" x="{x + SIZE / 2:g}" y="{y + 18}">{esc(code)}</text>'
            )
    if len(spot) > sum(1 for f in figures if f.region in GRID):
        parts.append(
            f'<text class="others" x="0" y="{ROWS * STEP + 20}">{esc(t._("Other regions"))}</text>'
        )
    for f in figures:
        col, row = spot[f.region]
        x, y = col * STEP, row * STEP
        name = t.locale.territories.get(f.region, f.region)
        about = f"{name}: {reports(t, f.reports)} · {ratio_text(t, f)}"
        short = "" if f.ratio is None or f.learning else f"\u00d7{t.num(f.ratio, '#,##0')}"
        parts.append(
            f'<g class="tile {shade(f)}" data-region="{esc(f.region)}"><title>{esc(about)}</title>'
            f'<rect x="{x}" y="{y}" width="{SIZE}" height="{SIZE}" rx="4"/>'
            f'<text class="code" x="{x + SIZE / 2:g}" y="{y + 13}">{esc(f.region)}</text>'
            f'<text class="ratio" x="{x + SIZE / 2:g}" y="{y + 24}">{esc(short)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def legend(t: Text) -> str:
    keys = "".join(
        f'<li><span class="swatch {name}"></span>{esc(shade_text(t, name))}</li>' for name in SHADES
    )
    return f'<ul class="map-legend">{keys}</ul>'


def region_table(figures: Sequence[RegionFigure], t: Text) -> str:
    """The map's figures as a table: what a screen reader reads instead of the map."""
    if not figures:
        return f'<p class="muted">{esc(t._("No regions reported."))}</p>'
    rows = "".join(
        f'<tr data-region="{esc(f.region)}">'
        f'<td><span class="code">{esc(f.region)}</span> '
        f"{esc(t.locale.territories.get(f.region, f.region))}</td>"
        f'<td><span class="pill {shade(f)}">{esc(shade_text(t, shade(f)))}</span></td>'
        f'<td class="num">{t.num(f.reports)}</td>'
        f'<td class="num">{esc(ratio_text(t, f))}</td></tr>'
        for f in figures
    )
    return (
        f'<table class="regions"><thead><tr><th>{esc(t._("Region"))}</th>'
        f"<th>{esc(t._('Status'))}</th>"
        f'<th class="num">{esc(t._("Reports"))}</th>'
        f'<th class="num">{esc(t._("Last hour vs. normal"))}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def region_section(figures: Sequence[RegionFigure], t: Text) -> str:
    """The service page's card: the map and its legend, then the table of figures."""
    heading = f"<h2>{esc(t._('Where problems are reported'))}</h2>"
    drawn = f'<div class="map-wrap">{region_map(figures, t)}</div>{legend(t)}' if figures else ""
    return (
        f'<section class="card region-card" data-live="regions">{heading}{drawn}'
        f"{region_table(figures, t)}</section>"
    )
