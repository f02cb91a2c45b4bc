"""An import body read in one call by polars checks out as reading each object with
orjson would: the same normalised batch, or the same error."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outagewatch.app.errors import ApiError
from outagewatch.app.import_body import _read_each, _read_fast, parse_import_body
from outagewatch.ingest.batch import COLUMNS, normalize
from outagewatch.ingest.report import ReportError

T = 1_793_577_600.0

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=T - 1e6, max_value=T + 1e6),
    st.text(max_size=12),
    st.sampled_from(["svc-a", "b", "DE", "us", "login", "2026-11-02T00:00:00Z", "a:true"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
)
rows = st.lists(
    st.dictionaries(st.sampled_from((*COLUMNS, "extra")), values, max_size=7),
    min_size=1,
    max_size=6,
)


def body_of(objs: list[Any], array: bool, blank: bool) -> bytes:
    # The standard library's writer: numbers past 64 bits, \u escapes, spaces after ':'.
    if array:
        return json.dumps(objs).encode()
    sep = b"\n\n  \n" if blank else b"\r\n"
    return sep.join(json.dumps(o, separators=(",", ":")).encode() for o in objs)


def outcome(read: Any, text: bytes) -> Any:
    """What the import would do with a body: the checked batch, or its error."""
    try:
        df = read(text)
    except ApiError as exc:
        return ("http", exc.status, exc.code, exc.message)
    try:
        return normalize(df).rows()
    except ReportError as exc:
        return ("report", exc.code, exc.message)


def read_either(text: bytes) -> pl.DataFrame:
    fast = _read_fast(text)
    return fast if fast is not None else _read_each(text)


@settings(max_examples=400, deadline=None)
@given(rows, st.booleans(), st.booleans())
def test_the_fast_reading_checks_out_as_the_slow_one(
    objs: list[dict[str, Any]], array: bool, blank: bool
) -> None:
    text = body_of(objs, array, blank).strip()
    assert outcome(read_either, text) == outcome(_read_each, text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "ts": st.one_of(
                    st.integers(0, 2**40), st.floats(0, 2e9), st.just("2026-11-02T00:00:00Z")
                ),
                "service": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
            },
            optional={"region": st.sampled_from(["DE", "us", ""]), "count": st.integers(0, 9)},
        ),
        min_size=1,
        max_size=8,
    ),
    st.booleans(),
)
def test_plain_reports_take_the_fast_reading(objs: list[dict[str, Any]], array: bool) -> None:
    """Strings, numbers and nulls are what importers send: those are read in one call."""
    text = body_of(objs, array, blank=False)
    assert _read_fast(text) is not None
    assert outcome(read_either, text) == outcome(_read_each, text)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"  ", "empty_body"),
        (b"[]", "empty_body"),
        (b'{"ts": 1', "invalid_json"),
        (b'{"ts": 1}\nnull', "invalid_row"),
        (b"[1]", "invalid_row"),
    ],
)
def test_bad_bodies_are_explained(body: bytes, code: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_import_body(body)
    assert err.value.code == code


@pytest.mark.parametrize("array", [False, True])
@pytest.mark.parametrize(
    "late",
    [
        {"ts": int(T), "service": "b", "region": "DE"},  # a field first seen after many rows
        {"ts": int(T), "service": "b", "where": "DE"},  # an unknown one
        {"ts": "2026-11-02T00:00:00Z", "service": "b"},  # a time written another way
        {"ts": T + 0.5, "service": "b"},  # a float after integers
    ],
)
def test_a_late_row_is_read_like_the_first(late: dict[str, Any], array: bool) -> None:
    objs = [{"ts": int(T) + i, "service": "a"} for i in range(500)] + [late]
    text = body_of(objs, array, blank=False)
    assert outcome(parse_import_body, text) == outcome(_read_each, text)
