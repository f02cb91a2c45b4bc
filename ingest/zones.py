"""The country of a browser's IANA time zone, from the tz database's own zone table.

Reports from the page and the widget carry the browser's time zone
(`Intl.DateTimeFormat().resolvedOptions().timeZone`) instead of asking for a country.
The `tzdata` package ships the tables: zone.tab names the country of every zone, and
tzdata.zi's links map old names that browsers still give (Asia/Calcutta,
Europe/Kiev, US/Eastern) to the zone they stand for. No address is looked up, nothing
leaves the server.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

MAX_ZONE = 64  # the longest zone name is 32 characters; past this it is no zone


@cache
def zone_countries() -> dict[str, str]:
    """Every zone name and link of the tz database with its country (read once)."""
    data = files("tzdata").joinpath("zoneinfo")
    countries: dict[str, str] = {}
    for line in data.joinpath("zone.tab").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, _, zone = line.split("\t")[:3]
            countries[zone] = code
    for line in data.joinpath("tzdata.zi").read_text(encoding="utf-8").splitlines():
        if line.startswith("L "):  # "L Asia/Kolkata Asia/Calcutta": a link to a zone
            _, target, name = line.split()
            if target in countries:
                countries.setdefault(name, countries[target])
    return countries


def country_of_zone(tz: object) -> str | None:
    """The ISO 3166-1 alpha-2 country of a time zone name; None for anything else.

    >>> [country_of_zone(z) for z in ("Europe/Warsaw", "Asia/Jakarta", "America/New_York")]
    ['PL', 'ID', 'US']
    >>> country_of_zone("Africa/Cairo"), country_of_zone("Asia/Calcutta")
    ('EG', 'IN')
    >>> country_of_zone("UTC"), country_of_zone("<script>"), country_of_zone(7)
    (None, None, None)
    """
    if not isinstance(tz, str) or len(tz) > MAX_ZONE:
        return None
    return zone_countries().get(tz)
