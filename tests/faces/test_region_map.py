"""The region map of the service page: a tile per reporting country, and a table of the
same figures for screen readers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from outagewatch.app.faces.region_figures import RegionFigure
from outagewatch.app.faces.region_map import GRID, region_map, region_section, shade
from outagewatch.app.i18n import LANGUAGES, Text
from outagewatch.app.main import OutageWatch
from outagewatch.ingest.regions import REGIONS

SVG = "{http://www.w3.org/2000/svg}"
Outage = tuple[OutageWatch, TestClient]


class Rows(HTMLParser):
    """The data rows of the regions table: region code and the text of each cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.row: str | None = None
        self.in_table = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("class") == "regions":
            self.in_table = True
        elif tag == "tr" and self.in_table and a.get("data-region"):
            self.row = str(a["data-region"])
            self.rows[self.row] = []
        elif tag == "td" and self.row is not None:
            self.rows[self.row].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        elif tag == "table":
            self.in_table = False

    def handle_data(self, data: str) -> None:
        if self.row is not None and self.rows[self.row]:
            self.rows[self.row][-1] += data


def tiles(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    found = [g for g in root.iter(f"{SVG}g") if "tile" in g.get("class", "").split()]
    by_region = {str(g.get("data-region")): g for g in found}
    assert len(by_region) == len(found), "one tile per region"
    return by_region


def position(g: ET.Element) -> tuple[str | None, str | None]:
    rect = g.find(f"{SVG}rect")
    assert rect is not None
    return rect.get("x"), rect.get("y")


figures = st.lists(
    st.builds(
        RegionFigure,
        region=st.sampled_from(sorted(REGIONS)),
        reports=st.integers(1, 10**6),
        reports_1h=st.integers(0, 10**5),
        level=st.sampled_from([None, "possible", "outage"]),
        ratio=st.none() | st.floats(0, 1e4),
        learning=st.booleans(),
    ),
    max_size=60,
    unique_by=lambda f: f.region,
)


@given(figures, st.sampled_from(LANGUAGES))
def test_one_tile_per_reporting_region_each_in_its_own_place(
    regions: list[RegionFigure], lang: str
) -> None:
    t = Text(lang)
    drawn = tiles(region_map(regions, t))
    assert set(drawn) == {f.region for f in regions}
    places = [position(g) for g in drawn.values()]
    assert len(set(places)) == len(places)
    for f in regions:
        assert shade(f) in drawn[f.region].get("class", "")
        codes = [e.text for e in drawn[f.region].iter(f"{SVG}text")]
        assert f.region in codes
    table = Rows()
    table.feed(region_section(regions, t))
    assert set(table.rows) == {f.region for f in regions}
    for f in regions:
        assert table.rows[f.region][2] == t.num(f.reports)


def test_known_countries_sit_at_their_grid_place_others_below() -> None:
    regions = [RegionFigure("PL", 30, 12, "outage", 9.0), RegionFigure("BQ", 2, 0, None, 0.5)]
    drawn = tiles(region_map(regions, Text()))
    col, row = GRID["PL"]
    assert position(drawn["PL"]) == (str(col * 31), str(row * 31))
    assert int(position(drawn["BQ"])[1] or 0) > max(r for _, r in GRID.values()) * 31
    assert "Other regions" in region_map(regions, Text())


def test_labels_are_escaped() -> None:
    hostile = '<script>"&x'
    svg = region_map([RegionFigure(hostile, 3, 1, None, 2.0)], Text())
    assert "<script>" not in svg
    assert hostile in tiles(svg)
    table = region_section([RegionFigure(hostile, 3, 1, None, 2.0)], Text())
    assert "<script>" not in table and "&lt;script&gt;" in table


def test_the_service_page_shows_the_map_and_the_same_figures_in_its_table(
    outage: Outage,
) -> None:
    _, client = outage
    detail = client.get("/v1/services/tinyapp").json()
    html = client.get("/s/tinyapp").text
    svg = re.search(
        r"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"region-map\".*?</svg>", html
    )
    assert svg is not None
    drawn = tiles(svg.group(0))
    table = Rows()
    table.feed(html)
    listed = {r["region"]: r["reports"] for r in detail["regions"]}
    assert listed and set(drawn) == set(table.rows) == set(listed)
    for region, n in listed.items():
        assert table.rows[region][2] == f"{n:,}"
    assert "outage" in drawn["IT"].get("class", "")
    assert "Outage" in table.rows["IT"][1] and "Italy" in table.rows["IT"][0]
    assert 'class="map-legend"' in html and "Above normal" in html
    # busy's regions have a day of steady history: about as many reports as expected.
    busy = Rows()
    busy.feed(client.get("/s/busy").text)
    assert set(busy.rows) == {"IT", "FR", "US"}
    for cells in busy.rows.values():
        ratio = re.fullmatch(r"([\d.]+)\u00d7 normal", cells[3])
        assert ratio is not None and 0.3 < float(ratio.group(1)) < 3, cells
        assert "usual" in cells[1]
