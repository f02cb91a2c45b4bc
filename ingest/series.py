"""The registry of watched series: (service, region) pairs and service-wide ones.

A series gets a dense integer id the first time it is counted, so per-series state
elsewhere (detector arrays, count vectors) is indexed by position, not by dict.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

SeriesKey = tuple[str, str | None]  # region None = service-wide
_SCHEMA = {"sid": pl.Int64, "service": pl.String, "region": pl.String}
_EMPTY = pl.DataFrame(schema=_SCHEMA)
REGION_BITS = 20  # pair code = service code << REGION_BITS | region code (a few hundred regions)


@dataclass(frozen=True)
class Codes:
    """Integer codes for the names, so that a batch's keys are matched against a
    million known ones on one int64 column (a join on a million string pairs held
    ~200 MB while it ran). Region code 0 is service-wide."""

    services: pl.DataFrame  # service, sc
    regions: pl.DataFrame  # region (null: service-wide), rc
    pairs: pl.DataFrame  # pair, sid

    def paired(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`rows` (service, region, ...) with their pair code: null where a name has
        no code yet."""
        coded = rows.join(self.services, on="service", how="left")
        coded = coded.join(self.regions, on="region", how="left", nulls_equal=True)
        pair = pl.col("sc") * (1 << REGION_BITS) + pl.col("rc")
        return coded.with_columns(pair.alias("pair")).drop("sc", "rc")


def _appended(frame: pl.DataFrame, part: pl.DataFrame) -> pl.DataFrame:
    """`frame` with `part`'s rows after its own, rechunked once chunks pile up."""
    out = pl.concat([frame, part], rechunk=False)
    return out.rechunk() if out.n_chunks() > 32 else out


def _coded(table: pl.DataFrame, names: pl.DataFrame, col: str, code: str) -> pl.DataFrame:
    """`table` with a code for every name of `names` it lacks (codes in order of
    arrival; which code a name gets does not matter, only that it keeps it)."""
    new = names.select(col).unique(maintain_order=True)
    new = new.join(table, on=col, how="anti", nulls_equal=True)
    if new.is_empty():
        return table
    start = table.height
    new = new.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + start).alias(code))
    return pl.concat([table, new])


