"""The series index, kept as integer codes, against the plainest model of it: a list of
keys in order of first appearance and a dict from key to position."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.ingest.series import SeriesIndex, SeriesKey, keys_of

SERVICES = st.sampled_from(["aws", "netflix", "b\u00fcro", "x<script>", "svc00001"])
REGIONS = st.sampled_from([None, None, "IT", "PL", "ID", "FR"])
KEYS = st.tuples(SERVICES, REGIONS)
# Each step registers keys one way or another: by id, by a list, or by two columns.
STEPS = st.lists(
    st.tuples(st.sampled_from(["id", "extend", "names"]), st.lists(KEYS, max_size=8)),
    max_size=12,
)


def register(index: SeriesIndex, how: str, keys: list[SeriesKey]) -> None:
    if how == "id":
        for k in keys:
            index.id(k)
    elif how == "extend":
        index.extend(keys)
    else:
        index.extend_names(
            pl.Series([k[0] for k in keys], dtype=pl.String),
            pl.Series([k[1] for k in keys], dtype=pl.String),
        )


@settings(max_examples=200, deadline=None)
@given(STEPS, st.lists(KEYS, max_size=10))
def test_the_index_is_a_list_of_keys_in_order_of_first_appearance(
    steps: list[tuple[str, list[SeriesKey]]], asked: list[SeriesKey]
) -> None:
    index, model = SeriesIndex(), list[SeriesKey]()
    for how, keys in steps:
        register(index, how, keys)
        for k in keys:
            if k not in model:
                model.append(k)
        assert len(index) == len(model)
    ids = {k: i for i, k in enumerate(model)}
    assert list(index.keys()) == model
    assert [index.key(i) for i in range(len(model))] == model
    assert index.keys(2) == model[:2] and index.keys()[1:] == model[1:]
    assert [index.get(k) for k in asked] == [ids.get(k) for k in asked]
    looked_up = index.lookup(
        pl.Series([k[0] for k in asked], dtype=pl.String),
        pl.Series([k[1] for k in asked], dtype=pl.String),
    )
    assert looked_up.tolist() == [ids.get(k, -1) for k in asked]
    assert index.wide_ids().tolist() == [i for i, k in enumerate(model) if k[1] is None]
    assert index.wide_mask().tolist() == [k[1] is None for k in model]
    for service in {k[0] for k in model}:
        assert index.of_service(service) == [i for i, k in enumerate(model) if k[0] == service]
        assert index.of_service(service, 3) == [i for i in index.of_service(service) if i < 3]
    sids = pl.Series(list(range(len(model)))[::-1], dtype=pl.Int64)
    services, regions = index.names(sids)
    assert list(zip(services, regions, strict=True)) == model[::-1]
    # What a snapshot keeps gives the same keys back, into an empty index or a used one.
    coded = index.coded_keys()
    assert keys_of(*coded) == model
    back = SeriesIndex()
    back.extend_coded(*coded)
    assert list(back.keys()) == model
    used = SeriesIndex([("zz", "PL"), *model[:1]])
    used.extend_coded(*coded)
    assert list(used.keys()) == [("zz", "PL"), *[k for k in model if k != ("zz", "PL")]]


def test_a_view_of_the_keys_does_not_move_when_the_index_grows() -> None:
    index = SeriesIndex([("aws", None), ("aws", "IT")])
    view = index.keys()
    index.extend([("netflix", None)] * 3 + [("aws", "PL")])
    assert list(view) == [("aws", None), ("aws", "IT")]
    assert len(index) == 4 and index.keys(3)[-1] == ("netflix", None)
