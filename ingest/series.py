"""The registry of watched series: (service, region) pairs and service-wide ones.

A series gets a dense integer id the first time it is counted, so per-series state
elsewhere (detector arrays, count vectors) is indexed by position, not by dict.

Kept as integer codes, not as Python objects: each service and region name once, and
per series one int64 pair code (service code << REGION_BITS | region code), with the
codes sorted beside their ids for lookups. A million series take ~25 MB so; as a list
of key tuples, a dict of them and a frame of their names they took ~310 MB.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt
import polars as pl

SeriesKey = tuple[str, str | None]  # region None = service-wide
REGION_BITS = 20  # pair code = service code << REGION_BITS | region code (a few hundred regions)
_REGION_MASK = (1 << REGION_BITS) - 1
I64 = npt.NDArray[np.int64]


class SeriesIndex:
    """
    >>> s = SeriesIndex()
    >>> s.ids([("amazon", "IT"), ("amazon", None), ("amazon", "IT")]).tolist()
    [0, 1, 0]
    >>> s.key(1)
    ('amazon', None)
    """

    def __init__(self, keys: Iterable[Sequence[str | None]] = ()) -> None:
        self._services: list[str] = []  # by code
        self._sc: dict[str, int] = {}
        self._regions: list[str | None] = [None]  # by code; 0 is service-wide
        self._rc: dict[str | None, int] = {None: 0}
        self._pairs = np.zeros(0, dtype=np.int64)  # by id; longer than len (room to grow)
        self._n = 0
        # Pair codes sorted, with their ids: replaced whole, never changed in place, so a
        # reader on another thread takes one consistent pair.
        self._lookup: tuple[I64, I64] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._wide: list[int] = []  # ids of service-wide series, ascending
        self._of: dict[str, array[int]] = {}  # a service's ids, ascending (8 bytes each)
        self._named: tuple[pl.Series, pl.Series] | None = None  # names by code, for gathers
        self.extend(keys)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        return self.get(key) is not None

    def id(self, key: SeriesKey) -> int:
        i = self.get(key)
        if i is None:
            self.extend((key,))
            i = self.get(key)
            assert i is not None
        return i

    def get(self, key: SeriesKey) -> int | None:
        sc, rc = self._sc.get(key[0]), self._rc.get(key[1])
        if sc is None or rc is None:
            return None
        code = sc << REGION_BITS | rc
        pairs, ids = self._lookup
        j = int(np.searchsorted(pairs, code))
        return int(ids[j]) if j < len(pairs) and pairs[j] == code else None

    def _service_code(self, service: str) -> int:
        sc = self._sc.get(service)
        if sc is None:
            # Names arrive as fresh strings from each batch: interned, the index and the
            # names handed out by `key()` share one copy.
            service = sys.intern(service)
            sc = self._sc[service] = len(self._services)
            self._services.append(service)
            self._named = None
        return sc

    def _region_code(self, region: str | None) -> int:
        rc = self._rc.get(region)
        if rc is None:
            assert region is not None
            region = sys.intern(region)
            rc = self._rc[region] = len(self._regions)
            self._regions.append(region)
            self._named = None
        return rc

    def extend(self, keys: Iterable[Sequence[str | None]]) -> None:
        """Give every key not seen yet its id, in order (as `id()` of each would), in one
        pass rather than a call per key (a restore registers a million).

        >>> s = SeriesIndex([("a", "IT")])
        >>> s.extend([("b", None), ("a", "IT"), ("a", None)])
        >>> s.keys(), s.of_service("a")
        ([('a', 'IT'), ('b', None), ('a', None)], [0, 2])
        """
        pairs = [(k[0], k[1]) for k in keys]
        if pairs:
            services, regions = zip(*pairs, strict=True)
            self.extend_names(
                pl.Series(services, dtype=pl.String), pl.Series(regions, dtype=pl.String)
            )

    def extend_names(self, services: pl.Series, regions: pl.Series) -> None:
        """`extend` with the keys as two columns: no Python object per key (the first
        minute at a million series registers a million).

        >>> s = SeriesIndex()
        >>> s.extend_names(pl.Series(["b", "a", "b"]), pl.Series([None, "IT", None]))
        >>> s.keys()
        [('b', None), ('a', 'IT')]
        """
        assert services.null_count() == 0
        for name in services.unique(maintain_order=True).to_list():
            self._service_code(name)
        for name in regions.unique(maintain_order=True).to_list():
            self._region_code(name)
        code, _ = self._codes(services, regions)
        self._add(code)

    def extend_coded(
        self, services: Sequence[str | None], regions: Sequence[str | None], pairs: I64
    ) -> None:
        """`extend` with keys given as `coded_keys` gives them (a snapshot's)."""
        if len(pairs) == 0:
            return
        sc = np.array([self._service_code(str(s)) for s in services], dtype=np.int64)
        rc = np.array([self._region_code(r) for r in regions], dtype=np.int64)
        self._add(sc[pairs >> REGION_BITS] << REGION_BITS | rc[pairs & _REGION_MASK])

    def _add(self, codes: I64) -> None:
        """Ids for the codes not known yet, in order of first appearance."""
        if len(codes) == 0:
            return
        uniq, first = np.unique(codes, return_index=True)
        pairs, ids = self._lookup
        if len(pairs):
            at = np.minimum(np.searchsorted(pairs, uniq), len(pairs) - 1)
            first = first[pairs[at] != uniq]
        new = codes[np.sort(first)]
        if len(new) == 0:
            return
        start, end = self._n, self._n + len(new)
        if end > len(self._pairs):  # room to grow by doubling; ids below n never move
            grown = np.zeros(max(end, 2 * len(self._pairs)), dtype=np.int64)
            grown[:start] = self._pairs[:start]
            self._pairs = grown
        self._pairs[start:end] = new
        new_ids = np.arange(start, end, dtype=np.int64)
        order = np.argsort(new, kind="stable")
        put = np.searchsorted(pairs, new[order])
        self._lookup = (np.insert(pairs, put, new[order]), np.insert(ids, put, new_ids[order]))
        self._wide.extend(new_ids[(new & _REGION_MASK) == 0].tolist())
        # Each service's new ids, appended as one block per service.
        by_service = np.argsort(new >> REGION_BITS, kind="stable")
        sc = (new >> REGION_BITS)[by_service]
        cuts = np.flatnonzero(np.diff(sc)) + 1
        for block in np.split(new_ids[by_service], cuts):
            name = self._services[int(new[block[0] - start] >> REGION_BITS)]
            ids_of = self._of.get(name)
            if ids_of is None:
                ids_of = self._of[name] = array("q")
            ids_of.frombytes(block.tobytes())
        self._n = end  # last: a reader sees the new ids only once they are complete

    def lookup(self, services: pl.Series, regions: pl.Series) -> I64:
        """The ids of many keys at once (-1 where a key is unknown), in their order.

        >>> s = SeriesIndex([("a", "IT"), ("a", None)])
        >>> s.lookup(pl.Series(["a", "a", "b"]), pl.Series(["IT", None, None])).tolist()
        [0, 1, -1]
        """
        code, known = self._codes(services, regions)
        pairs, ids = self._lookup
        if len(pairs) == 0:
            return np.full(len(code), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(pairs, code), len(pairs) - 1)
        hit = known & (pairs[at] == code)
        return np.where(hit, ids[at], -1)

    def _codes(self, services: pl.Series, regions: pl.Series) -> tuple[I64, npt.NDArray[np.bool_]]:
        """The keys' pair codes, and which keys have both names coded."""
        by_service, by_region = self._names()
        sc = services.replace_strict(
            by_service, pl.int_range(len(by_service), eager=True), default=None,
            return_dtype=pl.Int64,
        )  # fmt: skip
        named = by_region.slice(1)
        rc = regions.replace_strict(
            named, pl.int_range(1, len(by_region), eager=True), default=-1,
            return_dtype=pl.Int64,
        ).to_numpy()  # fmt: skip
        rc = np.where(regions.is_null().to_numpy(), 0, rc)  # service-wide
        known = sc.is_not_null().to_numpy() & (rc >= 0)
        code = sc.fill_null(0).to_numpy() * (1 << REGION_BITS) + np.maximum(rc, 0)
        return code.astype(np.int64, copy=False), known

    def ids(self, keys: Iterable[SeriesKey]) -> I64:
        return np.fromiter((self.id(k) for k in keys), dtype=np.int64)

    def key(self, i: int) -> SeriesKey:
        if not 0 <= i < self._n:
            raise IndexError(i)
        code = int(self._pairs[i])
        return self._services[code >> REGION_BITS], self._regions[code & _REGION_MASK]

    def keys(self, upto: int | None = None) -> Keys:
        """The keys of ids below `upto` (all by default), read from the codes as they
        are asked for: ids only ever grow, so the first `upto` keys never change."""
        n = self._n if upto is None else min(upto, self._n)
        return Keys(self, 0, n)

    def names(self, sids: pl.Series) -> tuple[pl.Series, pl.Series]:
        """The service and region names of many series ids at once.

        >>> s = SeriesIndex([("a", "IT"), ("b", None)])
        >>> [x.to_list() for x in s.names(pl.Series([1, 0, 1]))]
        [['b', 'a', 'b'], [None, 'IT', None]]
        """
        services, regions = self._names()
        code = pl.Series(self._pairs[: self._n]).gather(sids)
        return (
            services.gather(code // (1 << REGION_BITS)).alias("service"),
            regions.gather(code % (1 << REGION_BITS)).alias("region"),
        )

    def _names(self) -> tuple[pl.Series, pl.Series]:
        """The service and region names by code, as Series (kept until a name is new)."""
        named = self._named
        if named is None:
            named = self._named = (
                pl.Series("service", self._services, dtype=pl.String),
                pl.Series("region", self._regions, dtype=pl.String),
            )
        return named

    def wide_ids(self) -> I64:
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
        return self.keys().wide_mask()

    def coded_keys(self) -> tuple[list[str | None], list[str | None], I64]:
        """Every key as codes, to keep compactly: the service names by code, the region
        names by code (0: service-wide) and each series' pair code, by id. `keys_of`
        gives the keys back.

        >>> s = SeriesIndex([("a", "IT"), ("a", None), ("b", "IT")])
        >>> keys_of(*s.coded_keys()) == s.keys()
        True
        """
        return list(self._services), list(self._regions), self._pairs[: self._n].copy()

    def of_service(self, service: str, upto: int | None = None) -> list[int]:
        """The ids of a service's series (service-wide and regional), ascending, below
        `upto`: looked up, not searched (a page at a million series read every key).

        >>> SeriesIndex([("a", "IT"), ("b", None), ("a", None)]).of_service("a")
        [0, 2]
        """
        ids = self._of.get(service, ())
        return [i for i in ids if upto is None or i < upto]


class Keys(Sequence[SeriesKey]):
    """Keys by id, from `start` to `stop`, read from the index as they are asked for: a
    million series' keys held as tuples took ~150 MB.

    >>> s = SeriesIndex([("a", "IT"), ("a", None), ("b", None)])
    >>> k = s.keys()
    >>> k[1], len(k[1:]), list(k[1:]), k == [("a", "IT"), ("a", None), ("b", None)]
    (('a', None), 2, [('a', None), ('b', None)], True)
    """

    __slots__ = ("_index", "_start", "_stop")

    def __init__(self, index: SeriesIndex, start: int, stop: int) -> None:
        self._index, self._start, self._stop = index, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, i: int) -> SeriesKey: ...
    @overload
    def __getitem__(self, i: slice) -> Keys: ...
    def __getitem__(self, i: int | slice) -> SeriesKey | Keys:
        n = self._stop - self._start
        if isinstance(i, slice):
            a, b, step = i.indices(n)
            if step != 1:
                raise ValueError("keys are sliced in order, without a step")
            return Keys(self._index, self._start + a, self._start + max(a, b))
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._index.key(self._start + i)

    def __iter__(self) -> Iterator[SeriesKey]:
        ix = self._index
        services, regions = ix._services, ix._regions
        for code in ix._pairs[self._start : self._stop].tolist():
            yield services[code >> REGION_BITS], regions[code & _REGION_MASK]

    def service_codes(self) -> I64:
        """Each key's service code, in order: equal codes, the same service.

        >>> k = SeriesIndex([("a", "IT"), ("b", None), ("a", None)]).keys()
        >>> codes = k.service_codes().tolist()
        >>> codes[0] == codes[2] != codes[1], k.service_code("b") == codes[1]
        (True, True)
        """
        return self._index._pairs[self._start : self._stop] >> REGION_BITS

    def service_code(self, service: str) -> int | None:
        """The code `service_codes` gives a service (None: no key has it)."""
        return self._index._sc.get(service)

    def wide_mask(self) -> npt.NDArray[np.bool_]:
        """Which keys are service-wide, in order."""
        mask: npt.NDArray[np.bool_] = (
            self._index._pairs[self._start : self._stop] & _REGION_MASK
        ) == 0
        return mask

    def regional(self, service: str) -> list[int]:
        """The positions of a service's regional keys, ascending.

        >>> SeriesIndex([("a", "IT"), ("b", "IT"), ("a", None), ("a", "PL")]).keys(3).regional("a")
        [0]
        """
        ids = np.frombuffer(self._index._of.get(service, array("q")), dtype=np.int64)
        ids = ids[(ids >= self._start) & (ids < self._stop)]
        out: list[int] = (ids[(self._index._pairs[ids] & _REGION_MASK) != 0] - self._start).tolist()
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Keys | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:  # views of a growing index: compared, never hashed
        raise TypeError("unhashable type: 'Keys'")

    def __repr__(self) -> str:
        return repr(list(self))


def as_keys(keys: Sequence[SeriesKey]) -> Keys:
    """Keys as the index's view: itself if it is one, else a view of a new index of them
    (distinct keys, in order: a list of them as a test gives it).

    >>> as_keys([("a", None), ("a", "IT")]).wide_mask().tolist()
    [True, False]
    """
    if isinstance(keys, Keys):
        return keys
    keys = list(keys)
    index = SeriesIndex(keys)
    assert len(index) == len(keys), "keys must be distinct"
    return index.keys()


def keys_of(
    services: Sequence[str | None], regions: Sequence[str | None], pairs: I64
) -> list[SeriesKey]:
    """The keys, by id, that `SeriesIndex.coded_keys` coded."""
    sc, rc = pairs >> REGION_BITS, pairs & _REGION_MASK
    named_services = np.array(services, dtype=object)[sc].tolist()
    named_regions = np.array(regions, dtype=object)[rc].tolist()
    return list(zip(named_services, named_regions, strict=True))