class SeriesIndex:
    """
    >>> s = SeriesIndex()
    >>> s.ids([("amazon", "IT"), ("amazon", None), ("amazon", "IT")]).tolist()
    [0, 1, 0]
    >>> s.key(1)
    ('amazon', None)
    """

    def __init__(self, keys: Iterable[SeriesKey] = ()) -> None:
        self._keys: list[SeriesKey] = []
        self._ids: dict[SeriesKey, int] = {}
        self._wide: list[int] = []  # ids of service-wide series, ascending
        self._of: dict[str, array[int]] = {}  # a service's ids, ascending (8 bytes each)
        self._frame = _EMPTY  # frame() of the first len(self._frame) keys, kept
        self._codes = Codes(
            pl.DataFrame(schema={"service": pl.String, "sc": pl.Int64}),
            pl.DataFrame(
                {"region": [None], "rc": [0]}, schema={"region": pl.String, "rc": pl.Int64}
            ),
            pl.DataFrame(schema={"pair": pl.Int64, "sid": pl.Int64}),
        )
        self.extend(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def id(self, key: SeriesKey) -> int:
        i = self._ids.get(key)
        if i is None:
            self.extend((key,))
            i = self._ids[key]
        return i

    def extend(self, keys: Iterable[Sequence[str | None]]) -> None:
        """Give every key not seen yet its id, in order: `id()` of each, in one loop
        rather than a call per key (a restore registers a million).

        >>> s = SeriesIndex([("a", "IT")])
        >>> s.extend([("b", None), ("a", "IT"), ("a", None)])
        >>> s.keys(), s.of_service("a")
        ([('a', 'IT'), ('b', None), ('a', None)], [0, 2])
        """
        ids, out, wide, of, intern = self._ids, self._keys, self._wide, self._of, sys.intern
        for service, region in keys:
            assert service is not None
            # Keys arrive as fresh strings from each batch: interned, a million series
            # share one copy of each service and region name (~100 bytes a series).
            key = (intern(service), None if region is None else intern(region))
            if key in ids:
                continue
            i = ids[key] = len(out)
            out.append(key)
            if region is None:
                wide.append(i)
            ids_of = of.get(key[0])
            if ids_of is None:
                ids_of = of[key[0]] = array("q")
            ids_of.append(i)

    def get(self, key: SeriesKey) -> int | None:
        return self._ids.get(key)

    def mapping(self) -> Mapping[SeriesKey, int]:
        """Key -> id, as kept (read it, do not change it)."""
        return self._ids

    def ids(self, keys: Iterable[SeriesKey]) -> npt.NDArray[np.int64]:
        return np.fromiter((self.id(k) for k in keys), dtype=np.int64)

    def key(self, i: int) -> SeriesKey:
        return self._keys[i]

    def keys(self, upto: int | None = None) -> list[SeriesKey]:
        """The keys of ids below `upto` (all by default): ids only ever grow, so the
        first `upto` keys never change."""
        return self._keys[:upto]

    def wide_ids(self) -> npt.NDArray[np.int64]:
        """Ids of the service-wide series (region None), ascending.

        >>> SeriesIndex([("a", "IT"), ("a", None), ("b", None)]).wide_ids().tolist()
        [1, 2]
        """
        return np.array(self._wide, dtype=np.int64)

    def wide_mask(self) -> npt.NDArray[np.bool_]:
        """Which series ids are service-wide, by id.

        >>> SeriesIndex([("a", "IT"), ("a", None), ("b", None)]).wide_mask().tolist()
        [False, True, True]
        """
        mask = np.zeros(len(self), dtype=np.bool_)
        mask[self.wide_ids()] = True
        return mask

    def frame(self) -> pl.DataFrame:
        """Columns sid, service, region: for joins that map many rows at once.

        Ids only grow, so the frame is kept and only new keys are added to it: built
        whole, a million keys took a tenth of a second of the interpreter's lock per
        step, which every reader waited out.

        >>> s = SeriesIndex([("a", "IT")])
        >>> _ = s.frame(); _ = s.id(("a", None))
        >>> s.frame().rows()
        [(0, 'a', 'IT'), (1, 'a', None)]
        """
        have = self._frame.height
        if have < len(self._keys):
            new = self._keys[have:]
            part = pl.DataFrame(
                {
                    "sid": np.arange(have, len(self._keys), dtype=np.int64),
                    "service": [k[0] for k in new],
                    "region": [k[1] for k in new],
                },
                schema=_SCHEMA,
            )
            self._frame = _appended(self._frame, part)
        return self._frame

    def codes(self) -> Codes:
        """The names' integer codes and every series' pair code, for joins on one int64
        column. Kept, like `frame()`, and only the keys added since are coded.

        >>> s = SeriesIndex([("a", "IT"), ("a", None), ("b", "IT")])
        >>> c = s.codes()
        >>> c.pairs.sort("sid")["pair"].to_list() == [(0 << 20) + 1, 0, (1 << 20) + 1]
        True
        """
        done = self._codes.pairs.height
        if done < len(self._keys):
            new = self.frame().slice(done)
            services = _coded(self._codes.services, new, "service", "sc")
            regions = _coded(self._codes.regions, new, "region", "rc")
            codes = Codes(services, regions, self._codes.pairs)
            part = codes.paired(new).select("pair", "sid")
            self._codes = Codes(services, regions, _appended(codes.pairs, part))
        return self._codes

    def coded_keys(self) -> tuple[list[str | None], list[str | None], npt.NDArray[np.int64]]:
        """Every key as codes, to keep compactly: the service names by code, the region
        names by code (0: service-wide) and each series' pair code, by id. `keys_of`
        gives the keys back.

        >>> s = SeriesIndex([("a", "IT"), ("a", None), ("b", "IT")])
        >>> keys_of(*s.coded_keys()) == s.keys()
        True
        """
        codes = self.codes()
        return (
            codes.services.sort("sc")["service"].to_list(),
            codes.regions.sort("rc")["region"].to_list(),
            codes.pairs.sort("sid")["pair"].to_numpy(),
        )

    def of_service(self, service: str, upto: int | None = None) -> list[int]:
        """The ids of a service's series (service-wide and regional), ascending, below
        `upto`: looked up, not searched (a page at a million series read every key).

        >>> SeriesIndex([("a", "IT"), ("b", None), ("a", None)]).of_service("a")
        [0, 2]
        """
        ids = self._of.get(service, ())
        return [i for i in ids if upto is None or i < upto]


def keys_of(
    services: Sequence[str | None], regions: Sequence[str | None], pairs: npt.NDArray[np.int64]
) -> list[SeriesKey]:
    """The keys, by id, that `SeriesIndex.coded_keys` coded."""
    sc, rc = pairs >> REGION_BITS, pairs & ((1 << REGION_BITS) - 1)
    named_services = np.array(services, dtype=object)[sc].tolist()
    named_regions = np.array(regions, dtype=object)[rc].tolist()
    return list(zip(named_services, named_regions, strict=True))
